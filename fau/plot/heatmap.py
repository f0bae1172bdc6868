"""Heatmap of baseline-relative AU means: segments (or time bins) × AUs.

Rows are the segments of `fau.video.summarize_segments` (the same numbers as the segment
CSV) — or, for a video without segments, equal time bins of a round length — and, with
``group=True``, the segments that share a label pooled into one row (a frame-weighted mean,
i.e. the mean over all their frames: "all answers to question 3"). Cells are
``AUxx_mean`` of one face track: the mean of ``AUxx_rel``, the person's change from their
own neutral baseline. The colour scale is diverging and centred on 0 (blue below the
baseline, red above) with its own colour bar per unit: the IOD AUs share one scale and
AU45 (neutral eye openings) has its own, each symmetric at the 98th percentile of the
absolute cell values, so that one outlier cannot wash the rest out (cells beyond are
drawn at the end colour and keep their value in the hover text).
"""

from __future__ import annotations

import math
import re
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .style import (DIVERGING, au_names, check_faces, check_width, format_time, new_figure,
                    span_step, t_range_numbers)
from .tips import add_tip
from .units import au_unit

__all__ = ["au_heatmap", "heatmap_table", "time_bin_segments", "bin_label", "natural_key",
           "BIN_STEPS_S", "MAX_ROWS"]

#: Candidate time-bin lengths (s) for videos without segments.
BIN_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
#: Most rows aimed at when choosing a time-bin length.
MAX_ROWS = 36
#: Percentile of |cell value| at which each colour scale saturates.
SATURATE_PERCENTILE = 98.0
#: Cell and margin sizes (px).
ROW_PX, LEFT_PX, TOP_PX, BOTTOM_PX, RIGHT_PX = 16, 150, 34, 66, 16
#: Narrowest figure (px): the margins, the gap and second colour bar (60 px) and 110 px
#: of cells (a colour bar is at least 110 px wide).
MIN_WIDTH_PX = LEFT_PX + RIGHT_PX + 60 + 110


def time_bin_segments(t_range: tuple[float, float], max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Segments of a round length (`BIN_STEPS_S`) on a grid of whole steps from 0 s,
    covering ``t_range`` (s): the first starts at the step at or before the range's start
    (segments cannot start before 0; a timestamp a rounding error below 0 is left out), the
    last ends at the range's end. Each is labelled with its times (`bin_label`). A range
    that is not two finite numbers of seconds is a `FauError`."""
    a, b = t_range_numbers(t_range, "time_bin_segments")
    lo = max(a, 0.0)
    # a window that ends at or before 0 s still gets one (1 ms) segment, not an empty one
    t_range = (lo, max(b, lo + 1e-3))
    span = max(t_range[1] - t_range[0], 1e-9)
    step = next((s for s in BIN_STEPS_S if span / s <= max_rows), BIN_STEPS_S[-1])
    # on the grid of whole steps: a clip whose first frame is at 0.027 s has "0 s–1 s",
    # "1 s–2 s", not 0.027-1.027 s labelled so (a row more at most, for an off-grid start)
    first = step * math.floor(lo / step + 1e-9)
    starts = first + step * np.arange(int(np.ceil((t_range[1] - first) / step - 1e-9)) or 1)
    ends = np.minimum(starts + step, t_range[1])
    # the last segment ends at the last timestamp, also when that lies a rounding error
    # past a multiple of the step (300 * (1/30) s can be 10.000000000000002)
    ends[-1] = t_range[1]
    return pd.DataFrame({"start": starts, "end": ends,
                         "label": [bin_label(s, e) for s, e in zip(starts, ends)]})


def bin_label(start: float, end: float) -> str:
    """``"start–end"`` (s) in whole seconds when both are whole, else in tenths, else to
    the millisecond when tenths would still read the same twice: a last bin 4–4.4 s is
    "4.0 s–4.4 s", not "4 s–4 s"."""
    whole = all(abs(v - round(v)) < 5e-4 for v in (float(start), float(end)))
    for step in ((1.0, 0.1) if whole else (0.1,)):
        a, b = format_time(start, step), format_time(end, step)
        if a != b:
            return f"{a}–{b}"
    return f"{start:.3f}–{end:.3f} s"


def natural_key(label: str) -> list:
    """Sort key that puts ``"question 10"`` after ``"question 9"``."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", str(label))]


