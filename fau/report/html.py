"""Self-contained HTML report of a video analysis (one file, nothing loaded from elsewhere).

Sections, top to bottom: video facts and the responsible-use notice; ``summary-heatmap``
(segments — or time bins — × AUs, baseline-relative, per face track; `fau.plot.au_heatmap`);
``keyframes`` (face crops of each track's neutral frame and strongest events,
`fau.report.keyframes`); ``quality`` (face found / score / pose / size over time,
`fau.plot.quality_strip`); one timeline per face track (`fau.plot.timeline`); then the
segment and event tables, folded. Charts are matplotlib figures inlined as SVG
(`fau.report.svg`); crops are JPEG data URIs. Layout and rules: docs/report.md.
"""

from __future__ import annotations

import datetime as _dt
import os
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FauError
from ..expression.labels import EXPRESSIONS
from ..files import atomic_write
from ..plot.heatmap import au_heatmap, time_bin_segments
from ..plot.quality import (DEFAULT_RULE, decode_gaps, decode_stats, quality_bins, time_range,
                            untrusted_spans)
from ..plot.quality_plot import quality_strip
from ..plot.style import format_time, span_step
from ..plot.time_series import EVENT_NEEDS, timeline, track_aus
from ..plot.units import au_unit
from ..xmlsafe import xml_safe
from .keyframes import choose_moments, keyframes_html
from .svg import figure_svg, report_style
from .tables import folded, html_table

__all__ = ["render_report", "write_report", "RESPONSIBLE_USE", "MAX_EVENT_ROWS",
           "MAX_TRACKS", "MIN_TRACK_SHARE"]

