"""Feature blocks fed to the expression model.

A face is described by named blocks, each a function of the face mesh or the image:

``au``
    The geometric AU intensities (`fau.au.AU_NAMES`: 22 AUs in 26 columns).
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

from typing import Mapping

import numpy as np

from ..au.gaze import gaze_angles
from ..au.geometry import AU_NAMES, IOD_CM, align, au_intensities, canonical_vertices, head_pose
from ..errors import FauError

__all__ = ["shape_offsets", "mesh_blocks", "check_blocks", "POSE_NAMES", "BLOCKS"]

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
    d = (p - canonical_vertices()) / IOD_CM
    return d.reshape(*d.shape[:-2], 468 * 3)


def mesh_blocks(
    landmarks: np.ndarray, blendshapes: np.ndarray, presence: np.ndarray
) -> dict[str, np.ndarray]:
    """All mesh-derived feature blocks of a batch of faces.

    This is the one function that turns face meshes into features, used by
    `fau.Detector` and by the training scripts alike.

    Parameters
    ----------
    landmarks : ndarray, (n, 478, 3)
        Image-pixel landmarks.
    blendshapes : ndarray, (n, 52)
    presence : ndarray, (n,)

    Returns
    -------
    dict
        ``landmarks``, ``au`` (n, len(AU_NAMES)), ``pose`` (n, 3), ``gaze`` (n, 2: yaw, pitch in
        degrees, `fau.au.gaze`), ``shape`` (n, 1404) raw offsets,
        ``blendshapes`` (n, 52), ``presence`` (n,).
    """
    lm = np.asarray(landmarks, dtype=np.float32).reshape(-1, 478, 3)
    if len(lm) == 0:
        return {
            "landmarks": lm,
            "au": np.zeros((0, len(AU_NAMES))),
            "pose": np.zeros((0, 3)),
            "gaze": np.zeros((0, 2)),
            "shape": np.zeros((0, 468 * 3)),
            "blendshapes": np.zeros((0, 52), np.float32),
            "presence": np.zeros(0),
        }
    al = align(lm)
    return {
        "landmarks": lm,
        "au": au_intensities(al.points),
        "pose": head_pose(al.rotation),
        "gaze": gaze_angles(lm, al),
        "shape": shape_offsets(al.points),
        "blendshapes": np.asarray(blendshapes, dtype=np.float32).reshape(len(lm), 52),
        "presence": np.asarray(presence, dtype=np.float64).reshape(len(lm)),
    }


def check_blocks(blocks: object, what: str) -> None:
    """`FauError` unless ``blocks`` holds the mesh blocks `mesh_blocks` makes (``what``:
    the function named in the message): the one check of the functions that take blocks."""
    if not isinstance(blocks, Mapping) or "landmarks" not in blocks or "au" not in blocks:
        got = (f"a mapping with {sorted(blocks)[:5]}" if isinstance(blocks, Mapping)
               else type(blocks).__name__)
        raise FauError(f"{what} takes the feature blocks of Pipeline.features (a dict with "
                       f"'landmarks', 'au', ...), got {got}")