def _pool(rows: pd.DataFrame, key: str, names: list[str], order) -> pd.DataFrame:
    """Frame-weighted means of the ``AUxx_mean`` columns over the rows sharing ``key``."""
    w = rows["frames"].to_numpy(dtype=float)
    vals = rows[[f"{a}_mean" for a in names]].to_numpy(dtype=float)
    out = []
    for value in order(rows[key].unique()):
        k = (rows[key] == value).to_numpy()
        ok = np.isfinite(vals[k]) & (w[k, None] > 0)
        num = np.where(ok, vals[k] * w[k, None], 0.0).sum(axis=0)
        den = np.where(ok, w[k, None], 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(den > 0, num / den, np.nan)
        first = rows[k].iloc[0]
        out.append({key: value, "label": first["label"], "start": first["start"],
                    "end": first["end"], **{f"{a}_mean": m for a, m in zip(names, mean)},
                    "frames": int(w[k].sum()), "segments": int(rows["segments"][k].sum()),
                    "seconds": float(rows["seconds"][k].sum())})
    return pd.DataFrame(out)


def heatmap_table(
    summary: pd.DataFrame,
    *,
    track: int | Sequence[int] | None = None,
    group: bool = False,
    aus: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The numbers behind `au_heatmap`: one row per segment (or label), one column per AU.

    Parameters
    ----------
    summary : DataFrame
        `fau.video.summarize_segments` output.
    track : int, sequence of int or None
        ``track_id`` (default: the track with the most frames). Several tracks (e.g. one
        person split into tracks by cut-aways) are pooled per segment, frame-weighted;
        each track's values stay relative to its own baseline.
    group : bool
        Pool the segments that share a label (frame-weighted mean).
    aus : str, sequence of str or None
        AUs (default: every ``AUxx_mean`` column, in the summary's order).

    Returns
    -------
    DataFrame
        Index: row labels (the label; ``"label · start"`` for a repeated label);
        columns: AU names (values: mean change from the baseline, in
        each AU's unit), plus ``frames``, ``segments`` (count) and ``seconds`` (total span).

    Raises
    ------
    FauError
        Not a summary table, an AU without an ``AUxx_mean`` column, or a ``track`` with no
        row in it.
    """
    from ..video.temporal import check_video_table

    check_video_table(summary, "heatmap_table", ("segment", "track_id", "frames"),
                      kind="a summarize_segments table", empty_ok=False)
    from ..errors import FauError

    s = summary[summary["track_id"] >= 0] if "track_id" in summary.columns else summary
    given = track is not None
    if track is None and len(s):
        track = int(s.groupby("track_id")["frames"].sum().idxmax())
    tracks = [int(track)] if np.isscalar(track) else [int(t) for t in (track or [])]
    if given and not s["track_id"].isin(tracks).any():
        have = sorted(int(t) for t in s["track_id"].unique())
        raise FauError(f"heatmap_table: no rows for track(s) {tracks} in the summary "
                       f"(no frame of theirs in any segment); tracks with rows: "
                       f"{have or 'none'}")
    s = s[s["track_id"].isin(tracks)]
    known = [c[:-5] for c in summary.columns if c.endswith("_mean") and c.startswith("AU")]
    aus = au_names(aus)
    unknown = [a for a in (aus or []) if f"{a}_mean" not in summary.columns]
    if unknown:
        raise FauError(f"heatmap_table: the summary has no {', '.join(map(str, unknown))} "
                       f"(no _mean column); AUs in it: {', '.join(known) or 'none'}")
    names = list(aus) if aus else known
    rows = s.assign(seconds=s["end"] - s["start"], segments=1, label=s["label"].astype(str))
    if "segment" not in rows.columns:
        rows = rows.assign(segment=np.arange(len(rows)))
    rows = _pool(rows, "segment", names, sorted)
    if group and len(rows):
        rows = _pool(rows, "label", names, lambda v: sorted(v, key=natural_key))
        index = pd.Index(rows["label"], name="label")
    else:
        dup = set(rows["label"][rows["label"].duplicated()]) if len(rows) else set()
        index = pd.Index([f"{r.label} · {format_time(r.start, span_step(r.start, r.end))}"
                          if r.label in dup else
                          r.label or bin_label(r.start, r.end)
                          for r in rows.itertuples()] if len(rows) else [], name="segment")
    if not len(rows):
        return pd.DataFrame(columns=[*names, "frames", "segments", "seconds"])
    out = rows[[f"{a}_mean" for a in names]].set_axis(names, axis=1)
    out = out.assign(frames=rows["frames"].to_numpy(), segments=rows["segments"].to_numpy(),
                     seconds=rows["seconds"].to_numpy())
    out.index = index
    return out


def _scale(values: np.ndarray) -> float:
    v = np.abs(values[np.isfinite(values)])
    return float(np.percentile(v, SATURATE_PERCENTILE)) if len(v) and v.max() > 0 else 1.0


def au_heatmap(
    summary: pd.DataFrame,
    *,
    track: int | Sequence[int] | None = None,
    group: bool = False,
    aus: Sequence[str] | None = None,
    title: str | None = None,
    width_px: int = 900,
    tooltips: dict[str, str] | None = None,
) -> Figure:
    """Segments (or labels) × AUs, coloured by the mean change from the baseline.

    Parameters
    ----------
    summary : DataFrame
        `fau.video.summarize_segments` output (use `time_bin_segments` as the segments
        of a video without any).
    track, group, aus
        See `heatmap_table`.
    title : str or None
        Heading written above the grid.
    width_px : int
        Figure width in pixels; the height grows with the rows (`ROW_PX` each).
    tooltips : dict or None
        Filled with hover texts (one per cell) for SVG output (see `fau.plot.tips`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    FauError
        As `heatmap_table`, ``width_px`` below `MIN_WIDTH_PX`, or a summary with no
        face rows (`fau.plot.style.check_faces`; `heatmap_table` gives an empty table).
    """
    from ..video.temporal import check_video_table

    check_video_table(summary, "au_heatmap", ("segment", "track_id", "frames"),
                      kind="a summarize_segments table", empty_ok=False)
    width_px = check_width(width_px, MIN_WIDTH_PX, "au_heatmap")
    table = heatmap_table(summary, track=track, group=group, aus=aus)
    check_faces(len(table), "au_heatmap")
    names = [c for c in table.columns if c not in ("frames", "segments", "seconds")]
    iod = [a for a in names if au_unit(a) != au_unit("AU45")]
    eye = [a for a in names if a not in iod]
    n = len(table)
    height = TOP_PX + (18 if title else 0) + BOTTOM_PX + ROW_PX * max(n, 1)
    fig = new_figure(width_px, height)
    grid_w = width_px - LEFT_PX - RIGHT_PX - 60  # 60 px: gap + the second colour bar
    cell = grid_w / max(len(names), 1)
    groups = [(iod, _scale(table[iod].to_numpy(dtype=float)) if iod else 1.0),
              (eye, _scale(table[eye].to_numpy(dtype=float)) if eye else 1.0)]
    x0 = LEFT_PX
    for k, (cols, vmax) in enumerate(groups):
        if not cols:
            continue
        w = cell * len(cols)
        ax = fig.add_axes((x0 / width_px, BOTTOM_PX / height, w / width_px,
                           ROW_PX * max(n, 1) / height))
        _cells(ax, table, cols, vmax, tooltips, show_labels=k == 0 or not iod)
        _colorbar(fig, ax, vmax, au_unit(cols[0]), width_px, height)
        x0 += w + 14
    if title:
        fig.text(LEFT_PX / width_px, 1 - 8 / height, title, fontsize=10, fontweight="bold",
                 va="top", color="#222222", parse_math=False)
    return fig


def _cells(ax, table: pd.DataFrame, cols: list[str], vmax: float, tips, show_labels: bool) -> None:
    from matplotlib import colormaps

    cmap, norm = colormaps[DIVERGING], Normalize(-vmax, vmax, clip=True)
    n = len(table)
    vals = table[cols].to_numpy(dtype=float)
    frames, segs = table["frames"].to_numpy(), table["segments"].to_numpy()
    colors = cmap(norm(np.nan_to_num(vals)))
    for i, label in enumerate(table.index):
        for j, a in enumerate(cols):
            v = vals[i, j]
            rect = Rectangle((j, n - 1 - i), 1, 1, facecolor=colors[i, j] if np.isfinite(v)
                             else "#f2f2f2", edgecolor="white", linewidth=0.6)
            ax.add_artist(rect)  # not add_patch: the limits are set below, once
            val = f"{v:+.3f} {au_unit(a)}" if np.isfinite(v) else "no face"
            add_tip(tips, rect, f"{label} · {a}: {val} (mean − baseline; {int(frames[i])} "
                    "frames" + (f", {int(segs[i])} segments" if segs[i] > 1 else "") + ")")
    ax.set_xlim(0, len(cols))
    ax.set_ylim(0, max(n, 1))
    ax.xaxis.set_visible(False)  # labels as plain text: cheaper than a tick per row
    ax.yaxis.set_visible(False)
    for j, a in enumerate(cols):
        ax.text(j + 0.5, max(n, 1) + 0.15, a, rotation=90, ha="center", va="bottom", fontsize=8,
                color="#444444")
    for i, label in enumerate(table.index if show_labels else []):
        ax.text(-0.12, n - 1 - i + 0.5, str(label)[:26], ha="right", va="center", fontsize=8,
                color="#222222", parse_math=False)  # the user's label ("$5"), not TeX
    for s in ax.spines.values():
        s.set_visible(False)


def _colorbar(fig: Figure, ax, vmax: float, unit: str, width_px: float, height: float) -> None:
    """A horizontal colour bar under ``ax`` labelled in ``unit``."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable

    box = ax.get_position()
    w = max(min(box.width, 220 / width_px), 110 / width_px)
    x0 = min(box.x0, box.x1 - w) if box.width < w else box.x0
    cax = fig.add_axes((min(x0, 1 - w - 4 / width_px), 38 / height, w, 9 / height))
    sm = ScalarMappable(norm=Normalize(-vmax, vmax), cmap=colormaps[DIVERGING])
    cb = fig.colorbar(sm, cax=cax, orientation="horizontal", ticks=[-vmax, 0, vmax])
    cb.ax.set_xticklabels([f"{-vmax:+.2g}", "0", f"{vmax:+.2g}"])
    cb.ax.tick_params(labelsize=7.5, length=2, pad=1)
    cb.outline.set_linewidth(0.5)
    cb.set_label(f"mean − baseline\n({unit})" if w < 200 / width_px else
                 f"mean − baseline ({unit})", fontsize=8, labelpad=2)
