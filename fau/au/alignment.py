"""Pose normalisation of a 478-point face mesh: face frame, similarity fit, head pose.

Pure functions over numpy arrays; every function accepts one face ``(478, 3)`` or a
batch ``(N, 478, 3)`` of MediaPipe landmarks in image pixels (x right, y down, z
negative towards the camera, z in the x scale).

1. **Face frame.** Image coordinates become a right-handed, y-up frame ``(x, -y, -z)``;
   the face then looks towards +z like MediaPipe's canonical face.
2. **Pose removal.** A similarity transform (Umeyama 1991: rotation, isotropic scale,
   translation) is fitted from the face's *rigid* points (`RIGID_POINTS`) to the same
   points of MediaPipe's canonical face (`canonical_vertices`); applying it to all 478
   points removes head pose and face size. The result is in the canonical face's
   centimetres.
3. **Scale.** `IOD_CM` is the canonical inter-ocular distance; AU measures are divided
   by it (`fau.au.intensity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import FauError
from ..landmarks.canonical import canonical_face

__all__ = [
    "RIGID_POINTS",
    "IOD_CM",
    "MIN_RIGID_SPREAD",
    "Alignment",
    "canonical_vertices",
    "inter_ocular_distance",
    "face_frame",
    "align",
    "head_pose",
]

#: Rigid landmarks used for pose removal (indices into the 478-point mesh): forehead
#: (10, 151, 9, 109, 338, 67, 297), glabella and nose bridge (8, 168, 6, 197, 195, 5),
#: nose tip (4, 1), inner/outer eye corners (133, 362, 33, 263) and temples at eye level
#: (127, 356, 234, 454). MediaPipe's own 33-point basis also weights the nose wings,
#: cheeks and jaw, which move with AU09/AU10, AU06 and AU26, so it is not used here.
#: Dropping the forehead and glabella (whose skin frontalis and procerus move) was tried
#: on ckplus_dev and is worse (mean AUC 0.875 vs 0.883): the forehead's height steadies
#: the pitch estimate, which depth and height measures of the mouth and lids need
#: (docs/action_units.md, *Neutral subtraction*).
RIGID_POINTS = np.array(
    [10, 151, 9, 109, 338, 67, 297, 8, 168, 6, 197, 195, 5, 4, 1, 133, 362, 33, 263,
     127, 356, 234, 454]
)
RIGID_POINTS.setflags(write=False)

#: Canonical inter-ocular distance (cm): centre of the eye corners 33/133 to the centre
#: of 263/362 on MediaPipe's canonical face (``geometry_pipeline_metadata_landmarks``
#: of the bundled ``face_landmarker.task``). A constant so that importing fau reads no
#: model file; ``tests/test_geometry.py`` checks it against the bundle.
IOD_CM: float = 6.302290916442871

#: Smallest RMS distance of the `RIGID_POINTS` from their centre (in the landmarks' unit,
#: pixels; or 0-1 for normalised coordinates, whose faces spread over ~0.01 or more) that
#: `align` fits: below it the points coincide up to floating-point rounding (an all-zero
#: placeholder for a missing face), and no pose or size exists to fit.
MIN_RIGID_SPREAD = 1e-9


def _as_floats(value: object, what: str) -> np.ndarray:
    """``value`` as a float64 array (a view where it already is one), or a `FauError`
    naming ``what`` for values numpy cannot read as numbers (text, None in a list,
    lists of unequal lengths)."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FauError(f"{what} takes numeric arrays; got a {type(value).__name__} that is "
                       f"not one ({exc})") from None


def canonical_vertices() -> np.ndarray:
    """MediaPipe's canonical neutral face, (468, 3) centimetres, read-only (cached).

    x = the subject's left, y = up, z = towards the camera. Read from the bundled
    ``face_landmarker.task`` on first use (`fau.landmarks.canonical.canonical_face`).
    """
    return canonical_face().vertices


def inter_ocular_distance(points: np.ndarray) -> np.ndarray:
    """Distance between the eye centres (mean of corners 33/133 and 263/362).

    Parameters
    ----------
    points : ndarray, (..., 478, 3) or (..., 468, 3); (..., 478, 2) or (..., 468, 2)
        Landmarks in any frame (2-D image points too).

    Returns
    -------
    ndarray, (...)
        In the unit of ``points``.

    Raises
    ------
    FauError
        ``points`` of another shape.
    """
    p = _as_floats(points, "inter_ocular_distance")
    if p.ndim < 2 or p.shape[-2] not in (478, 468) or p.shape[-1] not in (2, 3):
        raise FauError(f"inter_ocular_distance takes landmarks of shape (..., 478, 3) or "
                       f"(..., 468, 3), or their x, y only (..., 2), got {p.shape}")
    right = p[..., [33, 133], :].mean(axis=-2)
    left = p[..., [263, 362], :].mean(axis=-2)
    return np.linalg.norm(left - right, axis=-1)


