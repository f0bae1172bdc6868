"""Geometric action units: pose-free measures on the face mesh (pure numpy).

`align` removes head pose and size (`fau.au.alignment`), `au_intensities` measures the
AUs (`fau.au.intensity`: `AU_NAMES`, `AU_DEFINITIONS`, `AU_UNITS`, `AU_LANDMARKS`),
`au_occurrence` turns them into present/absent columns (`fau.au.occurrence`), and
`fau.au.gaze` estimates gaze from the iris. Importing `fau.au` loads neither OpenCV nor
any model file; the canonical face is read from the bundled landmarker on first use.
"""

from .alignment import (
    IOD_CM,
    RIGID_POINTS,
    Alignment,
    align,
    canonical_vertices,
    face_frame,
    head_pose,
    inter_ocular_distance,
)
from .intensity import (
    AU_DEFINITIONS,
    AU_LANDMARKS,
    AU_NAMES,
    AU_UNITS,
    EYE_OPENING_UNIT,
    IOD_UNIT,
    au_intensities,
)
from .mirror import mirror_landmarks, mirror_permutation
from .occurrence import AU_OCCURRENCE_NAMES, AU_THRESHOLDS, OCCURRENCE_AUS, au_occurrence

__all__ = [
    "AU_DEFINITIONS",
    "AU_LANDMARKS",
    "AU_NAMES",
    "AU_OCCURRENCE_NAMES",
    "AU_THRESHOLDS",
    "AU_UNITS",
    "EYE_OPENING_UNIT",
    "IOD_CM",
    "IOD_UNIT",
    "OCCURRENCE_AUS",
    "RIGID_POINTS",
    "Alignment",
    "align",
    "au_intensities",
    "au_occurrence",
    "canonical_vertices",
    "face_frame",
    "head_pose",
    "inter_ocular_distance",
    "mirror_landmarks",
    "mirror_permutation",
]
