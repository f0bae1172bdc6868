"""Left-right mirroring of a face mesh (for flipped images and the L/R symmetry tests)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .alignment import canonical_vertices

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
    landmarks : ndarray, (..., 478, 3)
        Image-pixel landmarks.
    width : float
        Image width (pixels).
    """
    pts = np.array(landmarks, dtype=np.float64, copy=True)
    pts[..., 0] = width - pts[..., 0]
    return pts[..., mirror_permutation(), :]
