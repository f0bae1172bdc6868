"""Timeline of one face track: segments, expression probabilities and one strip per AU.

Readable at any length: every series is reduced to the figure's resolution by
`fau.plot.bins.bin_series` (per time bin the mean is drawn as a line and the min–max range
as a band, so brief peaks stay visible); each AU has its own strip, its own scale and its
own unit (AU45 in neutral eye openings, the others in IOD), so labels never overlap;
event apexes are marked on the AU's strip, thinned to the largest `MAX_EVENT_MARKS` per
strip; segment labels are written only where they fit, colours repeat for repeated labels
(every segment also has a hover text in the HTML report). Stretches where the track's
rows break the quality rule (`fau.plot.quality`) are hatched.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from ..expression.labels import EXPRESSIONS
from .bins import MAX_BINS, Binned, bin_series, sampling_interval
from .quality import quality_bins, time_range
from .style import (PALETTE, au_names, check_faces, check_t_range, check_width, format_time,
                    label_colors, new_figure, span_step, time_axis)
from .tips import add_tip
from .units import au_unit, au_unit_short

__all__ = ["timeline", "track_aus", "MAX_EVENT_MARKS", "SEGMENT_ROW_PX", "STRIP_PX"]

#: Most event apexes marked per AU strip (the largest peaks; all are in the events table).
MAX_EVENT_MARKS = 40
#: Heights (px) of the segment row, the expression panel and one AU strip.
SEGMENT_ROW_PX, EXPRESSION_PX, STRIP_PX = 22, 96, 30
#: Height (px) of the expression legend row above the expression panel.
LEGEND_PX = 16
#: Margins (px): left (strip labels), right (scales), top, bottom (time axis).
LEFT_PX, RIGHT_PX, TOP_PX, BOTTOM_PX = 92, 52, 10, 30
#: Narrowest figure (px): the margins plus a 100 px plot area.
MIN_WIDTH_PX = LEFT_PX + RIGHT_PX + 100
#: Columns of an events table that the event marks read.
EVENT_NEEDS = ("track_id", "kind", "name", "onset", "apex", "offset", "peak")
#: Text width per character at 8 pt, px (DejaVu Sans averages about 0.6 em).
_CHAR_PX = 5.0
_AU_COLOR, _EVENT_COLOR, _SPEECH_COLOR = "#0072B2", "#D55E00", "#E8A27C"


def track_aus(df: pd.DataFrame) -> list[str]:
    """The bilateral AUs of a table in fau's order (``AU01`` … ``AU45``)."""
    from ..video.temporal import BILATERAL_AUS

    return [a for a in BILATERAL_AUS if a in df.columns]


def _series_column(df: pd.DataFrame, name: str) -> str:
    """``name_rel`` (baseline-relative) when present, else ``name_smooth``, else ``name``."""
    for c in (f"{name}_rel", f"{name}_smooth", name):
        if c in df.columns:
            return c
    return name


def _pick_track(df: pd.DataFrame, track: int | Sequence[int] | None) -> pd.DataFrame:
    """The rows of one track (default: the one with the most rows) or of several."""
    from ..errors import FauError

    if "track_id" not in df.columns or df.empty:
        return df
    if track is None:
        track = int(df["track_id"].value_counts().idxmax())
    tracks = [int(track)] if np.isscalar(track) else [int(t) for t in track]
    g = df[df["track_id"].isin(tracks)]
    if g.empty:
        raise FauError(f"no rows for track(s) {tracks}; tracks: {sorted(df['track_id'].unique())}")
    return g.sort_values("timestamp", kind="stable")


