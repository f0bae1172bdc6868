"""Landmark backends: image → 478-point face mesh + blendshapes.

fau talks to landmark models only through `LandmarkBackend`; the default is
`MediaPipeBackend` (MediaPipe's face landmarker bundle run on LiteRT, with the face
detector of `fau.landmarks.detection`). See ``docs/landmarks.md`` for why.

Only the interface (`fau.landmarks.base`, numpy) is imported with the package; the
backend, its detector (OpenCV, LiteRT) and the canonical face load on first use, so
that pure-geometry users (`fau.au`) do not pay for OpenCV or LiteRT.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import (BLENDSHAPE_NAMES, N_LANDMARKS, FaceMesh, LandmarkBackend, StagedBackend,
                   with_blendshapes)

__all__ = [
    "BLENDSHAPE_NAMES",
    "N_LANDMARKS",
    "FaceMesh",
    "LandmarkBackend",
    "StagedBackend",
    "with_blendshapes",
    "MediaPipeBackend",
    "FaceDetector",
    "Detection",
    "CanonicalFace",
    "canonical_face",
    "Roi",
    "same_face",
]

#: Public names loaded on first access, and the submodule that defines each.
_LAZY = {
    "MediaPipeBackend": "mediapipe",
    "FaceDetector": "detection",
    "Detection": "detection",
    "CanonicalFace": "canonical",
    "canonical_face": "canonical",
    "Roi": "roi",
    "same_face": "mediapipe",
}


def __getattr__(name: str) -> Any:
    """Import a backend, detector or geometry name on first use (PEP 562)."""
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