#: The responsible-use notice printed at the top of every report.
RESPONSIBLE_USE = (
    "fau measures visible facial movements (action units) and estimates how an expression "
    "would likely be read by observers. It does not measure what anyone feels: the same "
    "inner state shows in many different faces and the same face arises from many states "
    "(Barrett et al., 2019, <i>Psychological Science in the Public Interest</i> 20(1)). "
    "Under the EU AI Act, Art. 5(1)(f), systems that infer the emotions of people in the "
    "workplace or in education are prohibited (outside medical or safety reasons): do not "
    "use fau on employees or job candidates. Never use these numbers to score, rank or "
    "select people."
)
#: Most event rows listed in the report (all of them are in the events CSV).
MAX_EVENT_ROWS = 500
#: When tracks overlap in time: most face tracks drawn (the longest); a track also needs
#: `MIN_TRACK_SHARE` of the face rows (and at least `MIN_TRACK_ROWS`), the others are listed.
MAX_TRACKS, MIN_TRACK_SHARE, MIN_TRACK_ROWS = 6, 0.02, 10

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1000px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:30px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:16px 0 4px}.meta{color:#555}
nav{font-size:13px;margin:8px 0}nav a{margin-right:14px}
.notice{background:#fff6e0;border:1px solid #e6c36a;border-radius:6px;padding:10px 14px;
margin:14px 0}
.note{background:#f3f3f3;border-left:3px solid #999;padding:6px 10px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 14px;display:block;overflow-x:auto}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}
th{background:#f4f4f4}td.l,th.l{text-align:left}
.chart{display:block;height:auto;max-width:100%}.small{font-size:12px;color:#666}
details{margin:6px 0 12px}summary{cursor:pointer;color:#245}
.kfs{display:flex;flex-wrap:wrap;gap:10px}.kf{margin:0;font-size:11.5px;line-height:1.3;
max-width:150px}.kf img{display:block;border-radius:3px;border:2px solid #ccc}
.kf-neutral img{border-color:#0072B2}.kf-au img{border-color:#D55E00}
.kf-expression img{border-color:#009E73}.warn{color:#B34700}
"""


def _chart(build, *, chart_id: str, title: str) -> str:
    """Build a figure with ``build(tooltips)`` in the report style and inline it as SVG."""
    tips: dict[str, str] = {}
    with report_style():
        fig = build(tips)
        return figure_svg(fig, chart_id=chart_id, title=title, tooltips=tips)


def _groups(df: pd.DataFrame) -> tuple[list[list[int]], list[int]]:
    """(groups of tracks drawn together, tracks left out), in order of first appearance.

    When no two tracks overlap in time (one face at a time: typically one person whom a
    cut-away or a missed detection split into several tracks) all tracks form one group.
    Otherwise each of the longest `MAX_TRACKS` tracks with at least `MIN_TRACK_SHARE` of
    the rows (and `MIN_TRACK_ROWS`) is its own group and the others are listed.
    """
    if df.empty:
        return [], []
    span = df.groupby("track_id")["timestamp"].agg(["min", "max", "size"]).sort_values("min")
    from ..plot.bins import sampling_interval

    tol = sampling_interval(df["timestamp"].to_numpy(dtype=float))
    ends = span["max"].cummax().shift(1).to_numpy()
    if (span["min"].to_numpy()[1:] > ends[1:] + tol / 2).all():
        return [[int(t) for t in span.index]], []
    need = max(MIN_TRACK_ROWS, MIN_TRACK_SHARE * len(df))
    by_size = span.sort_values("size", ascending=False)
    main = [int(t) for t, n in by_size["size"].items() if n >= need][:MAX_TRACKS] or \
        [int(by_size.index[0])]
    main = [int(t) for t in span.index if int(t) in main]
    return [[t] for t in main], [int(t) for t in span.index if int(t) not in main]


def _group_name(tracks: list[int]) -> str:
    if len(tracks) == 1:
        return f"Track {tracks[0]}"
    return f"Tracks {tracks[0]}–{tracks[-1]} ({len(tracks)} tracks, one face at a time)"


def _frame_size(attrs: dict) -> str:
    """The size (px) of the frames the faces were measured in, as the OpenFace export takes
    it (`fau.export.openface`): square pixels for an anamorphic video
    (`fau.video.reader.square_width`), upright for a rotated one; the coded size follows
    where it differs, e.g. ``1024×576 px (coded 720×576, sample aspect ratio 64:45)``."""
    from fractions import Fraction

    from ..video.reader import square_width

    video = attrs.get("video") or {}
    width, height = video.get("width"), video.get("height")
    if not width or not height:
        return f"{width or '?'}×{height or '?'} px"
    sar = float(video.get("sample_aspect_ratio") or 1.0)
    shown_w, shown_h = square_width(width, sar), height
    why = []
    if shown_w != width:
        ratio = Fraction(sar).limit_denominator(1000)
        why.append(f"sample aspect ratio {ratio.numerator}:{ratio.denominator}")
    rotation = int(decode_stats(attrs).get("rotation") or 0)
    if rotation % 180 == 90:
        shown_w, shown_h = shown_h, shown_w
        why.append(f"rotated {rotation}°")
    if not why:
        return f"{width}×{height} px"
    return f"{shown_w}×{shown_h} px (coded {width}×{height}, {', '.join(why)})"


def _duration(seconds: float | None) -> str:
    """The header's duration, in tenths of a second below 10 s (`fau.plot.style.span_step`):
    a 1.87-s clip is "1.9 s", not "2 s"; "?" when the header has none."""
    if not seconds:
        return format_time(np.nan)
    return format_time(float(seconds), span_step(0.0, float(seconds)))


def _header(df: pd.DataFrame, name: str, model: str | None) -> list[str]:
    from .. import __version__

    attrs = df.attrs or {}
    video = attrs.get("video") or {}
    facts = [
        _frame_size(attrs),
        f"{video.get('codec', '?')} in {video.get('format', '?')}",
        f"header duration {_duration(video.get('duration'))}",
        f"{attrs.get('decoded_frames', '?')} frames decoded",
        f"{attrs.get('analysed_frames', '?')} analysed"
        + (f" (fps={attrs['fps']:g})" if attrs.get("fps") else " (every frame)"),
        f"{int(df['track_id'].nunique()) if len(df) else 0} face track(s)",
    ]
    if attrs.get("start") is not None or attrs.get("end") is not None:
        facts.append(f"window {attrs.get('start') or 0:g}–{attrs.get('end') or 'end'} s")
    return [
        f"<h1>fau video report: {escape(name)}</h1>",
        f'<p class="meta">{escape(" · ".join(facts))}</p>',
        f'<p class="meta small">fau {escape(__version__)}; expression model: '
        f"{escape(model or 'none (expression columns are empty)')}; generated "
        f"{escape(_dt.datetime.now().isoformat(timespec='seconds'))}"
        + ("; <b>the file was truncated: only its decodable part was analysed</b>"
           if attrs.get("truncated") else "") + "</p>",
        f'<div class="notice"><b>Responsible use.</b> {RESPONSIBLE_USE}</div>',
        '<nav><a href="#summary-heatmap">AU heatmap</a><a href="#keyframes">face crops</a>'
        '<a href="#quality">data quality</a><a href="#timelines">timelines</a>'
        '<a href="#tables">tables</a></nav>',
        '<p class="small">Units: AU values are fractions of the inter-ocular distance (IOD; '
        f"0.01 IOD ≈ 0.6 mm), except the eye closures (AU43 eyes closed, AU45 blink) in "
        f"{escape(au_unit('AU45'))} (1 = closed). They are smoothed (causal One-Euro filter) "
        "and shown relative to each "
        "person's own neutral baseline (0 = their resting face; rule in docs/video.md). "
        "Expression values are smoothed probabilities of how the face would likely be read.</p>",
    ]


def _needs_scan(df: pd.DataFrame) -> bool:
    """Find the crops' frames in one decoding pass (not by seeking) when the reader had to
    repair the file: timestamps reset, packets skipped or frames delivered late, where a
    seek by presentation time may not land on the frames the analysis saw."""
    stats = decode_stats(df.attrs or {})
    return any(stats.get(k) for k in ("timestamp_resets", "decode_errors", "late_frames"))


def _heatmap_section(df, summary, segments, events, groups, group) -> str:
    from ..video.segments import summarize_segments

    parts = ['<section id="summary-heatmap"><h2>AU summary: segments × action units</h2>']
    if (segments is None or not len(segments)) and not len(df):
        summary = None  # no face: no time bins to speak of ("rows are 1 s bins", no rows)
    elif segments is None or not len(segments):
        segments = time_bin_segments(time_range(df))
        summary = summarize_segments(df, segments, events)
        step = float(segments["end"].iloc[0] - segments["start"].iloc[0])
        parts.append('<p class="small">No segments were given: rows are '
                     f"{escape(format_time(step, 1.0 if step.is_integer() else 0.1))} "
                     "bins of the video (give --segments start,end,label CSV for your own).</p>")
    elif summary is None:
        summary = summarize_segments(df, segments, events)
    if summary is None or summary.empty or not (summary["track_id"] >= 0).any():
        return "".join(parts) + "<p>No face was found in the analysed frames.</p></section>"
    # one summary row per segment and track: with two faces every label is there twice
    per_segment = summary.drop_duplicates("segment") if "segment" in summary else summary
    repeated = per_segment["label"].astype(str).duplicated().any()
    group = repeated if group is None else group
    parts.append('<p class="small">Each cell: mean change of the AU from the person\'s '
                 "neutral baseline over the row's frames (red above, blue below; hover a cell "
                 "for its value). The IOD AUs share one colour scale; the eye closures "
                 "(AU43, AU45, in "
                 "neutral eye openings) have their own."
                 + (" Rows pool the segments that share a label (frame-weighted)." if group
                    else "") + "</p>")
    for tracks in groups:
        name = _group_name(tracks)
        if not summary["track_id"].isin(tracks).any():
            parts.append(f'<p class="small">{escape(name)}: no analysed frame in any '
                         "segment.</p>")
            continue
        for grouped in ([True, False] if group else [False]):
            label = "by label" if grouped else "per segment"
            svg = _chart(lambda tips: au_heatmap(summary, track=tracks, group=grouped,
                                                 title=f"{name}, {label}", tooltips=tips),
                         chart_id=f"heat-{tracks[0]}-{label}", title=f"AU heatmap, {name}, {label}")
            parts.append(folded(f"{name}: every segment", svg) if group and not grouped
                         else svg)
    return "".join(parts) + "</section>"


def _quality_section(df: pd.DataFrame) -> str:
    r = DEFAULT_RULE
    q = quality_bins(df)
    spans = untrusted_spans(q)
    bad_s = sum(b - a for a, b in spans)
    total = max(float(q["end"].iloc[-1] - q["start"].iloc[0]), 1e-9)
    stats = decode_stats(df.attrs or {})
    losses = [f"{k.replace('_', ' ')}: {stats[k]}" for k in
              ("lost", "decode_errors", "corrupt_frames", "timestamp_resets", "late_frames")
              if stats.get(k)]
    if stats.get("lost") and stats.get("expected"):
        losses[0] += f" of {stats['expected']} frames the header announces"
    if stats.get("rotation"):
        losses.append(f"frames rotated by {stats['rotation']}° for display")
    gaps = decode_gaps(df.attrs or {})
    if gaps:
        n = stats.get("gap_count") or len(gaps)
        secs = stats.get("gap_seconds") or sum(b - a for a, b in gaps)
        losses.append(f"{n} gap(s) in time, {float(secs):.1f} s (hatched)")
    svg = _chart(lambda tips: quality_strip(df, tooltips=tips), chart_id="quality",
                 title="data quality over time")
    return (
        '<section id="quality"><h2>Data quality</h2>'
        f'<p class="small">Red: stretches where the numbers should not be trusted '
        f"({escape(format_time(bad_s, span_step(0, bad_s)))} of "
        f"{escape(format_time(total, span_step(0, total)))}, "
        f"{100 * bad_s / total:.0f}%). "
        f"A stretch is untrusted when fewer than {r.min_found:.0%} of its analysed frames had a "
        f"face, or when most face rows have a face score below {r.min_face_score:g}, the head "
        f"turned more than {r.max_yaw:g}° (yaw) or {r.max_pitch:g}° (pitch), or a face box "
        f"narrower than {r.min_face_px:g} px (rule: docs/report.md). Each bin shows its worst face."
        "</p>" + svg
        + (f'<p class="small">Decoding: {escape("; ".join(losses))}.</p>' if losses else "")
        + "</section>"
    )


def _track_section(df, tracks: list[int], events, segments) -> str:
    g = df[df["track_id"].isin(tracks)]
    t = g["timestamp"].to_numpy(dtype=float)
    name = _group_name(tracks)
    svg = _chart(lambda tips: timeline(df, track=tracks, events=events, segments=segments,
                                       t_range=time_range(df), tooltips=tips),
                 chart_id=f"timeline-{tracks[0]}", title=f"timeline of {name}")
    aus = track_aus(df)
    ev = events[events["track_id"].isin(tracks) & (events["kind"] == "au")] if len(events) \
        else events
    stats = pd.DataFrame({
        "AU": aus, "unit": [au_unit(a) for a in aus],
        "mean − baseline": [float(g[f"{a}_rel"].mean()) if f"{a}_rel" in g else np.nan
                            for a in aus],
        "peak − baseline": [float(g[f"{a}_rel"].max()) if f"{a}_rel" in g else np.nan
                            for a in aus],
        "events": [int((ev["name"] == a).sum()) if len(ev) else 0 for a in aus],
    })
    note = (" Each track is relative to its own neutral baseline; lines break where a track "
            "ends." if len(tracks) > 1 else "")
    # tenths of a second for a short track: a 2-s clip seen 0.53-1.43 s was "1 s – 1 s"
    step = span_step(t.min(), t.max())
    return (f'<section id="track-{tracks[0]}"><h2>{escape(name)}</h2><p class="meta">seen '
            f"{escape(format_time(t.min(), step))} – {escape(format_time(t.max(), step))}, "
            f"{len(g)} analysed "
            f"frames, mean face size {g['face_w'].mean():.0f}×{g['face_h'].mean():.0f} px."
            f"{note} Hatched: the track's rows break the quality rule.</p>"
            + svg + folded(f"{name}: AU table", html_table(stats, left=("AU", "unit")))
            + "</section>")


def _tables_section(summary, events, has_expr: bool) -> str:
    parts = ['<section id="tables"><h2>Tables</h2>']
    if summary is not None and not summary.empty:
        keep = ["segment", "label", "start", "end", "track_id", "frames"]
        keep += [c for c in summary.columns if c.endswith("_mean") and c.startswith("AU")]
        keep += [c for c in summary.columns if c.endswith("_share")] if has_expr else []
        keep += ["events", "event_list"]
        parts.append(folded(f"Segments ({len(summary)} rows; AU means relative to the baseline)",
                            html_table(summary[[c for c in keep if c in summary.columns]],
                                       left=("label", "event_list"))))
    cols = ["track_id", "kind", "name", "onset", "apex", "offset", "duration", "peak", "brief",
            "during_speech"]
    cols = [c for c in cols if c in events.columns] if len(events) else cols
    shown = events[cols].head(MAX_EVENT_ROWS) if len(events) else pd.DataFrame(columns=cols)
    parts.append(folded(
        f"Events ({len(events)}"
        + (f"; the first {MAX_EVENT_ROWS} listed" if len(events) > MAX_EVENT_ROWS else "") + ")",
        '<p class="small">Episodes where a baseline-relative AU (or a smoothed expression '
        "probability) rose above a per-person threshold: times in seconds, peak in the AU's "
        "unit (or probability). Brief = at most 0.5 s; at 25–30 fps this is not "
        "micro-expression detection.</p>" + html_table(shown, left=("kind", "name"))))
    return "".join(parts) + "</section>"


def render_report(
    df: pd.DataFrame,
    *,
    events: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    summary: pd.DataFrame | None = None,
    title: str | None = None,
    model: str | None = None,
    video: str | os.PathLike | bool | None = None,
    group_segments: bool | None = None,
) -> str:
    """The HTML text of a report for a `detect_video` table.

    Parameters
    ----------
    df : DataFrame
        `fau.video.detect_video` output (with its temporal columns).
    events : DataFrame or None
        `fau.video.find_events` output (computed here when None).
    segments : DataFrame or None
        `fau.video.read_segments` output: heatmap rows, shaded on the timelines (default:
        the segments of ``summary``, else time bins).
    summary : DataFrame or None
        `fau.video.summarize_segments` output (computed here when None).
    title : str or None
        Heading (default: the video's file name).
    model : str or None
        Name of the expression model used (shown; None = no expression scores).
    video : path, bool or None
        The video file, re-read for the face crops. None: ``df.attrs["video"]["path"]``;
        False: no crops. A missing or unreadable file gives a note, not an error.
    group_segments : bool or None
        Pool segments that share a label in the heatmap (None: when labels repeat).

    Returns
    -------
    str
        A complete HTML document with inline CSS, SVG charts and JPEG crops; nothing is
        loaded from elsewhere when it is opened.
    """
    from ..video.segments import read_segments
    from ..video.temporal import check_video_table, find_events

    check_video_table(df, "render_report", ("track_id", "timestamp", "frame"))
    if events is not None:
        check_video_table(events, "render_report: events", EVENT_NEEDS,
                          kind="a find_events table")
    if summary is not None:
        check_video_table(summary, "render_report: summary",
                          ("segment", "label", "start", "end", "track_id", "frames"),
                          kind="a summarize_segments table")

    events = find_events(df) if events is None else events
    segments = read_segments(segments) if segments is not None else None
    if segments is None and summary is not None and len(summary):
        # a summary alone: its segments are the heatmap's rows (they were time bins, while
        # the segment table listed the summary) and are shaded on the timelines
        segments = read_segments(summary.drop_duplicates("segment").sort_values("segment")[
            ["start", "end", "label"]])
    attrs_video = (df.attrs or {}).get("video") or {}
    name = title or Path(str(attrs_video.get("path", "video"))).name
    if video is None or video is True:
        video = attrs_video.get("path")
    has_expr = all(e in df.columns for e in EXPRESSIONS) and len(df) > 0 and \
        bool(np.isfinite(df[list(EXPRESSIONS)].to_numpy(dtype=float)).all())
    groups, others = _groups(df)
    if summary is None and segments is not None and len(df):
        from ..video.segments import summarize_segments

        summary = summarize_segments(df, segments, events)
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>fau report: {escape(name)}</title><style>{_CSS}</style></head><body>",
             *_header(df, name, model)]
    parts.append(_heatmap_section(df, summary, segments, events, groups, group_segments))
    moments = choose_moments(df, events, groups, track_aus(df)) if len(df) else []
    parts.append('<section id="keyframes"><h2>Face crops: check the numbers by eye</h2>'
                 '<p class="small">Per track: the neutral baseline frame (blue), the strongest '
                 "event of the AUs that moved most (orange) and of each expression (green); "
                 "rule in docs/report.md.</p>"
                 + keyframes_html(moments, video, scan=_needs_scan(df))
                 + "</section>")
    parts.append(_quality_section(df) if len(df) else
                 '<section id="quality"><h2>Data quality</h2><p>No face was found in the '
                 "analysed frames.</p></section>")
    parts.append('<div id="timelines">')
    if not len(df):
        parts.append("<h2>Faces</h2><p>No face was found in the analysed frames.</p>")
    parts.extend(_track_section(df, tracks, events, segments) for tracks in groups)
    if others:
        parts.append(f'<p class="small">{len(others)} short track(s) not drawn '
                     f"(ids {escape(', '.join(map(str, others[:30])))}"
                     f"{'…' if len(others) > 30 else ''}); their rows are in the table.</p>")
    parts.append("</div>" + _tables_section(summary, events, has_expr))
    parts.append('<p class="small">Generated by fau. Per-frame values: the --out table.</p>'
                 "</body></html>")
    return xml_safe("\n".join(parts))  # a control character of a label or file name: U+FFFD


def write_report(path: str | os.PathLike, html: str, *, overwrite: bool = False) -> Path:
    """Write report HTML atomically; refuses to replace a file unless ``overwrite``.

    Parameters
    ----------
    path : str or path
        The ``.html`` file to create.
    html : str
        The text of `render_report` (anything but a str is a `FauError`).
    overwrite : bool
        Replace ``path`` if it exists.

    Returns
    -------
    Path
        ``path``.
    """
    if not isinstance(html, str):
        raise FauError(f"write_report writes the HTML text of render_report (a str), got "
                       f"{type(html).__name__}")
    out = Path(path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise FauError(f"the report must be an .html file: {str(out)!r}")

    def write(tmp: str) -> None:
        Path(tmp).write_text(html, encoding="utf-8")

    return atomic_write(out, write, overwrite=overwrite)
