"""Geometric action-unit intensities of a pose-free face mesh.

Each AU is a signed displacement (or distance change) measured on the aligned mesh
(`fau.au.alignment.align`, canonical centimetres) *minus the same measure on
MediaPipe's canonical neutral face*, divided by the canonical inter-ocular distance
(`IOD_CM`), and oriented so that larger = more of the movement. AU43 and AU45 are in
units of the canonical eye opening instead. Each definition follows the appearance
changes the FACS manual lists for the AU (Ekman, Friesen & Hager 2002), measured on the
landmarks named in `AU_DEFINITIONS` and `AU_LANDMARKS`; the choice between candidate
measures was made on ``ckplus_dev`` (FACS-coded CK+ sequences) and is documented with
its figures in ``docs/action_units.md``. Nothing here is fitted to those codes.

Left (``_L``) and right (``_R``) are the *subject's* sides; in a non-mirrored photo the
subject's left is on the image's right.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

from ..errors import FauError
from .alignment import IOD_CM, _as_floats, canonical_vertices

__all__ = [
    "AU_NAMES",
    "AU_DEFINITIONS",
    "AU_UNITS",
    "AU_LANDMARKS",
    "IOD_UNIT",
    "EYE_OPENING_UNIT",
    "au_intensities",
]

#: Unit of the IOD-based AUs: fraction of the inter-ocular distance (0.01 ≈ 0.6 mm).
IOD_UNIT = "IOD"
#: Unit of AU43/AU45: fraction of the canonical (neutral) eye opening; 1 = closed.
EYE_OPENING_UNIT = "neutral eye openings"

# Landmark groups (subject's right, subject's left) of MediaPipe's 478-point mesh.
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
_LIP_CORNER = (61, 291)
_NASOLABIAL_CHEEK = (205, 425)
_LOWER_LIP_LATERAL = ((91, 181), (321, 405))  # outer lower-lip contour beside the centre
_ARCH_LATERAL = (91, 321)
_UPPER_LIP_OUTER_ROW = (0, 37, 267)  # outer edge of the upper red
_UPPER_LIP_INNER_ROW = (13, 82, 312)  # inner edge of the upper red, same columns
_UPPER_LIP_TOP, _UPPER_LIP_INNER, _LOWER_LIP_INNER, _LOWER_LIP_BOTTOM = 0, 13, 14, 17
_NOSE_TIP = 4
_CHIN = 152

AU_NAMES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14",
    "AU15", "AU16", "AU17", "AU18", "AU20", "AU23", "AU24", "AU25", "AU26", "AU27",
    "AU43", "AU45",
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
            "of the mid brow (105, 52 / 334, 282) towards the upper lid (159, 158, 160 / "
            "386, 385, 387)",
    "AU05": "upper lid raiser (levator palpebrae superioris): widening of the eye, "
            "upper lid (159, 158, 160 / 386, 385, 387) minus lower lid (145, 153, 144 / "
            "374, 380, 373) height (the lower lid barely moves in AU05)",
    "AU06": "cheek raiser (orbicularis oculi, pars orbitalis): rise of the cheek and "
            "infraorbital skin (117, 118, 101, 50, 228-231 / 346, 347, 330, 280, 448-451) "
            "relative to the eye corners",
    "AU07": "lid tightener (orbicularis oculi, pars palpebralis): rise of the lower lid "
            "(145, 153, 144 / 374, 380, 373) in the pose-free frame (the eye corners, "
            "which the muscle also pulls, are not the reference)",
    "AU09": "nose wrinkler (levator labii superioris alaeque nasi, procerus): "
            "shortening of the nose root, height of the brow heads (55 / 285) above the "
            "nose wings (129, 98 / 358, 327)",
    "AU10": "upper lip raiser (levator labii superioris): shortening of the distance "
            "from the nose tip (4) down to the upper lip's outer edge (0), less the lip "
            "corners' (61 / 291) vertical movement either way (relative to the midpoint "
            "of 0 and 17; mean of sides): a smile (AU12) lifts the upper lip with the "
            "corners, AU10 lifts it alone",
    "AU12": "lip corner puller (zygomaticus major): movement of the lip corners (61 / 291) "
            "up and outwards at 45 degrees (vertical part relative to the midpoint of "
            "upper and lower lip, 0 and 17, so that jaw opening cancels); mean of sides",
    "AU14": "dimpler (buccinator): backward (depth) movement of the lip corners (61 / "
            "291) relative to the lip midline (0, 17) less their vertical movement either "
            "way (relative to the midpoint of 0 and 17): the buccinator pulls the corner "
            "straight back, the zygomaticus (AU12) up and back, the depressor and "
            "risorius (AU15, AU20) down and out; mean of sides",
    "AU15": "lip corner depressor (depressor anguli oris): lowering of the lip corners "
            "relative to the midpoint of upper and lower lip (0, 17)",
    "AU16": "lower lip depressor (depressor labii inferioris): lowering of the lower lip "
            "beside the midline (91, 181 / 321, 405) towards the chin (152), which rides "
            "on the mandible, so jaw opening cancels",
    "AU17": "chin raiser (mentalis): the lower lip's centre (17) pushed up relative to "
            "its lateral parts (91 / 321), the upward bulge the chin boss gives the "
            "closed mouth; a shape of the lower lip, so jaw opening barely moves it",
    "AU18": "lip pucker (incisivii labii): narrowing of the mouth (half the change of the "
            "61-291 width) and forward protrusion of the lip midline (0, 17), mean of "
            "the two",
    "AU20": "lip stretcher (risorius, platysma): movement of the lip corners outwards and "
            "down at 45 degrees (same frame as AU12); mean of sides",
    "AU23": "lip tightener (orbicularis oris): the lip corners (61 / 291) pulled "
            "forward, off the cheek surface beside them (205 / 425), as the tightened "
            "lips narrow and tense",
    "AU24": "lip pressor (orbicularis oris): the lips pressed together roll their red "
            "inwards: the upper lip's outer edge (0, 37, 267) moves forward of its inner "
            "edge (13, 82, 312)",
    "AU25": "lips part (depressor labii inferioris / relaxed mentalis): opening between "
            "the inner lips (13 - 14)",
    "AU26": "jaw drop (masseter relaxed, digastric): lowering of the lower lip's lower "
            "edge (17), which rides on the mandible and is located more reliably than the "
            "chin contour, in the pose-free frame, counted only up to the widening of the "
            "mouth (change of the 61-291 width): a jaw pulled down further stretches the "
            "mouth and narrows it (AU27), and that part of the drop is not AU26 (most "
            "people's mouths are wider than the canonical face's, median +0.07 IOD at rest "
            "on ckplus_dev, which bounds a relaxed drop measured from a single frame)",
    "AU27": "mouth stretch (pterygoids, digastric): the mouth pulled open vertically "
            "while it narrows: the inner-lip opening (13 - 14) minus the widening of the "
            "mouth (61-291)",
    "AU43": "eyes closed (levator palpebrae superioris relaxed): descent of the upper lid "
            "(159, 158, 160 / 386, 385, 387) relative to the eye corners, in units of the "
            "canonical eye opening (1 = lowered by a full opening, i.e. closed); a state "
            "when held, unlike the AU45 blink",
    "AU45": "blink / eye closure (orbicularis oculi relaxed levator): 1 - eye opening / "
            "canonical eye opening, opening = upper lid (159, 158, 160 / 386, 385, 387) "
            "minus lower lid (145, 153, 144 / 374, 380, 373) height; in units of the "
            "neutral opening, not IOD (1 = closed); a blink is a brief excursion of it",
    "AU12_L": "AU12 on the subject's left lip corner (291)",
    "AU12_R": "AU12 on the subject's right lip corner (61)",
    "AU14_L": "AU14 on the subject's left lip corner (291)",
    "AU14_R": "AU14 on the subject's right lip corner (61)",
}

#: Unit of each AU column: `IOD_UNIT` or `EYE_OPENING_UNIT` (AU43, AU45).
AU_UNITS: dict[str, str] = {
    name: EYE_OPENING_UNIT if name in ("AU43", "AU45") else IOD_UNIT for name in AU_NAMES
}

_EYE = tuple(a + b for a, b in zip(_UPPER_LID, _LOWER_LID))
_CORNERS = ((61, 0, 17), (291, 0, 17))
#: Landmarks each AU is measured on, (subject's right side, subject's left side); a
#: midline measure lists the same points twice. For drawing (`fau.plot.face`).
AU_LANDMARKS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "AU01": (_INNER_BROW[0] + (133,), _INNER_BROW[1] + (362,)),
    "AU02": (_OUTER_BROW[0] + (33,), _OUTER_BROW[1] + (263,)),
    "AU04": ((107, 55) + _MID_BROW[0] + _UPPER_LID[0], (336, 285) + _MID_BROW[1] + _UPPER_LID[1]),
    "AU05": _EYE,
    "AU06": _CHEEK,
    "AU07": _LOWER_LID,
    "AU09": ((55,) + _NOSE_WING[0], (285,) + _NOSE_WING[1]),
    "AU10": ((4, 0, 61, 17), (4, 0, 291, 17)),
    "AU12": _CORNERS,
    "AU14": _CORNERS,
    "AU15": _CORNERS,
    "AU16": (_LOWER_LIP_LATERAL[0] + (152,), _LOWER_LIP_LATERAL[1] + (152,)),
    "AU17": ((17, 91), (17, 321)),
    "AU18": ((61, 0, 17), (291, 0, 17)),
    "AU20": _CORNERS,
    "AU23": ((61, 205), (291, 425)),
    "AU24": ((0, 37, 13, 82), (0, 267, 13, 312)),
    "AU25": ((13, 14), (13, 14)),
    "AU26": ((17, 61), (17, 291)),
    "AU27": ((13, 14, 61), (13, 14, 291)),
    "AU43": _UPPER_LID,
    "AU45": _EYE,
    "AU12_L": ((291, 0, 17), (291, 0, 17)),
    "AU12_R": ((61, 0, 17), (61, 0, 17)),
    "AU14_L": ((291, 0, 17), (291, 0, 17)),
    "AU14_R": ((61, 0, 17), (61, 0, 17)),
}

_SQRT_HALF = float(np.sqrt(0.5))


def _measures(p: np.ndarray) -> dict[str, np.ndarray]:
    """Raw geometric measures (cm, canonical frame) of aligned points (..., 478, 3)."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]

    def my(idx) -> np.ndarray:
        return y[..., list(idx)].mean(axis=-1)

    def mz(idx) -> np.ndarray:
        return z[..., list(idx)].mean(axis=-1)

    m: dict[str, np.ndarray] = {}
    lip_mid_y = (y[..., _UPPER_LIP_TOP] + y[..., _LOWER_LIP_BOTTOM]) / 2
    lip_mid_z = (z[..., _UPPER_LIP_TOP] + z[..., _LOWER_LIP_BOTTOM]) / 2
    for side, k, out in (("R", 0, -1.0), ("L", 1, 1.0)):
        inner_c, outer_c = y[..., _INNER_CANTHUS[k]], y[..., _OUTER_CANTHUS[k]]
        canthi = (inner_c + outer_c) / 2
        upper, lower = my(_UPPER_LID[k]), my(_LOWER_LID[k])
        m[f"inner_brow_{side}"] = my(_INNER_BROW[k]) - inner_c
        m[f"outer_brow_{side}"] = my(_OUTER_BROW[k]) - outer_c
        m[f"brow_lid_{side}"] = my(_MID_BROW[k]) - upper
        m[f"upper_lid_{side}"] = upper - canthi
        m[f"opening_{side}"] = upper - lower
        m[f"lower_lid_{side}"] = lower
        m[f"cheek_{side}"] = my(_CHEEK[k]) - canthi
        m[f"nose_root_{side}"] = y[..., _BROW_HEAD[k]] - my(_NOSE_WING[k])
        c = _LIP_CORNER[k]
        m[f"corner_out_{side}"] = out * x[..., c]
        m[f"corner_up_{side}"] = y[..., c] - lip_mid_y
        m[f"corner_back_{side}"] = lip_mid_z - z[..., c]
        m[f"corner_fwd_{side}"] = z[..., c] - z[..., _NASOLABIAL_CHEEK[k]]
        m[f"lower_lip_chin_{side}"] = my(_LOWER_LIP_LATERAL[k]) - y[..., _CHIN]
    m["brow_gap"] = (x[..., 336] - x[..., 107] + x[..., 285] - x[..., 55]) / 2
    m["nose_lip"] = y[..., _NOSE_TIP] - y[..., _UPPER_LIP_TOP]
    m["lower_arch"] = y[..., _LOWER_LIP_BOTTOM] - my(_ARCH_LATERAL)
    m["lip_press"] = mz(_UPPER_LIP_OUTER_ROW) - mz(_UPPER_LIP_INNER_ROW)
    m["lip_gap"] = y[..., _UPPER_LIP_INNER] - y[..., _LOWER_LIP_INNER]
    m["mouth_width"] = x[..., _LIP_CORNER[1]] - x[..., _LIP_CORNER[0]]
    m["lip_forward"] = lip_mid_z
    m["jaw"] = y[..., _LOWER_LIP_BOTTOM]
    return m


