"""The whole image as one face: the fallback when the face detector finds none.

A tight face crop (a FER-2013 or CK+48 image, the output of another face detector) leaves
the face detector no margin around the face, and it may find nothing. The landmark model
then runs once on the whole image (`LandmarkBackend.mesh_from_crop`), and its face is kept
when the model is sure of it (presence at least the caller's minimum) and it fills the
image at least as much as faces fill MediaPipe's own landmark crops: the eye-level height
of its 468 face points at least 1 / `LANDMARK_ROI_SCALE` (1 / 1.5) of the image's longer
side. Measured on 102 London photos cut ever looser around the face
(``benchmarks/face_crops.py --whole-image-check``; docs/benchmarks.md, "Face crops without
cropped=True"): while the face fills that much, the whole-image mesh agrees with the
detector's to 0.017 of the inter-ocular distance at worst; at half that share the meshes
fail. Used by `fau.Detector` for images and by `fau.video.tracking.Tracker` for frames
(there at most once per ``detect_every`` seconds while it follows no face).
"""

from __future__ import annotations

import numpy as np

from .base import FaceMesh, LandmarkBackend
from .roi import LANDMARK_ROI_SCALE, eye_angle, upright_box

__all__ = ["fills_crop", "whole_image_face"]


def fills_crop(landmarks: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether a face fills an image of ``shape`` (H, W[, C]) as faces fill MediaPipe's
    landmark crops: eye-level height of the 468 face points ≥ longer side / 1.5."""
    _, (_, height) = upright_box(landmarks[:468, :2], eye_angle(landmarks))
    return float(height) * LANDMARK_ROI_SCALE >= max(int(shape[0]), int(shape[1]))


def whole_image_face(backend: LandmarkBackend, rgb: np.ndarray, min_presence: float
                     ) -> FaceMesh | None:
    """The face filling ``rgb`` by one whole-image landmark pass, or None (see module)."""
    mesh = backend.mesh_from_crop(rgb)
    if mesh.presence >= min_presence and fills_crop(mesh.landmarks, rgb.shape):
        return mesh
    return None
