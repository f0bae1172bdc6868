"""The runnable examples run and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, *args: str, cwd=None) -> str:
    r = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                       text=True, timeout=300, cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout


@needs_model
def test_analyze_image():
    out = run("analyze_image.py")
    assert "AU12" in out and "happiness" in out and "head pose" in out


@needs_model
def test_explain_scores():
    out = run("explain_scores.py")
    assert "'happiness'" in out and "AU12" in out


@pytest.mark.slow
@needs_model
def test_analyze_video(tmp_path):
    out = run("analyze_video.py", str(EXAMPLES.parent / "tests/data/cremad/1001_DFA_NEU_XX.flv"),
              str(tmp_path / "r.html"), cwd=tmp_path)
    assert "track(s)" in out and (tmp_path / "r.html").stat().st_size > 10_000
