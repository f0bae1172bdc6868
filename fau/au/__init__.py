"""Geometric action units: pose-free measures on the face mesh (pure numpy)."""

from .geometry import (
    AU_DEFINITIONS,
    AU_NAMES,
    IOD_CM,
    RIGID_POINTS,
    Alignment,
    align,
    au_intensities,
    face_frame,
    head_pose,
    mirror_landmarks,
    mirror_permutation,
)

__all__ = [
    "AU_DEFINITIONS",
    "AU_NAMES",
    "IOD_CM",
    "RIGID_POINTS",
    "Alignment",
    "align",
    "au_intensities",
    "face_frame",
    "head_pose",
    "mirror_landmarks",
    "mirror_permutation",
]