@dataclass(frozen=True)
class Alignment:
    """Landmarks with pose and size removed.

    Attributes
    ----------
    points : ndarray, (..., 478, 3)
        Landmarks in the canonical face's frame and centimetres.
    rotation : ndarray, (..., 3, 3)
        Rotation taking the face frame to the canonical frame (the head's rotation
        is its transpose).
    scale : ndarray, (...)
        Canonical centimetres per image pixel.
    residual : ndarray, (...)
        RMS distance (cm) of the rigid points from the canonical face after the fit: a
        quality measure (large for failed meshes or extreme expressions).
    """

    points: np.ndarray
    rotation: np.ndarray
    scale: np.ndarray
    residual: np.ndarray


def face_frame(landmarks: np.ndarray) -> np.ndarray:
    """Image-pixel landmarks (x right, y down, z away) → right-handed y-up frame.

    Parameters
    ----------
    landmarks : ndarray, (..., 3)
        Points in image pixels; another shape is a `FauError`.

    Returns
    -------
    ndarray, (..., 3)
        The points as ``(x, -y, -z)``.
    """
    pts = _as_floats(landmarks, "face_frame")
    if pts.ndim < 1 or pts.shape[-1] != 3:
        raise FauError(f"face_frame takes points of shape (..., 3) (x, y, z), got {pts.shape}")
    return pts * np.array([1.0, -1.0, -1.0])


def align(landmarks: np.ndarray) -> Alignment:
    """Remove head pose and size: similarity fit of `RIGID_POINTS` to the canonical face.

    Parameters
    ----------
    landmarks : ndarray, (478, 3) or (N, 478, 3)
        MediaPipe landmarks in image pixels.

    Returns
    -------
    Alignment

    Raises
    ------
    FauError
        Landmarks of another shape, a NaN or infinite value among the points the fit
        uses (`RIGID_POINTS`), or those points all at one place (`MIN_RIGID_SPREAD`).
    """
    pts = _as_floats(landmarks, "align")
    single = pts.ndim == 2
    if single:
        pts = pts[None]
    if pts.ndim != 3 or pts.shape[-2:] not in ((478, 3), (468, 3)):
        raise FauError(f"align takes landmarks of shape (478, 3), (468, 3) or (N, 478, 3), "
                       f"got {np.shape(landmarks)}")
    pts = face_frame(pts)
    k = len(RIGID_POINTS)
    src = pts[:, RIGID_POINTS]  # (N, k, 3)
    if not np.isfinite(src).all():
        raise FauError("align: landmarks hold NaN or infinite values (no pose or size can be "
                       "fitted)")
    dst = canonical_vertices()[RIGID_POINTS]  # (k, 3)
    mu_s = src.mean(axis=1, keepdims=True)
    mu_d = dst.mean(axis=0)
    s_c = src - mu_s
    d_c = dst - mu_d
    cov = np.einsum("ki,nkj->nij", d_c, s_c) / k  # (N, 3, 3)
    u, sig, vt = np.linalg.svd(cov)
    det = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    fix = np.ones_like(sig)
    fix[:, 2] = det
    rot = np.einsum("nij,nj,njk->nik", u, fix, vt)
    var_s = (s_c**2).sum(axis=(1, 2)) / k
    flat = np.flatnonzero(var_s < MIN_RIGID_SPREAD**2)
    if flat.size:
        raise FauError(f"align: the rigid landmarks of face {int(flat[0])} all lie at one point "
                       "(an all-zero placeholder for a missing face?); no pose or size can be "
                       "fitted")
    scale = (sig * fix).sum(axis=1) / np.maximum(var_s, 1e-12)
    aligned = scale[:, None, None] * np.einsum("nij,nkj->nki", rot, pts - mu_s) + mu_d
    resid = np.sqrt(((aligned[:, RIGID_POINTS] - dst) ** 2).sum(-1).mean(-1))
    if single:
        return Alignment(aligned[0], rot[0], scale[0], resid[0])
    return Alignment(aligned, rot, scale, resid)


def head_pose(rotation: np.ndarray) -> np.ndarray:
    """Head pitch, yaw, roll in degrees from an `Alignment.rotation`.

    The head's rotation (canonical → camera) is ``rotation.T``, decomposed as
    ``Ry(yaw) @ Rx(-pitch) @ Rz(roll)`` in the y-up camera frame (x = image right,
    z = towards the camera). Signs: pitch > 0 = chin up (looking up), yaw > 0 = face
    turned towards the image's right (the subject's left), roll > 0 = head tilted
    counter-clockwise as seen in the image (towards the subject's right shoulder).

    Parameters
    ----------
    rotation : ndarray, (..., 3, 3)
        The fitted rotation (`Alignment.rotation`: face frame → canonical frame).

    Returns
    -------
    ndarray, (..., 3)
        Pitch, yaw and roll in degrees.
    """
    r = _as_floats(rotation, "head_pose")
    if r.ndim < 2 or r.shape[-2:] != (3, 3):
        raise FauError(f"head_pose takes rotation matrices of shape (..., 3, 3) "
                       f"(Alignment.rotation), got {r.shape}")
    r = np.swapaxes(r, -1, -2)
    # R = Ry(yaw) Rx(-pitch) Rz(roll): r[1,2] = sin(pitch)
    pitch = np.arcsin(np.clip(r[..., 1, 2], -1.0, 1.0))
    yaw = np.arctan2(r[..., 0, 2], r[..., 2, 2])
    roll = np.arctan2(r[..., 1, 0], r[..., 1, 1])
    return np.degrees(np.stack([pitch, yaw, roll], axis=-1))
