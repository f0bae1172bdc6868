"""Line charts for the HTML report, drawn by matplotlib as inline SVG.

The report is one self-contained HTML file, so each chart is a matplotlib figure (the
object API, ``matplotlib.figure.Figure``: no pyplot global state, no GUI backend) saved as
SVG text and inlined: vector graphics, no JavaScript, nothing loaded from elsewhere. Text
stays text (``svg.fonttype: none``), ids are salted per chart (``svg.hashsalt``) and the
date is left out, so the same data always gives the same bytes. Long series are reduced to
at most `MAX_POINTS` points per line by averaging equal time buckets (the title says so).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
from dataclasses import dataclass
from html import escape
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory, offset_copy

__all__ = ["Line", "Marker", "Band", "line_chart", "MAX_POINTS", "PALETTE", "downsample"]

#: Most points drawn per line (a 1-hour 30 fps track has 108,000 frames).
MAX_POINTS = 1200
#: Colour-blind-safe categorical palette (Okabe & Ito 2008), then greys.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
           "#F0E442", "#000000", "#999999", "#7F3C8D", "#11A579", "#3969AC")

#: matplotlib settings for every chart (applied with ``rc_context`` under `_LOCK`).
_RC = {
    "svg.fonttype": "none",  # <text> elements (small, selectable), not glyph paths
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],  # matplotlib's bundled font: metrics everywhere
    "font.size": 10.5,
    "axes.edgecolor": "#888888",
    "axes.labelcolor": "#444444",
    "xtick.color": "#888888",
    "ytick.color": "#888888",
    "xtick.labelcolor": "#444444",
    "ytick.labelcolor": "#444444",
    "path.simplify": True,
}
#: No Date/Creator/RDF block: deterministic and smaller.
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
#: rcParams are process-wide; the web service may render reports from several threads.
_LOCK = threading.Lock()
_GEOMETRY_ATTR = re.compile(r'(\s(?:d|x|y|transform)=")([^"]*)(")')
_LONG_DECIMAL = re.compile(r"-?\d+\.\d{2,}")
_BETWEEN_TAGS = re.compile(r">\s+<")  # indentation (never inside <text>: no tspans)
_PATH_SPACE = re.compile(r"\s+")
_PATH_L = re.compile(r" L ")
_AUTO_ID = re.compile(r' id="(?:figure|axes|patch|line2d|text|matplotlib\.axis|xtick|ytick|'
                      r'PolyCollection|FillBetweenPolyCollection)_\d+"')


@dataclass
class Line:
    """One series: name, x (s), y, colour."""

    name: str
    x: np.ndarray
    y: np.ndarray
    color: str = PALETTE[0]


@dataclass
class Marker:
    """A point marker (e.g. an event apex) with hover text."""

    x: float
    y: float
    text: str
    color: str = "#333333"


@dataclass
class Band:
    """A shaded time span (e.g. a segment) with a label."""

    x0: float
    x1: float
    label: str = ""


def downsample(x: np.ndarray, y: np.ndarray, n: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray, int]:
    """Bucket-average (x, y) to at most ``n`` points; also returns the bucket size."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) <= n:
        return x, y, 1
    k = int(math.ceil(len(x) / n))
    m = len(x) // k * k
    xs = x[:m].reshape(-1, k).mean(axis=1)
    with np.errstate(invalid="ignore"):
        ys = np.nanmean(y[:m].reshape(-1, k), axis=1) if np.isfinite(y[:m]).any() else y[:m:k]
    if m < len(x):
        xs = np.append(xs, x[m:].mean())
        ys = np.append(ys, np.nanmean(y[m:]) if np.isfinite(y[m:]).any() else np.nan)
    return xs, ys, k


