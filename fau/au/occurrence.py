"""AU occurrence (present / absent), like OpenFace's ``AU12_c`` columns.

An AU is *present* in a frame when its intensity (`fau.au.au_intensities`) exceeds the
AU's threshold in `AU_THRESHOLDS`. The thresholds are single-frame: they know nothing of
the person's own neutral face, so a person whose neutral face sits far from MediaPipe's
canonical one reads some AUs as present at rest (for one person over time, compare with
the person's baseline instead: the video analysis' ``*_rel`` columns).

How the thresholds were chosen (``python benchmarks/au_ckplus.py --thresholds``): a
``_c`` column is read as "the AU is there", so a resting face should rarely trip it.
Each threshold is the one with the best F1 of the coded presence on ``ckplus_dev``
(FACS-coded posed CK+ sequences, measuring and choosing only; peak frames and neutral
first frames together, every AU absent in the latter) among the thresholds that flag at
most 10% of the ckplus_dev neutral frames *and* at most 10% of the London set's neutral
photos (DeBruine & Jones 2017; 102 people, full photos), for every AU coded in at least
8 sequences. AUs coded in fewer (AU16, AU18, AU26) take the lowest threshold under that
constraint; AU43 and AU45 (not coded in CK+) take 0.5 neutral eye openings, the eye more
closed than open. Each threshold's F1, its 5-fold cross-validated F1 and the neutral
firing rates in and out of fold (folds by subject) are in ``docs/action_units.md``.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import FauError
from .alignment import _as_floats
from .intensity import AU_NAMES

__all__ = ["AU_OCCURRENCE_NAMES", "AU_THRESHOLDS", "OCCURRENCE_AUS", "au_occurrence"]

#: The AUs that get an occurrence column: the bilateral ones (no ``_L``/``_R``).
OCCURRENCE_AUS: tuple[str, ...] = tuple(n for n in AU_NAMES if "_" not in n)
#: Names of the occurrence columns, in `OCCURRENCE_AUS` order (``AU01_c`` …).
AU_OCCURRENCE_NAMES: tuple[str, ...] = tuple(f"{n}_c" for n in OCCURRENCE_AUS)

#: Intensity above which an AU is present, in the AU's unit (`fau.au.AU_UNITS`: IOD, or
#: neutral eye openings for AU43/AU45). Chosen on ckplus_dev under a neutral-firing limit
#: (ckplus_dev neutral frames and London neutral photos), as the module docstring says.
AU_THRESHOLDS: dict[str, float] = {
    "AU01": 0.084, "AU02": 0.050, "AU04": 0.031, "AU05": 0.070, "AU06": 0.033,
    "AU07": 0.046, "AU09": 0.119, "AU10": 0.031, "AU12": 0.165, "AU14": 0.056,
    "AU15": 0.047, "AU16": 0.166, "AU17": 0.042, "AU18": 0.019, "AU20": 0.076,
    "AU23": -0.034, "AU24": -0.012, "AU25": 0.005, "AU26": 0.040, "AU27": 0.211,
    "AU43": 0.5, "AU45": 0.5,
}

_INDEX = np.array([AU_NAMES.index(n) for n in OCCURRENCE_AUS])
_THRESHOLD = np.array([AU_THRESHOLDS[n] for n in OCCURRENCE_AUS])
for _array in (_INDEX, _THRESHOLD):
    _array.setflags(write=False)


def au_occurrence(intensities: np.ndarray,
                  thresholds: Mapping[str, float] | None = None) -> np.ndarray:
    """Occurrence (0/1) of each AU from the intensities of `fau.au.au_intensities`.

    Parameters
    ----------
    intensities : ndarray, (..., len(AU_NAMES))
        AU intensities in `fau.au.AU_NAMES` order.
    thresholds : mapping of AU name to float, optional
        Thresholds that replace some of `AU_THRESHOLDS` (same units), e.g. chosen on
        your own data; the shipped ones (fixed at import) otherwise.

    Returns
    -------
    ndarray of uint8, (..., len(AU_OCCURRENCE_NAMES))
        1 where the AU's intensity exceeds its `AU_THRESHOLDS` value, in
        `AU_OCCURRENCE_NAMES` order; NaN intensities give 0.

    Raises
    ------
    FauError
        When the last axis is not ``len(AU_NAMES)`` long, or ``thresholds`` names an AU
        without an occurrence column.
    """
    x = _as_floats(intensities, "au_occurrence")
    if x.ndim == 0 or x.shape[-1] != len(AU_NAMES):
        raise FauError(
            f"expected AU intensities with a last axis of {len(AU_NAMES)} (fau.au.AU_NAMES), "
            f"got shape {x.shape}"
        )
    t = _THRESHOLD
    if thresholds:
        unknown = sorted(set(thresholds) - set(OCCURRENCE_AUS))
        if unknown:
            raise FauError(f"no occurrence column for {unknown}; expected names in "
                           "fau.au.OCCURRENCE_AUS")
        t = np.array([float(thresholds.get(n, AU_THRESHOLDS[n])) for n in OCCURRENCE_AUS])
    with np.errstate(invalid="ignore"):
        return (x[..., _INDEX] > t).astype(np.uint8)
