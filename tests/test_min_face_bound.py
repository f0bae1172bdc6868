"""``min_face`` is bounded: from `SMALLEST_MIN_FACE` to the largest image side fau accepts
(`fau.limits.MAX_SIDE`); `fau.Detector` and ``fau image --min-face`` refuse others."""

from __future__ import annotations

from pathlib import Path

import pytest

import fau
from fau.cli import main as fau_main
from fau.landmarks.detection import SMALLEST_MIN_FACE
from fau.limits import MAX_SIDE

IMAGE = Path(__file__).parent / "data" / "cremad_hap.jpg"
RANGE = f"between {SMALLEST_MIN_FACE:g} and {MAX_SIDE} pixels"


@pytest.mark.parametrize("value", [100000, MAX_SIDE + 1, MAX_SIDE + 0.5, 1e300, 5, 0, -30])
def test_detector_refuses_min_face_out_of_range(value):
    with pytest.raises(fau.FauError, match=RANGE) as info:
        fau.Detector(expression_model=None, min_face=value)
    assert "MAX_SIDE" in str(info.value) and repr(value) in str(info.value)


@pytest.mark.parametrize("value", [SMALLEST_MIN_FACE, 70, float(MAX_SIDE), MAX_SIDE])
def test_detector_accepts_the_bounds(value):
    with fau.Detector(expression_model=None, min_face=value) as det:
        assert len(det.detect_image(IMAGE)) <= 1


@pytest.mark.parametrize("value", ["100000", "20001", "5"])
def test_cli_refuses_min_face_out_of_range_in_one_line(value, capsys):
    assert fau_main(["image", str(IMAGE), "--model", "none", "--min-face", value]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fau: error: min_face must be ") and RANGE in lines[0]


def test_cli_help_gives_the_upper_bound(capsys):
    with pytest.raises(SystemExit):
        fau_main(["image", "--help"])
    assert f"at most {MAX_SIDE}" in " ".join(capsys.readouterr().out.split())