def _break_gaps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN (matplotlib breaks the line there) where the time step exceeds 3× the
    median step (a face out of view)."""
    d = np.diff(x)
    if not (d > 0).any():
        return x, y
    gaps = np.flatnonzero(d > 3 * float(np.median(d[d > 0]))) + 1
    if not len(gaps):
        return x, y
    return np.insert(x, gaps, np.nan), np.insert(y, gaps, np.nan)


def _isolated(y: np.ndarray) -> np.ndarray:
    """Finite points with no finite neighbour (a line through them draws nothing)."""
    f = np.isfinite(y)
    prev = np.concatenate([[False], f[:-1]])
    nxt = np.concatenate([f[1:], [False]])
    return f & ~prev & ~nxt


def _y_range(ys: list[np.ndarray], markers: Sequence[Marker]) -> tuple[float, float]:
    vals = [y[np.isfinite(y)] for y in ys] + [np.array([m.y for m in markers], dtype=float)]
    vals = [v[np.isfinite(v)] for v in vals]
    vals = [v for v in vals if len(v)]
    lo, hi = (min(float(v.min()) for v in vals), max(float(v.max()) for v in vals)) if vals \
        else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def _shorten(svg: str) -> str:
    """Smaller SVG text, same drawing: one decimal for coordinates (px at 900 px width;
    matplotlib writes six) and path data on one line, with the ``L`` commands left
    implicit (coordinate pairs after ``M`` are line-tos in SVG)."""
    def attr(m: re.Match) -> str:
        v = _LONG_DECIMAL.sub(lambda n: f"{float(n[0]):.1f}", m[2])
        if m[1].endswith('d="'):
            v = _PATH_L.sub(" ", _PATH_SPACE.sub(" ", v)).strip()
        return m[1] + v + m[3]

    return _GEOMETRY_ATTR.sub(attr, svg)


def line_chart(
    lines: Sequence[Line],
    *,
    title: str,
    y_label: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    markers: Sequence[Marker] = (),
    bands: Sequence[Band] = (),
    width: int = 900,
    height: int = 240,
    zero_line: bool = False,
    chart_id: str | None = None,
) -> str:
    """A ``<figure>`` with an inline SVG line chart (time in s on x) and an HTML legend.

    Lines break where the time between points exceeds 3× their median step (a face
    out of view). Markers, lines and bands carry hover text (SVG ``<title>``).
    ``chart_id`` salts the SVG's internal ids; give each chart of a page its own
    (default: derived from the title). The same arguments always give the same text.
    """
    reduced = []
    bucket = 1
    for l in lines:
        x, y, k = downsample(l.x, l.y)
        bucket = max(bucket, k)
        reduced.append((l, x, y))
    xs_all = [x for _, x, _ in reduced if len(x)]
    if x_range is None:
        x_range = (min(float(x.min()) for x in xs_all), max(float(x.max()) for x in xs_all)) \
            if xs_all else (0.0, 1.0)
    if not x_range[1] > x_range[0]:
        x_range = (x_range[0], x_range[0] + 1.0)
    if y_range is None:
        y_range = _y_range([y for _, _, y in reduced], markers)
    heading = title + (f" (each point: mean of {bucket} frames)" if bucket > 1 else "")
    salt = hashlib.sha256((chart_id or title).encode()).hexdigest()[:12]
    hover: dict[str, str] = {}

    def gid(text: str) -> str:
        key = f"fau-{salt}-{len(hover)}"
        hover[key] = text
        return key

    with _LOCK, matplotlib.rc_context({**_RC, "svg.hashsalt": salt}):
        fig = Figure(figsize=(width / 72, height / 72), dpi=72)  # SVG user unit = 1/72 in
        try:
            fig.subplots_adjust(left=62 / width, right=1 - 14 / width, top=1 - 40 / height,
                                bottom=34 / height)
            ax = fig.add_subplot()
            ax.set_xlim(*x_range)
            ax.set_ylim(*y_range)
            ax.margins(0)
            ax.set_title(heading, loc="left", fontsize=12.5, fontweight="bold",
                         color="#222222", pad=16)  # room for apex markers
            ax.set_xlabel("time (s)", loc="right", labelpad=1)
            ax.set_ylabel(y_label)
            ax.spines[["top", "right"]].set_visible(False)
            ax.grid(axis="y", color="#eeeeee", linewidth=0.8)
            ax.set_axisbelow(True)
            ax.tick_params(length=3, width=0.8)
            top_band = offset_copy(blended_transform_factory(ax.transData, ax.transAxes),
                                   fig=fig, x=2.5, y=-2.5, units="points")
            for b in bands:
                x0, x1 = max(b.x0, x_range[0]), min(b.x1, x_range[1])
                if x1 <= x0:
                    continue
                ax.axvspan(x0, x1, facecolor="#e8eef8", alpha=0.6, edgecolor="#99aabb",
                           linewidth=0.8, zorder=0.5, gid=gid(b.label))
                ax.text(x0, 1.0, b.label[:24], transform=top_band, fontsize=9,
                        color="#555577", va="top", ha="left", clip_on=True,
                        parse_math=False)  # user text: "$5 $10" is not TeX
            if zero_line and y_range[0] < 0 < y_range[1]:
                ax.axhline(0.0, color="#888888", linewidth=0.8, linestyle=(0, (3, 3)), zorder=1)
            for l, x, y in reduced:
                if not len(x):
                    continue
                bx, by = _break_gaps(x, y)
                ax.plot(bx, by, color=l.color, linewidth=1.3, zorder=2, gid=gid(l.name))
                lone = _isolated(by)
                if lone.any():
                    ax.plot(bx[lone], by[lone], linestyle="none", marker="o", markersize=2,
                            color=l.color, zorder=2)
            above = offset_copy(ax.transData, fig=fig, y=7, units="points")
            for m in markers:
                y = min(max(m.y, y_range[0]), y_range[1])
                ax.plot([m.x], [y], linestyle="none", marker="v", markersize=6.5,
                        markeredgewidth=0, color=m.color, transform=above, clip_on=False,
                        zorder=3, gid=gid(m.text))
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata=_METADATA)
        finally:
            fig.clear()  # free artists now, not at the next garbage collection
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'\swidth="[\d.]+pt" height="[\d.]+pt"',
                 f' width="100%" role="img" aria-label="{escape(title)}" class="chart"', svg,
                 count=1)
    svg = re.sub(f'<g id="(fau-{salt}-\\d+)">',
                 lambda m: f"<g><title>{escape(hover[m[1]])}</title>", svg)
    svg = _shorten(_AUTO_ID.sub("", _BETWEEN_TAGS.sub("><", svg)))
    # matplotlib's page-wide ``*{stroke-linejoin...}`` rule, scoped to the charts
    svg = svg.replace('<style type="text/css">*{', '<style type="text/css">.chart *{', 1)
    legend = "".join(
        f'<span class="lgi"><i style="background:{l.color}"></i>{escape(l.name)}</span>'
        for l in lines
    )
    return (f'<figure class="fig">\n{svg.strip()}\n'
            f'<figcaption class="lg">{legend}</figcaption></figure>')
