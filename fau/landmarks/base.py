"""The landmark-backend interface: what the rest of fau needs from a face-mesh model."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["FaceMesh", "LandmarkBackend", "StagedBackend", "with_blendshapes", "N_LANDMARKS",
           "BLENDSHAPE_NAMES"]

#: Points in MediaPipe's attention face mesh (468 face + 2 × 5 iris points).
N_LANDMARKS = 478

#: MediaPipe's 52 blendshape names in model output order (``face_blendshapes_graph.cc``).
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)


@dataclass(frozen=True)
class FaceMesh:
    """One face as the landmark model saw it.

    Attributes
    ----------
    landmarks : ndarray, shape (478, 3), float32
        x, y in pixels of the analysed image (origin top-left, y down); z in the same
        pixel scale, relative to the face centre, negative = towards the camera
        (MediaPipe's convention).
    blendshapes : ndarray, shape (52,), float32, or None
        MediaPipe blendshape scores (0-1) in `BLENDSHAPE_NAMES` order; None only for a
        mesh asked for without them (`StagedBackend`), which the pipeline's tables refuse.
    presence : float
        The landmark model's face-presence probability (0-1) where it is known, otherwise
        the face detector's score.
    detector_box : tuple of 4 floats or None
        (x, y, w, h) in pixels of the face detector's box when a detector ran; MediaPipe
        Tasks does not expose it, so this is None for the bundled backend.
    matrix : ndarray, shape (4, 4) or None
        MediaPipe's facial transformation matrix (canonical face → camera), when given.
    """

    landmarks: np.ndarray
    blendshapes: np.ndarray | None
    presence: float
    detector_box: tuple[float, float, float, float] | None = None
    matrix: np.ndarray | None = field(default=None, repr=False)


@runtime_checkable
class LandmarkBackend(Protocol):
    """What a landmark model must do for fau.

    A backend is created with its model files (bundled with fau, never downloaded),
    finds faces in an RGB image (`detect`), or measures one face in an image known to
    be a face crop (`mesh_from_crop`). It holds native resources: call `close` (or use
    it as a context manager through `fau.Detector`).
    """

    name: str

    def detect(self, image: np.ndarray, *, timestamp_ms: int | None = None) -> list[FaceMesh]:
        """Find every face in an RGB uint8 image of shape (H, W, 3).

        ``timestamp_ms`` (monotonically increasing) switches to tracking mode for video.
        """
        ...

    def mesh_from_crop(self, image: np.ndarray) -> FaceMesh:
        """Measure the face that fills an RGB uint8 crop; always returns one mesh."""
        ...

    def close(self) -> None:
        """Release the model's native resources."""
        ...


@runtime_checkable
class StagedBackend(LandmarkBackend, Protocol):
    """A landmark backend that can measure a face's landmarks and its blendshapes in two
    steps (the default `fau.landmarks.MediaPipeBackend` does).

    The blendshape model reads only the landmarks, and so does the appearance CNN's
    patch: `fau.Detector` and `fau.video.live.LiveAnalyzer` ask for the meshes without
    blendshapes, start the CNN on them, then measure the blendshapes while it runs
    (`with_blendshapes`; docs/benchmarks.md, "Image speed"). The scores are the same
    either way. A staged backend that also tracks faces (a ``mesh(image, roi, ...)``
    method, as `fau.video.tracking.Tracker` uses) takes ``blendshapes`` there too.
    """

    def detect(self, image: np.ndarray, *, timestamp_ms: int | None = None,
               blendshapes: bool = True) -> list[FaceMesh]:
        """As `LandmarkBackend.detect`; ``blendshapes=False`` leaves them None."""
        ...

    def mesh_from_crop(self, image: np.ndarray, *, blendshapes: bool = True) -> FaceMesh:
        """As `LandmarkBackend.mesh_from_crop`; ``blendshapes=False`` leaves them None."""
        ...

    def blendshapes(self, landmarks: np.ndarray) -> np.ndarray:
        """The 52 blendshape scores (float32) of a face's landmarks (478, 3), image
        pixels: what `detect` puts in `FaceMesh.blendshapes`."""
        ...


def with_blendshapes(backend: LandmarkBackend, meshes: list[FaceMesh]) -> list[FaceMesh]:
    """``meshes`` with the blendshapes a `StagedBackend` left out (None) measured by
    ``backend``; meshes that have theirs are kept as they are."""
    if not isinstance(backend, StagedBackend):
        return list(meshes)
    return [m if m.blendshapes is not None
            else replace(m, blendshapes=backend.blendshapes(m.landmarks)) for m in meshes]
