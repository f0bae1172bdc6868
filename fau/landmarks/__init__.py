"""Landmark backends: image → 478-point face mesh + blendshapes.

fau talks to landmark models only through `LandmarkBackend`; the default is
`MediaPipeBackend` (MediaPipe's face landmarker bundle run on LiteRT). See
``docs/landmarks.md`` for why.
"""

from .base import BLENDSHAPE_NAMES, N_LANDMARKS, FaceMesh, LandmarkBackend
from .canonical import CanonicalFace, canonical_face
from .mediapipe import MediaPipeBackend
from .roi import Roi

__all__ = [
    "BLENDSHAPE_NAMES",
    "N_LANDMARKS",
    "FaceMesh",
    "LandmarkBackend",
    "MediaPipeBackend",
    "CanonicalFace",
    "canonical_face",
    "Roi",
]