def _bin_tracks(g: pd.DataFrame, col: str, t_range, n: int = MAX_BINS) -> Binned:
    """`bin_series` of ``col`` for each track of ``g``, joined with a break (NaN) between.

    Several tracks are one face at a time, each relative to its own baseline: one series
    over all their rows joined one track's last value to the next one's first (and averaged
    both in a shared bin); per track, the line breaks where a track ends.
    """
    t = g["timestamp"].to_numpy(dtype=float)
    if "track_id" not in g.columns or g["track_id"].nunique() < 2:
        return bin_series(t, g[col].to_numpy(dtype=float), t_range=t_range, n=n)
    # the bins of the whole series, as one track would have them
    reduce, step = len(np.unique(t[np.isfinite(t)])) > n, sampling_interval(t)
    parts = [bin_series(h["timestamp"].to_numpy(dtype=float), h[col].to_numpy(dtype=float),
                        t_range=t_range, n=n, min_width=step, reduce=reduce)
             for _, h in g.groupby("track_id", sort=False)]
    xs: list = []
    lo: list = []
    mean: list = []
    hi: list = []
    count: list = []
    for b in parts:
        if b.reduced:  # only the bins of the track's own stretch of the time axis
            seen = np.flatnonzero(b.count > 0)
            k = slice(seen[0], seen[-1] + 1) if len(seen) else slice(0, 0)
            b = Binned(b.x[k], b.lo[k], b.mean[k], b.hi[k], b.count[k], b.width)
        if xs and len(b.x):  # the break between two tracks
            for v, w in ((xs, b.x[:1]), (lo, [np.nan]), (mean, [np.nan]), (hi, [np.nan]),
                         (count, [0])):
                v.append(w)
        for v, w in ((xs, b.x), (lo, b.lo), (mean, b.mean), (hi, b.hi), (count, b.count)):
            v.append(w)
    return Binned(*(np.concatenate(v).astype(float) for v in (xs, lo, mean, hi)),
                  np.concatenate(count).astype(int), max(b.width for b in parts))


def _has_expressions(g: pd.DataFrame) -> bool:
    cols = [_series_column(g, e) for e in EXPRESSIONS]
    return all(c in g.columns for c in cols) and len(g) > 0 and \
        bool(np.isfinite(g[cols].to_numpy(dtype=float)).any())


def _layout(fig: Figure, rows: list[tuple[str, float, float]], width: float,
            height: float) -> dict:
    """Axes stacked top to bottom, one per ``(key, height_px, legend_px_above)``, sharing
    the x axis."""
    axes, y = {}, height - TOP_PX
    first = None
    for key, h, above in rows:
        y -= h + above
        rect = (LEFT_PX / width, y / height, 1 - (LEFT_PX + RIGHT_PX) / width, h / height)
        ax = fig.add_axes(rect, sharex=first)
        first = first or ax
        axes[key] = ax
        y -= 4 if key != "aus" else 0
    return axes