@lru_cache(maxsize=1)
def _neutral() -> dict[str, float]:
    return {k: float(v) for k, v in _measures(canonical_vertices()).items()}


def _formulas(d: dict[str, np.ndarray], closure: Callable[[str, str], np.ndarray]
              ) -> dict[str, np.ndarray]:
    """AU values from neutral-subtracted measures ``d`` (IOD units)."""

    def both(name: str) -> np.ndarray:
        return (d[f"{name}_R"] + d[f"{name}_L"]) / 2

    def both_abs(name: str) -> np.ndarray:
        return (np.abs(d[f"{name}_R"]) + np.abs(d[f"{name}_L"])) / 2

    au12 = {s: (d[f"corner_out_{s}"] + d[f"corner_up_{s}"]) * _SQRT_HALF for s in "RL"}
    au20 = {s: (d[f"corner_out_{s}"] - d[f"corner_up_{s}"]) * _SQRT_HALF for s in "RL"}
    au14 = {s: d[f"corner_back_{s}"] - np.abs(d[f"corner_up_{s}"]) for s in "RL"}
    return {
        "AU01": both("inner_brow"),
        "AU02": both("outer_brow"),
        "AU04": (-d["brow_gap"] - both("brow_lid")) / 2,
        "AU05": both("opening"),
        "AU06": both("cheek"),
        "AU07": both("lower_lid"),
        "AU09": -both("nose_root"),
        "AU10": -d["nose_lip"] - both_abs("corner_up"),
        "AU12": (au12["R"] + au12["L"]) / 2,
        "AU14": (au14["R"] + au14["L"]) / 2,
        "AU15": -both("corner_up"),
        "AU16": -both("lower_lip_chin"),
        "AU17": d["lower_arch"],
        "AU18": (-d["mouth_width"] / 2 + d["lip_forward"]) / 2,
        "AU20": (au20["R"] + au20["L"]) / 2,
        "AU23": both("corner_fwd"),
        "AU24": d["lip_press"],
        "AU25": d["lip_gap"],
        "AU26": np.minimum(-d["jaw"], d["mouth_width"]),
        "AU27": d["lip_gap"] - d["mouth_width"],
        "AU43": (closure("upper_lid", "R") + closure("upper_lid", "L")) / 2,
        "AU45": (closure("opening", "R") + closure("opening", "L")) / 2,
        "AU12_L": au12["L"],
        "AU12_R": au12["R"],
        "AU14_L": au14["L"],
        "AU14_R": au14["R"],
    }


