"""Self-contained HTML report of a video analysis (one file, no external resources;
charts drawn by matplotlib as inline SVG, see `fau.report.svg`)."""

from __future__ import annotations

import datetime as _dt
import os
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from ..files import atomic_write
from ..errors import FauError
from ..expression.labels import EXPRESSIONS
from .svg import PALETTE, Band, Line, Marker, line_chart

__all__ = ["render_report", "write_report", "RESPONSIBLE_USE", "AU_GROUPS"]

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

#: AU groups plotted together (AU45 alone: a blink moves it ~10× more than other AUs
#: move); ``_rel`` series when present.
AU_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Upper face", ("AU01", "AU02", "AU04", "AU05", "AU06", "AU07")),
    ("Lower face", ("AU09", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23",
                    "AU25", "AU26")),
    ("Eye closure (blinks)", ("AU45",)),
)
#: Most event rows listed in the report (all of them are in the events CSV).
MAX_EVENT_ROWS = 500

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:980px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 4px}.meta{color:#555}
.notice{background:#fff6e0;border:1px solid #e6c36a;border-radius:6px;padding:10px 14px;margin:14px 0}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0 14px;display:block;overflow-x:auto}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}
th{background:#f4f4f4}td.l,th.l{text-align:left}
.chart{display:block;height:auto}.fig{margin:6px 0 14px}
.lg{font-size:12px;color:#333}.lgi{margin-right:12px;white-space:nowrap}
.lgi i{display:inline-block;width:12px;height:4px;margin:0 4px 2px 0;vertical-align:middle}
.small{font-size:12px;color:#666}
"""


def _table(df: pd.DataFrame, *, left: tuple[str, ...] = (), floats: int = 3) -> str:
    if df.empty:
        return '<p class="small">(none)</p>'
    head = "".join(f'<th class="{"l" if c in left else ""}">{escape(str(c))}</th>' for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, rec):
            if isinstance(v, (float, np.floating)):
                txt = "" if not np.isfinite(v) else f"{v:.{floats}f}"
            else:
                txt = "" if v is None else str(v)
            cells.append(f'<td class="{"l" if c in left else ""}">{escape(txt)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _fmt_time(s: float | None) -> str:
    if s is None or not np.isfinite(s):
        return "?"
    m, sec = divmod(float(s), 60.0)
    return f"{int(m)}:{sec:05.2f}" if m else f"{sec:.2f} s"


def render_report(
    df: pd.DataFrame,
    *,
    events: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    summary: pd.DataFrame | None = None,
    title: str | None = None,
    model: str | None = None,
) -> str:
    """The HTML text of a report for a `detect_video` table.

    Parameters
    ----------
    df : DataFrame
        `fau.video.detect_video` output (with its temporal columns).
    events : DataFrame or None
        `fau.video.find_events` output (computed here when None).
    segments : DataFrame or None
        `fau.video.read_segments` output, shaded on the charts.
    summary : DataFrame or None
        `fau.video.summarize_segments` output, shown as the segment table.
    title : str or None
        Heading (default: the video's file name).
    model : str or None
        Name of the expression model used (shown; None = no expression scores).

    Returns
    -------
    str
        A complete HTML document with inline CSS and SVG charts (matplotlib); nothing
        is loaded from elsewhere when it is opened.
    """
    from .. import __version__
    from ..video.temporal import find_events

    if events is None:
        events = find_events(df)
    attrs = df.attrs or {}
    video = attrs.get("video") or {}
    name = title or Path(str(video.get("path", "video"))).name
    has_expr = all(e in df.columns for e in EXPRESSIONS) and len(df) and \
        np.isfinite(df[list(EXPRESSIONS)].to_numpy(dtype=float)).all()
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>fau report: {escape(name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>fau video report: {escape(name)}</h1>",
    ]
    n_tracks = int(df["track_id"].nunique()) if len(df) else 0
    facts = [
        f"{video.get('width', '?')}×{video.get('height', '?')} px",
        f"{video.get('codec', '?')} in {video.get('format', '?')}",
        f"header duration {_fmt_time(video.get('duration'))}",
        f"{attrs.get('decoded_frames', '?')} frames decoded",
        f"{attrs.get('analysed_frames', '?')} analysed"
        + (f" (fps={attrs['fps']:g})" if attrs.get("fps") else " (every frame)"),
        f"{n_tracks} face track(s)",
    ]
    if attrs.get("start") is not None or attrs.get("end") is not None:
        facts.append(f"window {attrs.get('start') or 0:g}–{attrs.get('end') or 'end'} s")
    parts.append(f'<p class="meta">{escape(" · ".join(facts))}</p>')
    parts.append(
        f'<p class="meta small">fau {escape(__version__)}; expression model: '
        f"{escape(model or 'none (expression columns are empty)')}; generated "
        f"{escape(_dt.datetime.now().isoformat(timespec='seconds'))}"
        + ("; <b>the file was truncated: only its decodable part was analysed</b>"
           if attrs.get("truncated") else "") + "</p>"
    )
    parts.append(f'<div class="notice"><b>Responsible use.</b> {RESPONSIBLE_USE}</div>')
    parts.append(
        '<p class="small">AU values are geometric intensities in fractions of the '
        "inter-ocular distance (IOD; 0.01 IOD ≈ 0.6 mm), smoothed with a causal One-Euro "
        "filter and shown relative to each person's own neutral baseline (0 = their "
        "resting face; rule in docs/video.md). Expression curves are smoothed "
        "probabilities of how the face would likely be read. Triangles mark event apexes "
        "(hover for details); shaded bands are segments.</p>"
    )

    bands = [] if segments is None else [
        Band(float(r.start), float(r.end), str(r.label)) for r in segments.itertuples()
    ]
    if len(df) == 0:
        parts.append("<h2>Faces</h2><p>No face was found in the analysed frames.</p>")
    for tid, g in (df.groupby("track_id", sort=True) if len(df) else []):
        g = g.sort_values("timestamp")
        t = g["timestamp"].to_numpy(dtype=float)
        parts.append(
            f"<h2>Track {int(tid)}</h2><p class='meta'>seen {_fmt_time(t.min())} – "
            f"{_fmt_time(t.max())}, {len(g)} analysed frames, mean face size "
            f"{g['face_w'].mean():.0f}×{g['face_h'].mean():.0f} px</p>"
        )
        xr = (float(df["timestamp"].min()), float(df["timestamp"].max()))
        ev = events[events["track_id"] == tid] if len(events) else events
        if has_expr:
            cols = [e for e in EXPRESSIONS if f"{e}_smooth" in g.columns]
            lines = [Line(e, t, g[f"{e}_smooth"].to_numpy(float), PALETTE[i % len(PALETTE)])
                     for i, e in enumerate(cols)]
            mk = [Marker(float(r.apex), float(r.peak), f"{r.name}: {r.onset:.2f}–{r.offset:.2f} s, "
                         f"peak {r.peak:.2f}", PALETTE[cols.index(r.name) % len(PALETTE)])
                  for r in ev.itertuples() if r.kind == "expression" and r.name in cols]
            parts.append(line_chart(lines, title="Expression (smoothed probability)",
                                    y_label="probability", x_range=xr, y_range=(0, 1),
                                    markers=mk, bands=bands,
                                    chart_id=f"t{tid}-expression"))
        else:
            parts.append('<p class="small">No expression model was used: expression '
                         "curves are not shown.</p>")
        rel = "_rel" if "AU12_rel" in g.columns else ""
        for group, aus in AU_GROUPS:
            aus = [a for a in aus if f"{a}{rel}" in g.columns]
            lines = [Line(a, t, g[f"{a}{rel}"].to_numpy(float), PALETTE[i % len(PALETTE)])
                     for i, a in enumerate(aus)]
            mk = [Marker(float(r.apex), float(r.peak), f"{r.name}: {r.onset:.2f}–{r.offset:.2f} s, "
                         f"peak {r.peak:+.3f} IOD", PALETTE[aus.index(r.name) % len(PALETTE)])
                  for r in ev.itertuples() if r.kind == "au" and r.name in aus]
            label = "AU − baseline (IOD)" if rel else "AU (IOD)"
            parts.append(line_chart(lines, title=f"{group} action units", y_label=label,
                                    x_range=xr, markers=mk, bands=bands, zero_line=True,
                                    chart_id=f"t{tid}-{group}"))
        names = [a for _, aus in AU_GROUPS for a in aus if a in g.columns]
        neutral = g["neutral_frame"].to_numpy(bool) if "neutral_frame" in g else None
        src = "_smooth" if "AU12_smooth" in g.columns else ""
        base = [float(np.nanmedian(g[f"{a}{src}"].to_numpy(float)[neutral]))
                if neutral is not None and neutral.any() else np.nan for a in names]
        n_ev = [int(((ev["name"] == a) & (ev["kind"] == "au")).sum()) if len(ev) else 0
                for a in names]
        stats = pd.DataFrame({
            "AU": names,
            "baseline (IOD)": base,
            "mean − baseline": [float(g[f"{a}{rel}"].mean()) for a in names],
            "peak − baseline": [float(g[f"{a}{rel}"].max()) for a in names],
            "events": n_ev,
        })
        parts.append("<h3>AU summary</h3>" + _table(stats, left=("AU",)))

    parts.append("<h2>Segments</h2>")
    if summary is None or summary.empty:
        parts.append('<p class="small">No segments given (use --segments start,end,label CSV).</p>')
    else:
        keep = ["segment", "label", "start", "end", "track_id", "frames"]
        keep += [c for c in summary.columns if c.endswith("_mean") and c[:-5] in
                 ("AU01", "AU04", "AU06", "AU12", "AU15", "AU25", "AU45")]
        keep += [c for c in summary.columns if c.endswith("_share")] if has_expr else []
        keep += ["events", "event_list"]
        parts.append('<p class="small">Means of the AU values relative to the baseline '
                     "(IOD)" + ("; expression shares are the fraction of frames where each "
                                "was the most probable" if has_expr else "") +
                     ". All columns are in the segments CSV.</p>")
        parts.append(_table(summary[[c for c in keep if c in summary.columns]],
                            left=("label", "event_list"), floats=3))

    parts.append("<h2>Events</h2>")
    parts.append('<p class="small">Episodes where a baseline-relative AU (or a smoothed '
                 "expression probability) rose above a per-person threshold: onset, apex "
                 "and offset in seconds, peak in IOD (AU) or probability (expression). "
                 "Brief = at most 0.5 s. At 25–30 fps this is not micro-expression "
                 "detection (that needs 100–200 fps recordings).</p>")
    if len(events) > MAX_EVENT_ROWS:
        parts.append(f'<p class="small">First {MAX_EVENT_ROWS} of {len(events)} events.</p>')
    cols = ["track_id", "kind", "name", "onset", "apex", "offset", "duration", "peak", "brief"]
    parts.append(_table(events[cols].head(MAX_EVENT_ROWS) if len(events) else
                        pd.DataFrame(columns=cols), left=("kind", "name")))
    parts.append('<p class="small">Generated by fau. Per-frame values: the --out table.</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | os.PathLike, html: str, *, overwrite: bool = False) -> Path:
    """Write report HTML atomically; refuses to replace a file unless ``overwrite``."""
    out = Path(path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise FauError(f"the report must be an .html file: {str(out)!r}")

    def write(tmp: str) -> None:
        Path(tmp).write_text(html, encoding="utf-8")

    return atomic_write(out, write, overwrite=overwrite)
