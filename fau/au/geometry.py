"""Pose normalisation and geometric action-unit intensities from a 478-point face mesh.

Pure functions over numpy arrays; every function accepts one face ``(478, 3)`` or a
batch ``(N, 478, 3)`` of MediaPipe landmarks in image pixels (x right, y down, z
negative towards the camera, z in the x scale).

Method
------
1. **Face frame.** Image coordinates are turned into a right-handed, y-up frame
   ``(x, -y, -z)``; the face then looks towards +z like MediaPipe's canonical face.
2. **Pose removal.** A weighted similarity transform (Umeyama 1991: rotation, isotropic
   scale, translation) is fitted from the face's *rigid* points (`RIGID_POINTS`: forehead,
   nose bridge and tip, eye corners, temples) to the same points of MediaPipe's canonical
   face; applying it to all 478 points removes head pose and face size. The result is in
   the canonical face's centimetres.
3. **Scale.** Distances are divided by the canonical inter-ocular distance
   `IOD_CM` (centre of one eye to the other, 6.36 cm), so every AU is a fraction of the
   inter-ocular distance (IOD); 0.01 IOD ≈ 0.6 mm on an adult face.
4. **AUs.** Each AU is a signed displacement (or distance change) measured on the
   aligned mesh *minus the same measure on the canonical neutral face*, oriented so that
   larger = more of the movement. Definitions are in `AU_DEFINITIONS` and
   ``docs/action_units.md``.

Left (``_L``) and right (``_R``) are the *subject's* sides; in a non-mirrored photo the
subject's left is on the image's right.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..landmarks.canonical import canonical_face

__all__ = [
    "AU_NAMES",
    "AU_DEFINITIONS",
    "RIGID_POINTS",
    "IOD_CM",
    "Alignment",
    "face_frame",
    "align",
    "head_pose",
    "au_intensities",
    "mirror_landmarks",
    "mirror_permutation",
]

#: Rigid landmarks used for pose removal (indices into the 478-point mesh): forehead
#: (10, 151, 9, 109, 338, 67, 297), glabella and nose bridge (8, 168, 6, 197, 195, 5),
#: nose tip (4, 1), inner/outer eye corners (133, 362, 33, 263) and temples at eye level
#: (127, 356, 234, 454). MediaPipe's own 33-point basis also weights the nose wings,
#: cheeks and jaw, which move with AU09/AU10, AU06 and AU26, so it is not used here.
RIGID_POINTS = np.array(
    [10, 151, 9, 109, 338, 67, 297, 8, 168, 6, 197, 195, 5, 4, 1, 133, 362, 33, 263,
     127, 356, 234, 454]
)

# Landmark groups (subject's right, subject's left).
_INNER_CANTHUS = (133, 362)
_OUTER_CANTHUS = (33, 263)
_INNER_BROW = ((107, 66, 55, 65), (336, 296, 285, 295))
_OUTER_BROW = ((70, 63, 46, 53), (300, 293, 276, 283))
_MID_BROW = ((105, 52), (334, 282))
_UPPER_LID = ((159, 158, 160), (386, 385, 387))
_LOWER_LID = ((145, 153, 144), (374, 380, 373))
_CHEEK = ((117, 118, 101, 50, 228, 229, 230, 231), (346, 347, 330, 280, 448, 449, 450, 451))
_NOSE_WING = ((129, 98), (358, 327))
_BROW_HEAD = (55, 285)
_UPPER_LIP_OUTER = (0, 37, 267)
_LIP_CORNER = (61, 291)
_UPPER_LIP_TOP, _UPPER_LIP_INNER, _LOWER_LIP_INNER, _LOWER_LIP_BOTTOM = 0, 13, 14, 17
_CHIN = 152

AU_NAMES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14",
    "AU15", "AU17", "AU20", "AU23", "AU25", "AU26", "AU45",
    "AU12_L", "AU12_R", "AU14_L", "AU14_R",
)

#: Human-readable definition of each AU measure (also rendered in docs/action_units.md).
AU_DEFINITIONS: dict[str, str] = {
    "AU01": "inner brow raiser (frontalis, pars medialis): rise of the inner brow "
            "(107, 66, 55, 65 / 336, 296, 285, 295) above the inner eye corners (133 / 362)",
    "AU02": "outer brow raiser (frontalis, pars lateralis): rise of the outer brow "
            "(70, 63, 46, 53 / 300, 293, 276, 283) above the outer eye corners (33 / 263)",
    "AU04": "brow lowerer (corrugator, depressor supercilii, procerus): mean of the "
            "drawing together of the inner brows (x gap 107-336, 55-285) and the lowering "
            "of the mid brow (105, 52 / 334, 282) relative to the eye corners",
    "AU05": "upper lid raiser (levator palpebrae superioris): widening of the eye, "
            "upper lid (159, 158, 160 / 386, 385, 387) minus lower lid (145, 153, 144 / "
            "374, 380, 373) height (the lower lid barely moves in AU05)",
    "AU06": "cheek raiser (orbicularis oculi, pars orbitalis): rise of the cheek and "
            "infraorbital skin (117, 118, 101, 50, 228-231 / 346, 347, 330, 280, 448-451) "
            "relative to the eye corners",
    "AU07": "lid tightener (orbicularis oculi, pars palpebralis): rise of the lower lid "
            "(145, 153, 144 / 374, 380, 373) relative to the eye corners",
    "AU09": "nose wrinkler (levator labii superioris alaeque nasi, procerus): "
            "shortening of the nose root, height of the brow heads (55 / 285) above the "
            "nose wings (129, 98 / 358, 327)",
    "AU10": "upper lip raiser (levator labii superioris): rise of the upper lip's outer "
            "edge (0, 37, 267) in the pose-free frame",
    "AU12": "lip corner puller (zygomaticus major): movement of the lip corners (61 / 291) "
            "up and outwards at 45 degrees (vertical part relative to the midpoint of "
            "upper and lower lip, 0 and 17, so that jaw opening cancels); mean of sides",
    "AU14": "dimpler (buccinator): backward (depth) movement of the lip corners relative "
            "to the lip midline (0, 17); mean of sides",
    "AU15": "lip corner depressor (depressor anguli oris): lowering of the lip corners "
            "relative to the midpoint of upper and lower lip (0, 17)",
    "AU17": "chin raiser (mentalis): shortening of the lower lip (17) to chin (152) "
            "height",
    "AU20": "lip stretcher (risorius, platysma): movement of the lip corners outwards and "
            "down at 45 degrees (same frame as AU12); mean of sides",
    "AU23": "lip tightener (orbicularis oris): thinning of the red of the lips, "
            "(0 - 13) + (14 - 17) heights",
    "AU25": "lips part (depressor labii inferioris / relaxed mentalis): opening between "
            "the inner lips (13 - 14)",
    "AU26": "jaw drop (masseter relaxed, digastric): lowering of the lower lip's lower "
            "edge (17), which rides on the mandible and is located more reliably than the "
            "chin contour, in the pose-free frame",
    "AU45": "blink / eye closure (orbicularis oculi relaxed levator): 1 - eye opening / "
            "canonical eye opening, opening = upper lid (159, 158, 160 / 386, 385, 387) "
            "minus lower lid (145, 153, 144 / 374, 380, 373) height; in units of the "
            "neutral opening, not IOD (1 = closed)",
    "AU12_L": "AU12 on the subject's left lip corner (291)",
    "AU12_R": "AU12 on the subject's right lip corner (61)",
    "AU14_L": "AU14 on the subject's left lip corner (291)",
    "AU14_R": "AU14 on the subject's right lip corner (61)",
}

_SQRT_HALF = float(np.sqrt(0.5))


@lru_cache(maxsize=1)
def _canonical() -> np.ndarray:
    return canonical_face().vertices


def _iod(points: np.ndarray) -> np.ndarray:
    right = points[..., [33, 133], :].mean(axis=-2)
    left = points[..., [263, 362], :].mean(axis=-2)
    return np.linalg.norm(left - right, axis=-1)


#: Canonical inter-ocular distance (cm): centre of eye corners 33/133 to 263/362.
IOD_CM: float = float(_iod(_canonical()))


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
    """Image-pixel landmarks (x right, y down, z away) → right-handed y-up frame."""
    pts = np.asarray(landmarks, dtype=np.float64)
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
    """
    pts = face_frame(landmarks)
    single = pts.ndim == 2
    if single:
        pts = pts[None]
    if pts.shape[-2:] != (478, 3) and pts.shape[-2:] != (468, 3):
        raise ValueError(f"expected landmarks of shape (478, 3), got {pts.shape[-2:]}")
    src = pts[:, RIGID_POINTS]  # (N, k, 3)
    dst = _canonical()[RIGID_POINTS]  # (k, 3)
    mu_s = src.mean(axis=1, keepdims=True)
    mu_d = dst.mean(axis=0)
    s_c = src - mu_s
    d_c = dst - mu_d
    cov = np.einsum("ki,nkj->nij", d_c, s_c) / len(RIGID_POINTS)  # (N, 3, 3)
    u, sig, vt = np.linalg.svd(cov)
    det = np.sign(np.linalg.det(u) * np.linalg.det(vt))
    fix = np.ones_like(sig)
    fix[:, 2] = det
    rot = np.einsum("nij,nj,njk->nik", u, fix, vt)
    var_s = (s_c**2).sum(axis=(1, 2)) / len(RIGID_POINTS)
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

    Returns
    -------
    ndarray, (..., 3)
    """
    r = np.swapaxes(np.asarray(rotation, dtype=np.float64), -1, -2)
    # R = Ry(yaw) Rx(-pitch) Rz(roll): r[1,2] = sin(pitch)
    pitch = np.arcsin(np.clip(r[..., 1, 2], -1.0, 1.0))
    yaw = np.arctan2(r[..., 0, 2], r[..., 2, 2])
    roll = np.arctan2(r[..., 1, 0], r[..., 1, 1])
    return np.degrees(np.stack([pitch, yaw, roll], axis=-1))


def _measures(p: np.ndarray) -> dict[str, np.ndarray]:
    """Raw geometric measures (cm, canonical frame) of aligned points (..., 478, 3)."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]

    def my(idx) -> np.ndarray:
        return y[..., list(idx)].mean(axis=-1)

    m: dict[str, np.ndarray] = {}
    inner_c = [y[..., i] for i in _INNER_CANTHUS]
    outer_c = [y[..., i] for i in _OUTER_CANTHUS]
    canthi = [(a + b) / 2 for a, b in zip(inner_c, outer_c)]
    for side, k in (("R", 0), ("L", 1)):
        m[f"inner_brow_{side}"] = my(_INNER_BROW[k]) - inner_c[k]
        m[f"outer_brow_{side}"] = my(_OUTER_BROW[k]) - outer_c[k]
        m[f"mid_brow_{side}"] = my(_MID_BROW[k]) - canthi[k]
        m[f"upper_lid_{side}"] = my(_UPPER_LID[k]) - canthi[k]
        m[f"lower_lid_{side}"] = my(_LOWER_LID[k]) - canthi[k]
        m[f"cheek_{side}"] = my(_CHEEK[k]) - canthi[k]
        m[f"nose_root_{side}"] = y[..., _BROW_HEAD[k]] - my(_NOSE_WING[k])
    m["brow_gap"] = (x[..., 336] - x[..., 107] + x[..., 285] - x[..., 55]) / 2
    lip_mid_y = (y[..., _UPPER_LIP_TOP] + y[..., _LOWER_LIP_BOTTOM]) / 2
    lip_mid_z = (z[..., _UPPER_LIP_TOP] + z[..., _LOWER_LIP_BOTTOM]) / 2
    for side, idx, out in (("R", _LIP_CORNER[0], -1.0), ("L", _LIP_CORNER[1], 1.0)):
        m[f"corner_out_{side}"] = out * x[..., idx]
        m[f"corner_up_{side}"] = y[..., idx] - lip_mid_y
        m[f"corner_depth_{side}"] = z[..., idx] - lip_mid_z
    m["upper_lip"] = my(_UPPER_LIP_OUTER)
    m["chin_height"] = y[..., _LOWER_LIP_BOTTOM] - y[..., _CHIN]
    m["vermilion"] = (y[..., _UPPER_LIP_TOP] - y[..., _UPPER_LIP_INNER]) + (
        y[..., _LOWER_LIP_INNER] - y[..., _LOWER_LIP_BOTTOM]
    )
    m["lip_gap"] = y[..., _UPPER_LIP_INNER] - y[..., _LOWER_LIP_INNER]
    m["jaw"] = y[..., _LOWER_LIP_BOTTOM]
    return m


