"""fau.errors.check_number, the one check that an argument is a (finite) number, and the
callers that use it (FilterParams, read_segments' max_s, voice_activity's window,
fau.plot's t_range, max_duration_s, check_sampling, detect_every)."""

import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from fau.errors import FauError, check_number


@pytest.mark.parametrize("value, expected", [
    (2, 2.0), (2.5, 2.5), (np.float32(1.5), 1.5), (np.int64(3), 3.0), (np.float64(0), 0.0),
    (Decimal("1.25"), 1.25), (Fraction(1, 4), 0.25),
])
def test_numbers_are_accepted_as_floats(value, expected):
    out = check_number("x", value, unit="seconds", ge=0.0)
    assert type(out) is float and out == expected


@pytest.mark.parametrize("value", [
    True, False, np.bool_(True), "5", b"5", None, [1.0], np.array(1.0), object(),
    float("nan"), float("inf"), -float("inf"), Decimal("NaN"), Decimal("sNaN"),
    Decimal("Infinity"), 10 ** 400,
])
def test_non_numbers_and_non_finite_values_are_refused(value):
    with pytest.raises(FauError, match=r"^x must be a finite number of seconds, got "):
        check_number("x", value, unit="seconds")


def test_bounds_and_the_message_name_the_rule_and_value():
    with pytest.raises(FauError, match=r"^max_s must be a finite number of seconds >= 0, got -1$"):
        check_number("max_s", -1, unit="seconds", ge=0.0)
    assert check_number("max_s", 0, ge=0.0) == 0.0
    with pytest.raises(FauError, match=r"^beta must be a finite number > 0, got 0$"):
        check_number("beta", 0, gt=0.0)
    with pytest.raises(FauError, match=r"must be a finite number > 0 >= 1, got 0.5"):
        check_number("y", 0.5, gt=0.0, ge=1.0)
    with pytest.raises(FauError, match=re.escape(f"got {str(10 ** 400)[:57]}...") + "$"):
        check_number("x", 10 ** 400)


def test_none_and_inf_only_where_allowed():
    assert check_number("end", None, none_ok=True) is None
    with pytest.raises(FauError, match=r"^end must be None or a finite number of seconds, got nan"):
        check_number("end", float("nan"), unit="seconds", none_ok=True)
    assert check_number("duration", float("inf"), gt=0.0, inf_ok=True) == float("inf")
    assert check_number("duration", 10 ** 400, gt=0.0, inf_ok=True) == float("inf")
    with pytest.raises(FauError, match=r"^duration must be a number > 0, got -inf$"):
        check_number("duration", -float("inf"), gt=0.0, inf_ok=True)
    with pytest.raises(FauError, match=r"^duration must be a number, got nan$"):
        check_number("duration", float("nan"), inf_ok=True)


def test_voice_activity_takes_numpy_and_decimal_times():
    """A window taken from a table (numpy scalars) was refused as 'not a finite number of
    seconds' (the check wanted int or float): np.int64(1) or np.float32(0.5)."""
    from fau.audio.vad import _check_window

    assert _check_window(np.int64(1), np.float32(2.5)) == (1.0, 2.5)
    assert _check_window(Decimal("0.5"), None) == (0.5, None)
    with pytest.raises(FauError, match=r"end \(1 s\) must be after start \(2 s\)"):
        _check_window(np.int64(2), np.int64(1))
    with pytest.raises(FauError, match="start must be None or a finite number of seconds >= 0"):
        _check_window(True, None)


@pytest.mark.parametrize("bad", [("0", "5"), (True, 5), (0, b"5")])
def test_plot_ranges_are_numbers_not_strings_or_bools(bad):
    """float() read "0" as 0 s and True as 1 s."""
    from fau.plot import time_bin_segments
    from fau.plot.style import check_t_range

    with pytest.raises(FauError, match=r"timeline: t_range (start|end) must be a finite number"):
        check_t_range(bad, "timeline")
    with pytest.raises(FauError, match=r"time_bin_segments: t_range (start|end) must be"):
        time_bin_segments(bad)


def test_plot_range_shapes():
    from fau.plot.style import check_t_range

    assert check_t_range((np.int64(1), np.float32(2)), "t") == (1.0, 2.0)
    for bad in ("05", 5, (1, 2, 3), (1,)):
        with pytest.raises(FauError, match=r"t: t_range must be \(start, end\) in seconds"):
            check_t_range(bad, "t")
    with pytest.raises(FauError, match="end > start"):
        check_t_range((2, 1), "t")


@pytest.mark.parametrize("bad", ["5", True, 0, float("inf")])
def test_max_duration_s_is_a_number_of_seconds(bad):
    """'5' and True were read as 5 s and 1 s."""
    from fau.video.reader import _check_limit_s

    with pytest.raises(FauError, match=r"max_duration_s must be a finite number of seconds > 0"):
        _check_limit_s(bad)
    assert _check_limit_s(np.float32(2)) == 2.0


def test_callers_keep_their_rules():
    from fau.video import FilterParams, read_segments
    from fau.video.tracking import check_detect_every

    FilterParams(min_cutoff=np.float32(1), beta=0, d_cutoff=Decimal("1"))
    with pytest.raises(FauError, match=r"FilterParams: min_cutoff must be a finite number > 0"):
        FilterParams(min_cutoff=0)
    with pytest.raises(FauError, match=r"FilterParams: beta must be a finite number >= 0, got -1"):
        FilterParams(beta=-1)
    seg = read_segments([(0, 1)], max_s=np.float64(5))
    assert len(seg) == 1
    with pytest.raises(FauError, match=r"max_s must be None or a finite number of seconds >= 0"):
        read_segments([(0, 1)], max_s="1")
    assert check_detect_every(np.float32(0.5)) == 0.5
    with pytest.raises(FauError, match=r"detect_every must be a finite number of seconds > 0"):
        check_detect_every(0)


@pytest.mark.parametrize("bad", [("0", "5"), (True, 5), (0, "5")])
def test_baseline_is_numbers_not_strings_or_bools(bad):
    """check_baseline read "0" as 0 s and True as 1 s (float())."""
    from fau.video.temporal import check_baseline

    with pytest.raises(FauError, match=r"baseline (start|end) must be a finite number of seconds"):
        check_baseline(bad)
    assert check_baseline((np.int64(1), Decimal("2.5"))) == (1.0, 2.5)