def _legend_rows(labels: list[str], width_px: float) -> tuple[int, int]:
    """(rows, entries per row) of a legend of ``labels`` across the plot width."""
    room = width_px - LEFT_PX - RIGHT_PX
    per_row = max(int(room // (max(len(x) for x in labels) * _CHAR_PX + 26)), 1)
    return int(np.ceil(len(labels) / per_row)), per_row


def _segments_row(ax, segments: pd.DataFrame, t_range, width_px: float, tips) -> None:
    from .heatmap import natural_key

    colors = label_colors(sorted(dict.fromkeys(str(s) for s in segments["label"]),
                                 key=natural_key))
    px_per_s = (width_px - LEFT_PX - RIGHT_PX) / max(t_range[1] - t_range[0], 1e-9)
    placed_until = -np.inf
    for r in segments.itertuples():
        a, b = max(float(r.start), t_range[0]), min(float(r.end), t_range[1])
        if b <= a:
            continue
        label = str(r.label)
        patch = ax.axvspan(a, b, color=colors[label], alpha=0.35, linewidth=0)
        step = span_step(r.start, r.end)
        add_tip(tips, patch, f"{label}: {format_time(r.start, step)} – "
                f"{format_time(r.end, step)}")
        room = (b - a) * px_per_s - 6
        if room >= 4 * _CHAR_PX and a * px_per_s >= placed_until:
            fit = int(room // _CHAR_PX)
            text = label if len(label) <= fit else label[: max(fit - 1, 1)] + "…"
            ax.text(a, 0.5, " " + text, va="center", ha="left", fontsize=8, color="#333333",
                    clip_on=True, parse_math=False)
            placed_until = (a * px_per_s) + len(text) * _CHAR_PX + 6
    distinct = list(colors)
    if len(distinct) < len(segments) and len(distinct) <= len(PALETTE):  # labels repeat
        from matplotlib.patches import Patch

        _, per_row = _legend_rows(distinct, width_px)
        legend = ax.legend(handles=[Patch(color=colors[x], alpha=0.5, label=x) for x in distinct],
                           loc="lower left", bbox_to_anchor=(0, 1.0), ncol=per_row,
                           frameon=False, fontsize=7.5, handlelength=1.0, handletextpad=0.3,
                           columnspacing=0.9, borderaxespad=0.1)
        for text in legend.get_texts():
            text.set_parse_math(False)  # a label is the user's text ("$5 or $6"), not TeX
    ax.set_yticks([])
    ax.set_ylim(0, 1)
    ax.text(-0.01, 0.5, "segments", transform=ax.transAxes, ha="right", va="center",
            fontsize=8.5, color="#444444")
    for s in ax.spines.values():
        s.set_visible(False)


def _expression_panel(ax, g: pd.DataFrame, events: pd.DataFrame, t_range, tips) -> None:
    binned = [_bin_tracks(g, _series_column(g, e), t_range) for e in EXPRESSIONS]
    x = binned[0].x
    ys = np.vstack([b.mean for b in binned])
    polys = ax.stackplot(x, ys, colors=[PALETTE[i] for i in range(len(EXPRESSIONS))],
                         labels=list(EXPRESSIONS), alpha=0.85, linewidth=0)
    for p, e in zip(polys, EXPRESSIONS):
        add_tip(tips, p, f"{e} (smoothed probability)")
    ax.set_ylim(0, 1)
    ax.set_yticks([0, 0.5, 1])
    ax.tick_params(axis="y", labelsize=7.5)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(EXPRESSIONS), frameon=False,
              fontsize=7.5, handlelength=1.0, handletextpad=0.3, columnspacing=0.9,
              borderaxespad=0.1)
    ax.text(-0.035, 0.5, "expression\n(probability)", transform=ax.transAxes, ha="right",
            va="center", fontsize=8.5, color="#444444")
    ev = events[events["kind"] == "expression"] if len(events) else events
    _event_marks(ax, ev, lambda r: PALETTE[EXPRESSIONS.index(r.name)] if r.name in EXPRESSIONS
                 else "#333333", lambda r: f"{r.name} {r.peak:.2f}", tips)


def _during_speech(event) -> bool:
    """The event's ``during_speech`` flag (False when the column is absent or NA)."""
    v = getattr(event, "during_speech", False)
    return False if v is None or pd.isna(v) else bool(v)


def _event_marks(ax, ev: pd.DataFrame, color, what, tips, limit: int = MAX_EVENT_MARKS,
                 y: float | None = None) -> int:
    """Triangles at event apexes (the ``limit`` largest peaks): at the top of ``ax``, or
    at data height ``y``."""
    if ev is None or not len(ev):
        return 0
    ev = ev.nlargest(limit, "peak") if len(ev) > limit else ev
    where = ax.transData if y is not None else \
        blended_transform_factory(ax.transData, ax.transAxes)
    for r in ev.itertuples():
        hollow = _during_speech(r)
        (m,) = ax.plot([r.apex], [0.97 if y is None else y], transform=where, linestyle="none",
                       marker="v", markersize=5, markeredgewidth=0.8, clip_on=False, zorder=4,
                       color=color(r), markerfacecolor="none" if hollow else color(r))
        step = span_step(r.onset, r.offset)
        add_tip(tips, m, f"{what(r)} at {format_time(r.apex, step)} "
                f"({format_time(r.onset, step)} – {format_time(r.offset, step)})"
                + (", during speech" if hollow else ""))
    return len(ev)


def _limits(b: Binned) -> tuple[float, float]:
    """A strip's value range: its data with 0 included."""
    lo = float(np.nanmin(b.lo)) if np.isfinite(b.lo).any() else 0.0
    hi = float(np.nanmax(b.hi)) if np.isfinite(b.hi).any() else 1.0
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    return lo, (hi if hi - lo > 1e-9 else lo + 1e-3)


def _au_strip(ax, row: int, name: str, b: Binned, ev: pd.DataFrame, tips) -> None:
    """AU ``name`` in band ``row`` (``[row, row + 1)`` of the strips' y axis) with its own
    scale: values ``lo … hi`` map to ``row + 0.06 … row + 0.84`` (event marks above)."""
    unit, short = au_unit(name), au_unit_short(name)
    lo, hi = _limits(b)

    def y(v):
        return row + 0.06 + (np.asarray(v, dtype=float) - lo) * (0.78 / (hi - lo))

    if b.reduced:
        band = ax.fill_between(b.x, y(b.lo), y(b.hi), color=_AU_COLOR, alpha=0.28, linewidth=0)
        add_tip(tips, band, f"{name}: min–max per {b.width:.3g} s bin ({unit})")
    (line,) = ax.plot(b.x, y(b.mean), color=_AU_COLOR, linewidth=0.9)
    add_tip(tips, line, f"{name} ({unit}" + (", mean per bin)" if b.reduced else ")"))
    ax.axhline(float(y(0.0)), color="#999999", linewidth=0.6, linestyle=(0, (2, 2)), zorder=1)
    ax.axhline(row, color="#bbbbbb", linewidth=0.6, zorder=1)
    side = blended_transform_factory(ax.transAxes, ax.transData)
    for v, va in ((hi, "top"), (lo, "bottom")):
        if abs(v) > 1e-9:
            ax.text(1.004, float(y(v)) + (0.04 if va == "top" else -0.04), f"{v:+.2f}"
                    if abs(v) >= 0.01 else f"{v:+.3f}", transform=side, ha="left", va=va,
                    fontsize=7, color="#444444")
    ax.text(-0.01, row + 0.58, name, transform=side, ha="right", va="center", fontsize=9,
            fontweight="bold", color="#222222")
    ax.text(-0.01, row + 0.16, short, transform=side, ha="right", va="center", fontsize=7,
            color="#666666")
    mine = ev[(ev["kind"] == "au") & (ev["name"] == name)] if len(ev) else ev
    n = _event_marks(ax, mine, lambda r: _SPEECH_COLOR if _during_speech(r) else _EVENT_COLOR,
                     lambda r: f"{name} {r.peak:+.3f} {unit}", tips, y=row + 0.93)
    if len(mine) > n:
        ax.text(0.999, row + 0.99, f"{n}/{len(mine)} ev.", transform=side, ha="right",
                va="top", fontsize=6.5, color="#888888")


def _au_strips(ax, g: pd.DataFrame, names: list[str], ev, t_range, n_bins: int, tips) -> None:
    """Every AU strip in one axes (top to bottom in ``names`` order): one axes instead of
    one per AU keeps figures of 20+ AUs fast to build and small as SVG."""
    for i, name in enumerate(names):
        b = _bin_tracks(g, _series_column(g, name), t_range, n_bins)
        _au_strip(ax, len(names) - 1 - i, name, b, ev, tips)
    ax.set_ylim(0, max(len(names), 1))
    ax.yaxis.set_visible(False)
    ax.spines[["top", "left", "right"]].set_visible(False)


def _hatch_doubtful(axes, g: pd.DataFrame, t_range) -> None:
    q = quality_bins(g, t_range=t_range)
    bad = q[q["doubtful_share"].fillna(0) > 0.5]
    for a, b in bad[["start", "end"]].itertuples(index=False):
        for ax in axes:
            ax.axvspan(a, b, facecolor="#000000", alpha=0.07, linewidth=0, zorder=0.5)


def timeline(
    df: pd.DataFrame,
    *,
    track: int | Sequence[int] | None = None,
    events: pd.DataFrame | None = None,
    segments: pd.DataFrame | Sequence | str | None = None,
    aus: Sequence[str] | None = None,
    expressions: bool = True,
    t_range: tuple[float, float] | None = None,
    width_px: int = 900,
    n_bins: int = MAX_BINS,
    tooltips: dict[str, str] | None = None,
) -> Figure:
    """One face track over time: segments, expression probabilities, an AU strip each.

    Parameters
    ----------
    df : DataFrame
        A `fau.Detector.detect_video` table (baseline-relative ``AUxx_rel`` columns are
        drawn when present, else smoothed, else raw AUs).
    track : int, sequence of int or None
        ``track_id`` to draw (default: the track with the most rows); several tracks that
        never overlap in time (one person split by cut-aways) are drawn as one series,
        each relative to its own baseline.
    events : DataFrame or None
        `fau.video.find_events` output (default: computed from ``df``); pass an empty
        DataFrame for no event marks.
    segments : DataFrame, list, CSV path or None
        Anything `fau.video.read_segments` accepts; drawn as a coloured row on top.
    aus : str, sequence of str or None
        AUs to draw (default: the 22 AUs of `fau.video.temporal.BILATERAL_AUS` present).
    expressions : bool
        Draw the stacked expression probabilities (when the table has them).
    t_range : (float, float) or None
        Time span in seconds (default: the analysed window of the video).
    width_px : int
        Figure width in pixels (72 per inch); the height follows from the rows.
    n_bins : int
        Most time bins per series (see `fau.plot.bins`).
    tooltips : dict or None
        Filled with hover texts for SVG output (see `fau.plot.tips`).

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot; displays itself in a notebook.

    Raises
    ------
    FauError
        Not a video table, a table without rows (no face found), an unknown track or AU,
        an events table without the columns drawn, ``width_px`` below `MIN_WIDTH_PX`, or a
        ``t_range`` that is not finite with end > start.
    """
    from ..video.temporal import check_video_table

    check_video_table(df, "timeline", empty_ok=False)
    check_faces(len(df), "timeline")
    from ..errors import FauError
    from ..video.segments import read_segments
    from ..video.temporal import find_events

    width_px = check_width(width_px, MIN_WIDTH_PX, "timeline")
    t_range = check_t_range(t_range, "timeline") or time_range(df)
    if events is not None:
        check_video_table(events, "timeline: events", EVENT_NEEDS, kind="a find_events table")
    aus = au_names(aus)
    unknown = [a for a in (aus or []) if a not in df.columns]
    if unknown:
        raise FauError(f"timeline: no column for {', '.join(map(str, unknown))}; AUs in the "
                       f"table: {', '.join(track_aus(df)) or 'none'}")
    g = _pick_track(df, track)
    seg = read_segments(segments) if segments is not None else None
    if events is None:
        events = find_events(df) if len(df) else pd.DataFrame(columns=["track_id"])
    ev = events[events["track_id"].isin(g["track_id"].unique())] if len(events) and len(g) \
        else events.iloc[0:0]
    names = [a for a in (aus or track_aus(df)) if a in g.columns]
    show_expr = expressions and _has_expressions(g)
    rows = []
    if seg is not None and len(seg):
        labels = list(dict.fromkeys(str(x) for x in seg["label"]))
        repeated = len(labels) < len(seg) and len(labels) <= len(PALETTE)
        rows.append(("segments", SEGMENT_ROW_PX,
                     LEGEND_PX * _legend_rows(labels, width_px)[0] if repeated else 0))
    rows += [("expression", EXPRESSION_PX, LEGEND_PX)] if show_expr else []
    rows += [("aus", STRIP_PX * len(names), 0)] if names else []
    height = TOP_PX + BOTTOM_PX + sum(h + above + 4 for _, h, above in rows)
    fig = new_figure(width_px, height)
    axes = _layout(fig, rows, width_px, height)
    for key, ax in axes.items():
        ax.spines[["top"]].set_visible(False)
        if key == "segments":
            _segments_row(ax, seg, t_range, width_px, tooltips)
        elif key == "expression":
            _expression_panel(ax, g, ev, t_range, tooltips)
        else:
            _au_strips(ax, g, names, ev, t_range, n_bins, tooltips)
    last = list(axes.values())[-1] if axes else fig.add_axes((0.1, 0.3, 0.8, 0.5))
    for ax in axes.values():
        ax.xaxis.set_visible(ax is last)  # one time axis (hidden axes draw no ticks)
    time_axis(last, t_range)
    last.set_xlabel("time", fontsize=8.5, color="#444444", labelpad=1, loc="right")
    if len(g):
        _hatch_doubtful([ax for k, ax in axes.items() if k != "segments"], g, t_range)
    return fig
