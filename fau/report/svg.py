"""Small, dependency-free SVG line charts for the HTML report.

The report is one self-contained HTML file; charts are inline SVG written here rather
than by matplotlib or plotly (neither is a fau dependency; plotly's inline bundle would
add ~3.5 MB of JavaScript to every report). Long series are reduced to at most
`MAX_POINTS` points per line by averaging equal time buckets (the chart says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Sequence

import numpy as np

__all__ = ["Line", "Marker", "Band", "line_chart", "MAX_POINTS", "PALETTE", "downsample"]

#: Most points drawn per line (a 1-hour 30 fps track has 108,000 frames).
MAX_POINTS = 1200
#: Colour-blind-safe categorical palette (Okabe & Ito 2008), then greys.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
           "#F0E442", "#000000", "#999999", "#7F3C8D", "#11A579", "#3969AC")


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


@dataclass
class _Axes:
    x0: float
    x1: float
    y0: float
    y1: float
    left: int = 56
    right: int = 12
    top: int = 26
    bottom: int = 34
    width: int = 900
    height: int = 240
    extra: dict = field(default_factory=dict)

    def px(self, x: np.ndarray | float) -> np.ndarray | float:
        w = self.width - self.left - self.right
        return self.left + (np.asarray(x, dtype=float) - self.x0) / max(self.x1 - self.x0, 1e-12) * w

    def py(self, y: np.ndarray | float) -> np.ndarray | float:
        h = self.height - self.top - self.bottom
        return self.top + (self.y1 - np.asarray(y, dtype=float)) / max(self.y1 - self.y0, 1e-12) * h


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


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((s * mag for s in (1, 2, 2.5, 5, 10) if s * mag >= raw), default=10 * mag)
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 10) for i in range(int((hi - start) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    if abs(v) >= 100 or v == int(v):
        return f"{v:.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _gap_paths(xs: np.ndarray, ys: np.ndarray, gap: float) -> list[str]:
    """Polyline point strings, broken at NaNs and at time gaps longer than ``gap``."""
    paths, cur = [], []
    prev_x = None
    for x, y in zip(xs, ys):
        if not math.isfinite(y) or (prev_x is not None and x - prev_x > gap):
            if len(cur) > 1:
                paths.append(" ".join(cur))
            cur = []
        if math.isfinite(y):
            cur.append(f"{x:.1f},{y:.1f}")
        prev_x = x
    if len(cur) > 1:
        paths.append(" ".join(cur))
    elif len(cur) == 1:
        paths.append(cur[0] + " " + cur[0])
    return paths


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
) -> str:
    """A ``<figure>`` with an inline SVG line chart (time in s on x) and an HTML legend.

    Lines break where the time between points exceeds 3× their median step (a face
    out of view). Markers carry hover text (SVG ``<title>``).
    """
    xs_all = [np.asarray(l.x, dtype=float) for l in lines if len(l.x)]
    if x_range is None:
        if xs_all:
            x_range = (min(float(x.min()) for x in xs_all), max(float(x.max()) for x in xs_all))
        else:
            x_range = (0.0, 1.0)
    if x_range[1] <= x_range[0]:
        x_range = (x_range[0], x_range[0] + 1.0)
    reduced = []
    bucket = 1
    for l in lines:
        x, y, k = downsample(l.x, l.y)
        bucket = max(bucket, k)
        reduced.append((l, x, y))
    if y_range is None:
        vals = [y[np.isfinite(y)] for _, _, y in reduced]
        vals = [v for v in vals if len(v)] + [np.array([m.y for m in markers])] if markers else \
            [v for v in vals if len(v)]
        vals = [v for v in vals if len(v)]
        if vals:
            lo = min(float(v.min()) for v in vals)
            hi = max(float(v.max()) for v in vals)
        else:
            lo, hi = 0.0, 1.0
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        pad = 0.05 * (hi - lo)
        y_range = (lo - pad, hi + pad)
    ax = _Axes(x_range[0], x_range[1], y_range[0], y_range[1], width=width, height=height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" aria-label="{escape(title)}" class="chart">']
    out.append(f'<text x="{ax.left}" y="16" class="ct">{escape(title)}'
               + (f" (each point: mean of {bucket} frames)" if bucket > 1 else "") + "</text>")
    bottom = height - ax.bottom
    for b in bands:
        x0, x1 = float(ax.px(max(b.x0, ax.x0))), float(ax.px(min(b.x1, ax.x1)))
        if x1 <= x0:
            continue
        out.append(f'<rect x="{x0:.1f}" y="{ax.top}" width="{x1 - x0:.1f}" '
                   f'height="{bottom - ax.top}" class="band"><title>{escape(b.label)}</title></rect>')
        out.append(f'<text x="{x0 + 2:.1f}" y="{ax.top + 10}" class="bl">{escape(b.label[:24])}</text>')
    for v in _nice_ticks(ax.y0, ax.y1):
        y = float(ax.py(v))
        out.append(f'<line x1="{ax.left}" x2="{width - ax.right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{ax.left - 4}" y="{y + 3:.1f}" class="yt">{_fmt(v)}</text>')
    for v in _nice_ticks(ax.x0, ax.x1, 8):
        x = float(ax.px(v))
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" class="axis"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 15}" class="xt">{_fmt(v)}</text>')
    if zero_line and ax.y0 < 0 < ax.y1:
        y = float(ax.py(0.0))
        out.append(f'<line x1="{ax.left}" x2="{width - ax.right}" y1="{y:.1f}" y2="{y:.1f}" class="zero"/>')
    out.append(f'<line x1="{ax.left}" x2="{width - ax.right}" y1="{bottom}" y2="{bottom}" class="axis"/>')
    out.append(f'<line x1="{ax.left}" x2="{ax.left}" y1="{ax.top}" y2="{bottom}" class="axis"/>')
    out.append(f'<text x="{width - ax.right}" y="{height - 4}" class="xl">time (s)</text>')
    out.append(f'<text transform="translate(12,{(ax.top + bottom) / 2:.0f}) rotate(-90)" '
               f'class="yl">{escape(y_label)}</text>')
    for l, x, y in reduced:
        d = np.diff(np.asarray(x, dtype=float))
        step = float(np.median(d[d > 0])) if (d > 0).any() else 1.0
        px, py = ax.px(x), ax.py(np.clip(y, ax.y0, ax.y1))
        py = np.where(np.isfinite(y), py, np.nan)
        for pts in _gap_paths(np.asarray(px), np.asarray(py), gap=3 * step / max(ax.x1 - ax.x0, 1e-12)
                              * (width - ax.left - ax.right)):
            out.append(f'<polyline points="{pts}" fill="none" stroke="{l.color}" stroke-width="1.3">'
                       f"<title>{escape(l.name)}</title></polyline>")
    for m in markers:
        x, y = float(ax.px(m.x)), float(ax.py(min(max(m.y, ax.y0), ax.y1)))
        out.append(f'<path d="M{x:.1f},{y - 7:.1f} l-4,-7 h8 z" fill="{m.color}" class="mk">'
                   f"<title>{escape(m.text)}</title></path>")
    out.append("</svg>")
    legend = "".join(
        f'<span class="lgi"><i style="background:{l.color}"></i>{escape(l.name)}</span>'
        for l in lines
    )
    out = ['<figure class="fig">'] + out + [f'<figcaption class="lg">{legend}</figcaption></figure>']
    return "\n".join(out)
