"""Rotated square regions of interest and the affine maps to and from model crops.

A `Roi` is a square of side ``size`` pixels centred on (``cx``, ``cy``), rotated by
``angle`` radians (the angle of the face's eye line in the image, y down). MediaPipe
crops faces this way: it rotates the face upright before the landmark model sees it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Roi", "eye_angle", "upright_box", "roi_from_points", "crop", "LANDMARK_ROI_SCALE"]

#: Side of MediaPipe's landmark crop as a multiple of the face size (the
#: ``RectTransformationCalculator`` scale 1.5 of ``face_landmarker_graph.cc`` and of
#: its tracking crop from the previous frame's landmarks).
LANDMARK_ROI_SCALE = 1.5


@dataclass(frozen=True)
class Roi:
    """Rotated square region of an image (pixels, radians)."""

    cx: float
    cy: float
    size: float
    angle: float = 0.0

    def to_crop(self, side: int) -> np.ndarray:
        """2×3 affine matrix mapping image pixels to a ``side``×``side`` crop."""
        s = side / self.size
        c, n = math.cos(-self.angle) * s, math.sin(-self.angle) * s
        half = side / 2.0
        return np.array(
            [
                [c, -n, half - c * self.cx + n * self.cy],
                [n, c, half - n * self.cx - c * self.cy],
            ],
            dtype=np.float64,
        )

    def from_crop(self, side: int) -> np.ndarray:
        """2×3 affine matrix mapping crop pixels back to image pixels."""
        fwd = self.to_crop(side)
        inv = np.linalg.inv(fwd[:, :2])
        return np.hstack([inv, -inv @ fwd[:, 2:]])


def eye_angle(landmarks: np.ndarray) -> float:
    """Angle (radians, image y down) of the line from the subject's right outer eye
    corner (landmark 33) to the left one (263): the face's roll in the image."""
    r, l = landmarks[33], landmarks[263]
    return math.atan2(float(l[1] - r[1]), float(l[0] - r[0]))


def upright_box(points: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Box of ``points`` (N, 2) in the frame rotated by ``angle``.

    Returns the box centre in image pixels and its (width, height) in the rotated frame.
    """
    c, s = math.cos(-angle), math.sin(-angle)
    rot = np.array([[c, -s], [s, c]])
    upright = points[:, :2] @ rot.T
    lo, hi = upright.min(axis=0), upright.max(axis=0)
    return rot.T @ ((lo + hi) / 2.0), hi - lo


def roi_from_points(
    points: np.ndarray, angle: float, scale: float
) -> Roi:
    """Square ROI around ``points`` (N, 2) in the frame rotated by ``angle``.

    The points' bounding box is taken in the face's upright frame, its longer side
    multiplied by ``scale`` (MediaPipe uses 1.5 for landmark crops).
    """
    centre, size = upright_box(points, angle)
    side = float(max(size)) * scale
    return Roi(float(centre[0]), float(centre[1]), max(side, 1.0), angle)


def crop(image: np.ndarray, roi: Roi, side: int) -> np.ndarray:
    """Warp ``roi`` of ``image`` to a ``side``×``side`` crop (black outside the image)."""
    import cv2  # imported here: fau.landmarks' geometry must import without OpenCV

    return cv2.warpAffine(
        image,
        roi.to_crop(side),
        (side, side),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
