"""matplotlib figures as inline SVG for the HTML report.

The report is one self-contained HTML file, so each chart is a matplotlib figure (the
object API, ``matplotlib.figure.Figure``, built by `fau.plot`: no pyplot global state, no
GUI backend) saved as SVG text and inlined: vector graphics, no JavaScript, nothing loaded
from elsewhere. Text stays text (``svg.fonttype: none``), ids are salted per chart
(``svg.hashsalt``) and the date is left out, so the same data always gives the same bytes.
Artists that `fau.plot.tips.add_tip` registered get an SVG ``<title>`` (hover text).

Build a figure inside `report_style` (it fixes fonts and colours for the layout, under a
lock: rcParams are process-wide and the web service renders reports from several
threads), then convert it with `figure_svg`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import threading
from html import escape
from typing import Iterator

import matplotlib
from matplotlib.figure import Figure

from ..plot.tips import TIP_PREFIX
from ..xmlsafe import xml_safe

__all__ = ["report_style", "figure_svg", "REPORT_RC"]

#: matplotlib settings of every report chart (applied with ``rc_context`` under a lock).
REPORT_RC = {
    "svg.fonttype": "none",  # <text> elements (small, selectable), not glyph paths
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # matplotlib's bundled font: metrics everywhere
    "font.size": 10.0,
    "axes.edgecolor": "#888888",
    "axes.labelcolor": "#444444",
    "xtick.color": "#888888",
    "ytick.color": "#888888",
    "xtick.labelcolor": "#444444",
    "ytick.labelcolor": "#444444",
    "xtick.labelsize": 8.5,
    "path.simplify": True,
}
#: No Date/Creator/RDF block: deterministic and smaller.
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_LOCK = threading.RLock()
_GEOMETRY_ATTR = re.compile(r'(\s(?:d|x|y|transform|points|width|height)=")([^"]*)(")')
_LONG_DECIMAL = re.compile(r"-?\d+\.\d{2,}")
_BETWEEN_TAGS = re.compile(r">\s+<")  # indentation (never inside <text>: no tspans)
_PATH_SPACE = re.compile(r"\s+")
_PATH_L = re.compile(r" L ")
_AUTO_ID = re.compile(r' id="(?:figure|axes|patch|line2d|text|matplotlib\.axis|xtick|ytick|'
                      r'[A-Za-z]*Collection|QuadMesh|legend)_\d+"')
_TIP_GROUP = re.compile(f'<g id="({TIP_PREFIX}\\d+)">')


@contextlib.contextmanager
def report_style() -> Iterator[None]:
    """Context for building and saving report figures: `REPORT_RC`, under a lock."""
    with _LOCK, matplotlib.rc_context(REPORT_RC):
        yield


def _shorten(svg: str) -> str:
    """Smaller SVG text, same drawing: one decimal for coordinates (px; matplotlib writes
    six) and path data on one line, with the ``L`` commands left implicit (coordinate
    pairs after ``M`` are line-tos in SVG)."""
    def attr(m: re.Match) -> str:
        v = _LONG_DECIMAL.sub(lambda n: f"{float(n[0]):.1f}", m[2])
        if m[1].endswith('d="'):
            v = _PATH_L.sub(" ", _PATH_SPACE.sub(" ", v)).strip()
        return m[1] + v + m[3]

    return _GEOMETRY_ATTR.sub(attr, svg)


def figure_svg(
    fig: Figure,
    *,
    chart_id: str,
    title: str,
    tooltips: dict[str, str] | None = None,
) -> str:
    """A figure as inline ``<svg>`` text (100% wide, scales with the page).

    Parameters
    ----------
    fig : Figure
        Built inside `report_style`.
    chart_id : str
        Salts the SVG's internal ids: give each chart of a page its own.
    title : str
        Accessible name (``aria-label``).
    tooltips : dict or None
        Hover texts by group id (`fau.plot.tips.add_tip`).

    Returns
    -------
    str
        ``<svg ...>...</svg>``; the same figure always gives the same text.
    """
    salt = hashlib.sha256(chart_id.encode()).hexdigest()[:12]
    buf = io.StringIO()
    with report_style(), matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", metadata=_METADATA)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\swidth="[\d.]+pt" height="[\d.]+pt"',
                 f' width="100%" role="img" aria-label="{escape(title)}" class="chart"', svg,
                 count=1)
    tips = tooltips or {}
    svg = _TIP_GROUP.sub(lambda m: f"<g><title>{escape(tips.get(m[1], ''))}</title>", svg)
    svg = _shorten(_AUTO_ID.sub("", _BETWEEN_TAGS.sub("><", svg)))
    # matplotlib's page-wide ``*{stroke-linejoin...}`` rule, scoped to the charts
    svg = svg.replace('<style type="text/css">*{', '<style type="text/css">.chart *{', 1)
    return xml_safe(svg.strip())
