"""Occurrence columns (`fau.au.au_occurrence`, OpenFace-style ``AU12_c``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fau.au import (
    AU_NAMES,
    AU_OCCURRENCE_NAMES,
    AU_THRESHOLDS,
    OCCURRENCE_AUS,
    AU_UNITS,
    au_occurrence,
)


def test_names_and_thresholds_cover_the_bilateral_aus():
    assert OCCURRENCE_AUS == tuple(n for n in AU_NAMES if "_" not in n)
    assert AU_OCCURRENCE_NAMES == tuple(f"{n}_c" for n in OCCURRENCE_AUS)
    assert set(AU_THRESHOLDS) == set(OCCURRENCE_AUS)
    # Eye closure thresholds are in neutral eye openings: more closed than open.
    assert AU_UNITS["AU45"] == "neutral eye openings" and AU_THRESHOLDS["AU45"] == 0.5


def test_threshold_is_the_boundary():
    t = np.array([AU_THRESHOLDS.get(n, 0.0) for n in AU_NAMES])
    above = au_occurrence(t + 1e-6)
    at = au_occurrence(t)
    assert above.dtype == np.uint8 and above.shape == (len(OCCURRENCE_AUS),)
    assert above.all() and not at.any()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=len(AU_NAMES), max_size=len(AU_NAMES)),
       st.integers(0, len(OCCURRENCE_AUS) - 1))
def test_each_column_depends_only_on_its_au(values, k):
    x = np.array(values)
    occ = au_occurrence(x)
    name = OCCURRENCE_AUS[k]
    assert occ[k] == int(x[AU_NAMES.index(name)] > AU_THRESHOLDS[name])
    y = x.copy()
    y[AU_NAMES.index(name)] = 10.0
    changed = au_occurrence(y)
    assert changed[k] == 1
    np.testing.assert_array_equal(np.delete(changed, k), np.delete(occ, k))


def test_batches_and_nan():
    x = np.zeros((3, 2, len(AU_NAMES)))
    x[1, 0, AU_NAMES.index("AU12")] = 0.5
    x[2, 1, :] = np.nan
    occ = au_occurrence(x)
    assert occ.shape == (3, 2, len(OCCURRENCE_AUS))
    assert occ[1, 0, OCCURRENCE_AUS.index("AU12")] == 1
    assert not occ[2, 1].any()


@pytest.mark.parametrize("shape", [(), (5,), (2, len(AU_NAMES) + 1)])
def test_wrong_shape_is_refused(shape):
    with pytest.raises(ValueError, match="AU_NAMES"):
        au_occurrence(np.zeros(shape))


def test_own_thresholds_replace_the_shipped_ones():
    x = np.zeros(len(AU_NAMES))
    x[AU_NAMES.index("AU12")] = 0.1  # below the shipped AU12 threshold
    k = OCCURRENCE_AUS.index("AU12")
    assert au_occurrence(x)[k] == 0
    assert au_occurrence(x, {"AU12": 0.05})[k] == 1
    np.testing.assert_array_equal(np.delete(au_occurrence(x, {"AU12": 0.05}), k),
                                  np.delete(au_occurrence(x), k))
    with pytest.raises(ValueError, match="AU12_L"):
        au_occurrence(x, {"AU12_L": 0.1})