def au_intensities(points: np.ndarray) -> np.ndarray:
    """AU intensities of aligned landmarks, in `AU_NAMES` order.

    Parameters
    ----------
    points : ndarray, (..., 478, 3) or (..., 468, 3)
        `Alignment.points` (canonical frame, cm).

    Returns
    -------
    ndarray, (..., len(AU_NAMES))
        0 = MediaPipe's canonical neutral face; units `AU_UNITS`: fraction of the
        inter-ocular distance, AU43/AU45 fraction of the canonical eye opening.
    """
    pts = _as_floats(points, "au_intensities")
    if pts.ndim < 2 or pts.shape[-2:] not in ((478, 3), (468, 3)):
        raise FauError(f"au_intensities takes aligned landmarks of shape (..., 478, 3) or "
                       f"(..., 468, 3) (fau.au.align(...).points), got {pts.shape}")
    m = _measures(pts)
    n = _neutral()
    d = {k: (v - n[k]) / IOD_CM for k, v in m.items()}

    def closure(measure: str, side: str) -> np.ndarray:
        """Loss of ``measure`` (upper-lid height or opening) in canonical openings."""
        key = f"{measure}_{side}"
        return (n[key] - m[key]) / n[f"opening_{side}"]

    values = _formulas(d, closure)
    return np.stack([values[k] for k in AU_NAMES], axis=-1)
