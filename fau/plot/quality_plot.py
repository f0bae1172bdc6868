"""A strip over time of data quality: face found, face score, head pose, face size.

One row each, on the same time axis and margins as `fau.plot.timeline`, from
`fau.plot.quality.quality_bins`; untrusted stretches (the rule in `fau.plot.quality`) are
shaded red across all rows, decode losses (``attrs["gaps"]``) are hatched, and every
threshold of the rule is drawn as a dashed line on its row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .quality import (DEFAULT_RULE, QualityRule, decode_gaps, quality_bins, time_range,
                      untrusted_spans)
from .style import check_t_range, check_width, format_time, new_figure, span_step, time_axis
from .tips import add_tip
from .time_series import BOTTOM_PX, LEFT_PX, MIN_WIDTH_PX, RIGHT_PX, TOP_PX

__all__ = ["quality_strip", "ROW_PX"]

#: Height of one row and of the row flagging untrusted stretches (px).
ROW_PX, FLAG_PX = 34, 12
#: Narrowest mark of an untrusted stretch on the flag row (px).
MIN_MARK_PX = 2.0
_BAD = "#D55E00"
_LINE = "#0072B2"


def _step(ax, q: pd.DataFrame, col: str, color: str = _LINE, label: str | None = None):
    x = np.append(q["start"].to_numpy(), q["end"].to_numpy()[-1:])
    y = q[col].to_numpy(dtype=float)
    (line,) = ax.step(x, np.append(y, y[-1:]), where="post", color=color, linewidth=0.9,
                      label=label)
    return line


def _row_label(ax, text: str, unit: str) -> None:
    ax.text(-0.01, 0.58, text, transform=ax.transAxes, ha="right", va="center", fontsize=8.5,
            fontweight="bold", color="#222222")
    ax.text(-0.01, 0.16, unit, transform=ax.transAxes, ha="right", va="center", fontsize=7,
            color="#666666")


def _threshold(ax, y: float, text: str, left: bool = False) -> None:
    ax.axhline(y, color=_BAD, linewidth=0.7, linestyle=(0, (3, 2)), zorder=1)
    ax.text(0.002 if left else 0.998, y, text, transform=ax.get_yaxis_transform(),
            fontsize=6.5, color=_BAD, va="bottom", ha="left" if left else "right")


def _rows(axes, q: pd.DataFrame, rule: QualityRule, tips) -> None:
    found, score, pose, size = axes
    x = np.append(q["start"].to_numpy(), q["end"].to_numpy()[-1:])
    share = q["found_share"].to_numpy(dtype=float)
    fill = found.fill_between(x, np.append(share, share[-1:]), step="post", color="#009E73",
                              alpha=0.55, linewidth=0)
    add_tip(tips, fill, "share of analysed frames with a face, per bin")
    found.set_ylim(0, 1.05)
    _threshold(found, rule.min_found, f"{rule.min_found:g}")
    _row_label(found, "face found", "share")
    add_tip(tips, _step(score, q, "face_score_min"), "lowest face score per bin")
    score.set_ylim(0.45, 1.03)
    _threshold(score, rule.min_face_score, f"{rule.min_face_score:g}")
    _row_label(score, "face score", "min, 0–1")
    for col, color, name in (("yaw_max", "#0072B2", "|yaw|"), ("pitch_max", "#CC79A7", "|pitch|"),
                             ("roll_max", "#999999", "|roll|")):
        add_tip(tips, _step(pose, q, col, color, name), f"largest {name} per bin (degrees)")
    top = np.nanmax(q[["yaw_max", "pitch_max"]].to_numpy(dtype=float), initial=0.0)
    pose.set_ylim(0, max(45.0, float(top) * 1.1 if np.isfinite(top) else 45.0))
    _threshold(pose, rule.max_yaw, f"yaw {rule.max_yaw:g}°")
    if rule.max_pitch != rule.max_yaw:
        _threshold(pose, rule.max_pitch, f"pitch {rule.max_pitch:g}°", left=True)
    pose.legend(loc="upper center", ncol=3, fontsize=6.5, frameon=False, handlelength=1.2,
                borderaxespad=0.1, columnspacing=0.8)
    _row_label(pose, "head pose", "degrees")
    add_tip(tips, _step(size, q, "face_px_min"), "narrowest face box per bin (px)")
    big = np.nanmax(q["face_px_min"].to_numpy(dtype=float), initial=0.0)
    size.set_ylim(0, max(rule.min_face_px * 2, float(big) * 1.15 if np.isfinite(big) else 1.0))
    _threshold(size, rule.min_face_px, f"{rule.min_face_px:g}")
    _row_label(size, "face width", "px, min")
    for ax in axes:
        ax.yaxis.tick_right()
        ax.tick_params(axis="y", labelsize=7, length=2, pad=1)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=2, min_n_ticks=2))
        ax.spines[["top"]].set_visible(False)
    found.set_yticks([0, 1])
    score.set_yticks([0.5, 1])


def quality_strip(
    df: pd.DataFrame,
    *,
    rule: QualityRule = DEFAULT_RULE,
    t_range: tuple[float, float] | None = None,
    width_px: int = 900,
    n_bins: int = 300,
    tooltips: dict[str, str] | None = None,
) -> Figure:
    """Face found / face score / head pose / face size over time, with untrusted stretches.

    Parameters
    ----------
    df : DataFrame
        A `fau.Detector.detect_video` table (all tracks; each bin shows its worst face).
    rule : QualityRule
        Thresholds (default `fau.plot.quality.DEFAULT_RULE`).
    t_range : (float, float) or None
        Seconds (default: the analysed window).
    width_px : int
        Figure width (px).
    n_bins : int
        Most time bins.
    tooltips : dict or None
        Filled with hover texts for SVG output (see `fau.plot.tips`).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    FauError
        Not a video table, ``width_px`` below `fau.plot.time_series.MIN_WIDTH_PX`, or a
        ``t_range`` that is not finite with end > start.
    """
    from ..video.temporal import check_video_table

    check_video_table(df, "quality_strip", ("timestamp", "frame"))
    width_px = check_width(width_px, MIN_WIDTH_PX, "quality_strip")
    t_range = check_t_range(t_range, "quality_strip") or time_range(df)
    q = quality_bins(df, t_range=t_range, n=n_bins, rule=rule)
    height = TOP_PX + BOTTOM_PX + 4 * (ROW_PX + 5) + FLAG_PX + 5
    fig = new_figure(width_px, height)
    axes, y = [], height - TOP_PX
    for h in (FLAG_PX, ROW_PX, ROW_PX, ROW_PX, ROW_PX):
        y -= h
        axes.append(fig.add_axes((LEFT_PX / width_px, y / height,
                                  1 - (LEFT_PX + RIGHT_PX) / width_px, h / height),
                                 sharex=axes[0] if axes else None))
        y -= 5
    flags, rows = axes[0], axes[1:]
    _rows(rows, q, rule, tooltips)
    # the flag row: every untrusted stretch at least MIN_MARK_PX wide, so that a few
    # seconds stay visible on an hour-long axis
    min_w = MIN_MARK_PX * (t_range[1] - t_range[0]) / (width_px - LEFT_PX - RIGHT_PX)
    for a, b in untrusted_spans(q):
        mid, half = (a + b) / 2, max(b - a, min_w) / 2
        bar = flags.axvspan(mid - half, mid + half, facecolor=_BAD, linewidth=0)
        step = span_step(a, b)
        add_tip(tooltips, bar, f"untrusted {format_time(a, step)} – {format_time(b, step)}")
        for ax in rows:
            ax.axvspan(a, b, facecolor=_BAD, alpha=0.16, linewidth=0, zorder=0)
    for a, b in decode_gaps(df.attrs or {}):
        step = span_step(a, b)
        for ax in axes:
            span = ax.axvspan(a, b, facecolor="none", edgecolor="#333333", hatch="////",
                              linewidth=0, zorder=0.5)
            add_tip(tooltips, span, f"decode loss {format_time(a, step)} – {format_time(b, step)}")
    flags.set_yticks([])
    flags.spines[["top", "right", "left"]].set_visible(False)
    flags.text(-0.01, 0.5, "untrusted", transform=flags.transAxes, ha="right", va="center",
               fontsize=8.5, fontweight="bold", color=_BAD)
    for ax in axes:
        ax.xaxis.set_visible(ax is axes[-1])  # one time axis (hidden axes draw no ticks)
    time_axis(axes[-1], t_range)
    axes[-1].set_xlabel("time", fontsize=8.5, color="#444444", labelpad=1, loc="right")
    return fig
