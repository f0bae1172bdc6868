"""Feature blocks fed to the expression model.

A face is described by named blocks, each a function of the face mesh or the image:

``au``
    The 21 geometric AU intensities (`fau.au.AU_NAMES`).
``pose``
    Head pitch, yaw, roll (degrees).
``shape``
    The pose-free mesh: the 468 aligned face points minus the canonical face, divided by
    the inter-ocular distance, projected on principal components fitted on FER-2013
    Training (stored in the model file).
``blendshapes``
    MediaPipe's 52 blendshape scores (``bs_*``).
``appearance``
    Logits of fau's small CNN (`fau.expression.appearance`) on the aligned grey face
    (7 FER-2013 + 8 FER+ logits).

The model file records which blocks it uses; explanations are summed per block (each
AU is its own block).
"""

from __future__ import annotations

import numpy as np

from ..au.geometry import AU_NAMES, IOD_CM, _canonical

__all__ = ["shape_offsets", "POSE_NAMES", "BLOCKS"]

POSE_NAMES: tuple[str, ...] = ("pitch", "yaw", "roll")
BLOCKS: tuple[str, ...] = ("au", "pose", "shape", "blendshapes", "appearance")


def shape_offsets(aligned_points: np.ndarray) -> np.ndarray:
    """Flattened (x, y, z) offsets of the 468 aligned face points from the canonical face.

    Parameters
    ----------
    aligned_points : ndarray, (..., 478, 3) or (..., 468, 3)
        `fau.au.Alignment.points` (cm).

    Returns
    -------
    ndarray, (..., 1404)
        Offsets in units of the inter-ocular distance.
    """
    p = np.asarray(aligned_points, dtype=np.float64)[..., :468, :]
    d = (p - _canonical()) / IOD_CM
    return d.reshape(*d.shape[:-2], 468 * 3)


assert len(AU_NAMES) == 21
