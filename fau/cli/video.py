"""``fau video PATH [--out frames.csv|.json|.parquet] [--report report.html] ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import FauError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("video", help="analyse a video file (tracks, AUs, events, report)",
                       description=(
                           "Track faces through a video, measure AUs and expression scores per "
                           "frame, find AU/expression events and write a table and an HTML "
                           "report. fau measures visible facial movement, not feelings; do "
                           "not use it on employees or job candidates (EU AI Act Art. 5(1)(f))."))
    p.add_argument("path", metavar="PATH", help="video file (MP4, MOV, WebM, MKV, AVI, FLV)")
    p.add_argument("--out", help="per-frame table: .csv, .json or .parquet")
    p.add_argument("--report", help="self-contained HTML report")
    p.add_argument("--events", help="event table: .csv, .json or .parquet")
    p.add_argument("--segments", help="CSV with start,end[,label] (seconds) per segment")
    p.add_argument("--summary", help="segment summary table: .csv, .json or .parquet "
                                     "(needs --segments)")
    p.add_argument("--fps", type=float, default=None,
                   help="analyse this many frames per second of video (default: every frame)")
    p.add_argument("--start", type=float, default=None, help="start time (s)")
    p.add_argument("--end", type=float, default=None, help="end time (s)")
    p.add_argument("--baseline", type=float, nargs=2, metavar=("START", "END"),
                   help="seconds of a known-neutral stretch for every track's baseline")
    p.add_argument("--model", default="ferplus", choices=["ferplus", "fer2013", "none"],
                   help="expression model (default: ferplus; none: AUs only)")
    p.add_argument("--max-faces", type=int, default=4)
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before the (long) analysis when an output could not be written."""
    from ._output import FORMATS

    outs = [(args.out, "--out"), (args.events, "--events"), (args.summary, "--summary"),
            (args.report, "--report")]
    seen = set()
    for value, flag in outs:
        if not value:
            continue
        p = Path(value)
        if flag == "--report":
            if p.suffix.lower() not in (".html", ".htm"):
                raise FauError(f"--report must end in .html: {value!r}")
        elif p.suffix.lower() not in FORMATS:
            raise FauError(f"{flag} must end in one of {', '.join(FORMATS)}: {value!r}")
        if p.exists() and not args.overwrite:
            raise FauError(f"{value!r} exists; choose another name or pass --overwrite")
        if not p.parent.exists():
            raise FauError(f"folder {str(p.parent)!r} does not exist")
        if p.resolve() == Path(args.path).resolve():
            raise FauError(f"{flag} would overwrite the input video {value!r}")
        if p.resolve() in seen:
            raise FauError(f"two outputs have the same name {value!r}")
        seen.add(p.resolve())
    if args.summary and not args.segments:
        raise FauError("--summary needs --segments")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..detector import Detector
    from ..report import render_report, write_report
    from ..video import find_events, probe, read_segments, summarize_segments
    from ._output import write_table

    _check_outputs(args)
    segments = read_segments(args.segments) if args.segments else None
    info = probe(args.path)
    lo = args.start or 0.0
    hi = args.end if args.end is not None else info.duration
    total = round(hi - lo, 2) if hi is not None and hi > lo else None
    model = None if args.model == "none" else args.model
    fmt = ("{l_bar}{bar}| {n:.1f}/{total_fmt} s of video [{elapsed}<{remaining}]" if total
           else "{desc}: {n:.1f} s of video [{elapsed}]")
    bar = tqdm(total=total, unit="s", desc=Path(args.path).name, disable=args.no_progress,
               file=sys.stderr, bar_format=fmt)
    done = [lo]

    def progress(t: float) -> None:
        t = min(t, lo + total) if total else t
        step = t - done[0]
        if step > 0:
            bar.update(step)
            done[0] = t

    with Detector(expression_model=model, max_faces=args.max_faces) as det:
        try:
            df = det.detect_video(args.path, fps=args.fps, start=args.start, end=args.end,
                                  baseline=tuple(args.baseline) if args.baseline else None,
                                  progress=progress)
        finally:
            bar.close()
    events = find_events(df)
    summary = summarize_segments(df, segments, events) if segments is not None else None
    if args.out:
        write_table(df, args.out, overwrite=args.overwrite)
    if args.events:
        write_table(events, args.events, overwrite=args.overwrite)
    if args.summary and summary is not None:
        write_table(summary, args.summary, overwrite=args.overwrite)
    if args.report:
        html = render_report(df, events=events, segments=segments, summary=summary, model=model)
        write_report(args.report, html, overwrite=args.overwrite)
    a = df.attrs
    tracks = df["track_id"].nunique() if len(df) else 0
    print(f"{a['decoded_frames']} frames decoded, {a['analysed_frames']} analysed in "
          f"{a['seconds']:.1f} s ({a['analysed_frames'] / max(a['seconds'], 1e-9):.1f} frames/s); "
          f"{len(df)} face rows, {tracks} track(s), {len(events)} events"
          + ("; the file was truncated (see the warning)" if a["truncated"] else ""))
    for value, what in ((args.out, "frames"), (args.events, "events"),
                        (args.summary, "segment summary"), (args.report, "report")):
        if value:
            print(f"{what}: {value}")
    if summary is not None and not args.summary:
        cols = [c for c in ("segment", "label", "track_id", "frames", "AU12_mean", "AU04_mean",
                            "events") if c in summary.columns]
        print(summary[cols].to_string(index=False, float_format="{:.3f}".format))
    return 0