@lru_cache(maxsize=1)
def _neutral() -> dict[str, float]:
    return {k: float(v) for k, v in _measures(_canonical()).items()}


def au_intensities(points: np.ndarray) -> np.ndarray:
    """AU intensities of aligned landmarks, in `AU_NAMES` order.

    Parameters
    ----------
    points : ndarray, (..., 478, 3) or (..., 468, 3)
        `Alignment.points` (canonical frame, cm).

    Returns
    -------
    ndarray, (..., 21)
        0 = MediaPipe's canonical neutral face; units: fraction of the inter-ocular
        distance (AU45: fraction of the neutral eye opening).
    """
    m = _measures(np.asarray(points, dtype=np.float64))
    n = _neutral()
    d = {k: (v - n[k]) / IOD_CM for k, v in m.items()}

    def both(name: str) -> np.ndarray:
        return (d[f"{name}_R"] + d[f"{name}_L"]) / 2

    opening_neutral = {s: n[f"upper_lid_{s}"] - n[f"lower_lid_{s}"] for s in "RL"}
    closure = [
        1.0 - (m[f"upper_lid_{s}"] - m[f"lower_lid_{s}"]) / opening_neutral[s] for s in "RL"
    ]
    au12 = {s: (d[f"corner_out_{s}"] + d[f"corner_up_{s}"]) * _SQRT_HALF for s in "RL"}
    au20 = {s: (d[f"corner_out_{s}"] - d[f"corner_up_{s}"]) * _SQRT_HALF for s in "RL"}
    au14 = {s: -d[f"corner_depth_{s}"] for s in "RL"}
    values = {
        "AU01": both("inner_brow"),
        "AU02": both("outer_brow"),
        "AU04": (-d["brow_gap"] - both("mid_brow")) / 2,
        "AU05": both("upper_lid") - both("lower_lid"),
        "AU06": both("cheek"),
        "AU07": both("lower_lid"),
        "AU09": -both("nose_root"),
        "AU10": d["upper_lip"],
        "AU12": (au12["R"] + au12["L"]) / 2,
        "AU14": (au14["R"] + au14["L"]) / 2,
        "AU15": -both("corner_up"),
        "AU17": -d["chin_height"],
        "AU20": (au20["R"] + au20["L"]) / 2,
        "AU23": -d["vermilion"],
        "AU25": d["lip_gap"],
        "AU26": -d["jaw"],
        "AU45": (closure[0] + closure[1]) / 2,
        "AU12_L": au12["L"],
        "AU12_R": au12["R"],
        "AU14_L": au14["L"],
        "AU14_R": au14["R"],
    }
    return np.stack([values[k] for k in AU_NAMES], axis=-1)


@lru_cache(maxsize=1)
def mirror_permutation() -> np.ndarray:
    """Index permutation pairing each landmark with its left-right mirror image.

    Built from the canonical face (symmetric about x = 0) for the 468 face points; the
    iris points pair 468↔473 (centres) and 469-472↔474-477 with the horizontal
    neighbours swapped (469↔476, 471↔474, 470↔475, 472↔477).
    """
    v = _canonical()
    mirrored = v * np.array([-1.0, 1.0, 1.0])
    d = np.linalg.norm(v[:, None, :] - mirrored[None, :, :], axis=-1)
    perm = d.argmin(axis=1)
    iris = {468: 473, 469: 476, 470: 475, 471: 474, 472: 477}
    iris.update({b: a for a, b in iris.items()})
    return np.concatenate([perm, [iris[i] for i in range(468, 478)]]).astype(np.int64)


def mirror_landmarks(landmarks: np.ndarray, width: float) -> np.ndarray:
    """Landmarks of the horizontally flipped image (x → width - x, sides swapped)."""
    pts = np.array(landmarks, dtype=np.float64, copy=True)
    pts[..., 0] = width - pts[..., 0]
    return pts[..., mirror_permutation(), :]
