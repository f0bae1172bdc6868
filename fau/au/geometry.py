"""Pose normalisation and geometric action-unit intensities (one import for both).

The work is done by three small modules, re-exported here so that
``from fau.au.geometry import AU_NAMES, align`` keeps working:

* `fau.au.alignment` — face frame, similarity fit to MediaPipe's canonical face
  (`align`), head pose, `IOD_CM`, `canonical_vertices`;
* `fau.au.intensity` — the AU measures (`au_intensities`, `AU_NAMES`,
  `AU_DEFINITIONS`, `AU_UNITS`, `AU_LANDMARKS`);
* `fau.au.mirror` — left-right mirroring of a mesh.

Every function accepts one face ``(478, 3)`` or a batch ``(N, 478, 3)``; see
``docs/action_units.md`` for the method, the definitions and their validation.
"""

from __future__ import annotations

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
from .intensity import AU_DEFINITIONS, AU_LANDMARKS, AU_NAMES, AU_UNITS, au_intensities
from .mirror import mirror_landmarks, mirror_permutation

__all__ = [
    "AU_NAMES",
    "AU_DEFINITIONS",
    "AU_UNITS",
    "AU_LANDMARKS",
    "RIGID_POINTS",
    "IOD_CM",
    "Alignment",
    "canonical_vertices",
    "inter_ocular_distance",
    "face_frame",
    "align",
    "head_pose",
    "au_intensities",
    "mirror_landmarks",
    "mirror_permutation",
]
