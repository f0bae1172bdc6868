"""Left-right mirroring of a face mesh (for flipped images and the L/R symmetry tests)."""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

import numpy as np

from ..errors import FauError
from .alignment import _as_floats, canonical_vertices

__all__ = ["mirror_permutation", "mirror_landmarks"]

#: Iris landmark pairs (MediaPipe: 468 right iris centre, 469-472 its rim; 473 left
#: centre, 474-477 its rim), horizontal neighbours swapped.
_IRIS_PAIRS = {468: 473, 469: 476, 470: 475, 471: 474, 472: 477}


@lru_cache(maxsize=1)
def _permutation() -> np.ndarray:
    v = canonical_vertices()
    mirrored = v * np.array([-1.0, 1.0, 1.0])
    d = np.linalg.norm(v[:, None, :] - mirrored[None, :, :], axis=-1)
    iris = dict(_IRIS_PAIRS)
    iris.update({b: a for a, b in _IRIS_PAIRS.items()})
    perm = np.concatenate([d.argmin(axis=1), [iris[i] for i in range(468, 478)]])
    perm = perm.astype(np.int64)
    perm.setflags(write=False)
    return perm


def mirror_permutation() -> np.ndarray:
    """Index permutation pairing each landmark with its left-right mirror image.

    Built from the canonical face (symmetric about x = 0) for the 468 face points; the
    iris points pair 468↔473 (centres) and 469-472↔474-477 with the horizontal
    neighbours swapped (469↔476, 471↔474, 470↔475, 472↔477).

    Returns
    -------
    ndarray, (478,) int64, read-only
    """
    return _permutation()


def mirror_landmarks(landmarks: np.ndarray, width: float) -> np.ndarray:
    """Landmarks of the horizontally flipped image (x → width - x, sides swapped).

    Parameters
    ----------
    landmarks : ndarray, (..., 478, 3) or (..., 468, 3); (..., 478, 2) or (..., 468, 2)
        Image-pixel landmarks (without the iris points too, or x, y only).
    width : float
        Image width (pixels, > 0).

    Returns
    -------
    ndarray, float64, the shape of ``landmarks``

    Raises
    ------
    FauError
        ``landmarks`` of another shape, or a ``width`` that is not a finite number > 0.
    """
    pts = np.array(_as_floats(landmarks, "mirror_landmarks"), copy=True)
    if pts.ndim < 2 or pts.shape[-2] not in (478, 468) or pts.shape[-1] not in (2, 3):
        raise FauError(f"mirror_landmarks takes landmarks of shape (..., 478, 3) or "
                       f"(..., 468, 3), or their x, y only (..., 2), got {pts.shape}")
    if (not isinstance(width, numbers.Real) or isinstance(width, bool)
            or not math.isfinite(width) or width <= 0):
        raise FauError(f"mirror_landmarks: width must be the image width, a finite number "
                       f"of pixels > 0, got {width!r}")
    pts[..., 0] = width - pts[..., 0]
    # The 468 face points pair among themselves (`mirror_permutation`); the iris ones follow.
    return pts[..., mirror_permutation()[: pts.shape[-2]], :]
