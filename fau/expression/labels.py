"""Expression class names, in the order fau uses everywhere."""

from __future__ import annotations

__all__ = ["EXPRESSIONS", "FER2013_EXPRESSIONS"]

#: fau's expression columns. FER-2013's label ``i`` is ``EXPRESSIONS[i]`` for ``i < 7``.
EXPRESSIONS: tuple[str, ...] = (
    "anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral", "contempt",
)
#: The seven FER-2013 classes (no contempt).
FER2013_EXPRESSIONS: tuple[str, ...] = EXPRESSIONS[:7]
