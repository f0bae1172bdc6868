"""The alternative AU measures that were weighed against the shipped ones (design record).

`benchmarks/au_ckplus.py --resample` uses them for a *selection-aware* estimate: on each
random half of the ckplus_dev subjects the candidate with the best peak AUC is chosen,
and its AUC is reported on the other half, so the estimate pays for the choice itself.
Each candidate is a pure function of aligned landmarks (`fau.au.align(...).points`,
canonical cm) giving one value per face, zero on MediaPipe's canonical face, in IOD
units, larger = more of the movement (as `fau.au.au_intensities`). The figures of each
are in docs/action_units.md (*Second pass*); none is used by fau at run time.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from fau.au import AU_NAMES, IOD_CM, au_intensities, canonical_vertices

Measure = Callable[[np.ndarray], np.ndarray]


def _rel(f: Measure) -> Measure:
    """``f`` minus its value on the canonical face, in IOD units."""
    zero = float(f(canonical_vertices()[None])[0])
    return lambda p: (f(p) - zero) / IOD_CM


def _y(*idx: int) -> Measure:
    return _rel(lambda p: p[..., list(idx), 1].mean(axis=-1))


def _shipped(name: str) -> Measure:
    i = AU_NAMES.index(name)
    return lambda p: au_intensities(p)[..., i]


_jaw = _rel(lambda p: -p[..., 17, 1])  # lower lip's lower edge, descent
_gap = _rel(lambda p: p[..., 13, 1] - p[..., 14, 1])  # inner-lip opening
_width = _rel(lambda p: p[..., 291, 0] - p[..., 61, 0])  # mouth width (corners)
_lip_mid = _y(0, 17)


def _corner_up_abs(p: np.ndarray) -> np.ndarray:
    """Mean |vertical movement| of the corners relative to the lips' midpoint."""
    mid = _lip_mid(p)
    return (np.abs(_y(61)(p) - mid) + np.abs(_y(291)(p) - mid)) / 2


def _au14_sides(p: np.ndarray) -> np.ndarray:
    i = [AU_NAMES.index("AU14_R"), AU_NAMES.index("AU14_L")]
    return au_intensities(p)[..., i]


#: AU → {candidate name: measure}; ``"shipped"`` is fau's own column.
CANDIDATES: dict[str, dict[str, Measure]] = {
    "AU26": {
        "shipped": _shipped("AU26"),  # min(jaw drop, mouth widening)
        "lower-lip descent (issue 10 part 1)": _jaw,
        "jaw drop - max(0, AU27)": lambda p: _jaw(p) - np.maximum(_shipped("AU27")(p), 0),
        "min(lip opening, widening)": lambda p: np.minimum(_gap(p), _width(p)),
    },
    "AU10": {
        "shipped": _shipped("AU10"),
        "nose tip to upper lip (no corner term)": lambda p: _y(0)(p) - _y(4)(p),
        "subnasale (2) to upper lip - |corners|": lambda p: _y(0)(p) - _y(2)(p)
        - _corner_up_abs(p),
        "lateral upper lip (37/267) - |corners|": lambda p: _y(37, 267)(p) - _y(4)(p)
        - _corner_up_abs(p),
        "shipped - AU09 / 2": lambda p: _shipped("AU10")(p) - _shipped("AU09")(p) / 2,
    },
    "AU14": {
        "shipped": _shipped("AU14"),
        "stronger side": lambda p: _au14_sides(p).max(axis=-1),
        "corners back only": _rel(lambda p: (p[..., [0, 17], 2].mean(-1)
                                             - p[..., [61, 291], 2].mean(-1))),
    },
    "AU04": {
        "shipped": _shipped("AU04"),
        "brow gap only": _rel(lambda p: -(p[..., 336, 0] - p[..., 107, 0]
                                          + p[..., 285, 0] - p[..., 55, 0]) / 2),
        "mid brow to upper lid only": _rel(lambda p: -(p[..., [105, 52, 334, 282], 1].mean(-1)
                                                       - p[..., [159, 158, 160, 386, 385, 387],
                                                           1].mean(-1))),
    },
    "AU16": {
        "shipped": _shipped("AU16"),
        "lateral lower lip below the corners": lambda p: _y(61, 291)(p)
        - _y(91, 181, 321, 405)(p),
    },
}
