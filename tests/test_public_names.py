"""Every ``fau.…`` name the README and docs/ mention exists, as a new user would reach it."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: A dotted name in backticks: `fau.video.read_segments`, `fau.Detector.detect_image`.
NAME = re.compile(r"`(fau(?:\.[A-Za-z_][A-Za-z_0-9]*)+)")


def documented_names() -> list[str]:
    names = set()
    for page in DOCS:
        names.update(m.group(1) for m in NAME.finditer(page.read_text(encoding="utf-8")))
    return sorted(names)


def resolve(name: str):
    """Import the longest module prefix of ``name``, then get the rest as attributes."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
            break
        except ImportError:
            continue
    for part in parts[i:]:
        obj = getattr(obj, part)
    return obj


def test_docs_name_some_public_names():
    assert len(documented_names()) > 50


@pytest.mark.parametrize("name", documented_names())
def test_every_documented_name_exists(name):
    pytest.importorskip("fastapi", reason="fau[serve] extra") if ".serve" in name else None
    resolve(name)


def test_subpackages_are_reachable_after_a_plain_import():
    """docs/python-api.md writes fau.video.read_segments, fau.files.write_table,
    fau.report.render_report, fau.au.AU_UNITS: each works right after ``import fau``
    (PEP 562, imported on first use), and ``import fau`` still imports none of them."""
    code = (
        "import sys, fau\n"
        "assert 'fau.video' not in sys.modules and 'fau.report' not in sys.modules\n"
        "fau.video.read_segments, fau.files.write_table, fau.report.render_report\n"
        "fau.au.AU_UNITS, fau.export.elan_document, fau.job.VideoResult\n"
        "assert fau.batch.run_batch is fau.run_batch\n"
        "try:\n    fau.no_such_name\nexcept AttributeError:\n    pass\n"
        "else:\n    raise SystemExit('fau.no_such_name resolved')\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_every_top_level_name_is_in_the_python_api_page():
    """The other direction: each name of ``fau.__all__`` (what ``from fau import *`` gives a
    user) is named as ``fau.<name>`` in docs/python-api.md, the page that lists the API."""
    import fau

    page = (ROOT / "docs" / "python-api.md").read_text(encoding="utf-8")
    missing = [name for name in fau.__all__
               if not re.search(rf"\bfau\.{re.escape(name)}\b", page)]
    assert not missing, f"fau.__all__ names not in docs/python-api.md: {missing}"
