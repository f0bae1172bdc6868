"""``fau video PATH [--out frames.csv|.json|.parquet] [--report report.html] ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from .common import add_detector_options, add_min_face_option, detector_from_args

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``video`` sub-command to ``sub``."""
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
    p.add_argument("--openface-csv", metavar="CSV",
                   help="OpenFace 2.x-style CSV (frame, face_id, gaze, pose, AUxx_r/_c)")
    p.add_argument("--elan", metavar="EAF", help="ELAN annotation file (.eaf) linked to the video")
    p.add_argument("--segments", help="CSV with start,end[,label] (seconds) per segment")
    p.add_argument("--summary", help="segment summary table: .csv, .json or .parquet "
                                     "(needs --segments)")
    p.add_argument("--fps", type=float, default=None,
                   help="analyse this many frames per second of video (default: every frame)")
    p.add_argument("--start", type=float, default=None, help="start time (s)")
    p.add_argument("--end", type=float, default=None, help="end time (s)")
    p.add_argument("--baseline", type=float, nargs=2, metavar=("START", "END"),
                   help="seconds of a known-neutral stretch for every track's baseline")
    add_detector_options(p)
    add_min_face_option(p)
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _progress_bar(args: argparse.Namespace):
    """A tqdm bar in seconds of video, and the callback `detect_video` drives it with."""
    from tqdm import tqdm

    from ..video import probe

    info = probe(args.path)
    lo = args.start or 0.0
    hi = args.end if args.end is not None else info.duration
    total = round(hi - lo, 2) if hi is not None and hi > lo else None
    fmt = ("{l_bar}{bar}| {n:.1f}/{total_fmt} s of video [{elapsed}<{remaining}]" if total
           else "{desc}: {n:.1f} s of video [{elapsed}]")
    # disable=None: no bar when stderr is not a terminal (a log file, a pipe, a test)
    bar = tqdm(total=total, unit="s", desc=Path(args.path).name,
               disable=True if args.no_progress else None, file=sys.stderr, bar_format=fmt)
    done = [lo]

    def progress(t: float) -> None:
        t = min(t, lo + total) if total else t
        step = t - done[0]
        if step > 0:
            bar.update(step)
            done[0] = t

    return bar, progress


def run(args: argparse.Namespace) -> int:
    """Run ``fau video``; returns the exit status."""
    from ..job import JobOutputs, run_video_job
    from ..video.reader import check_sampling

    check_sampling(args.fps, args.start, args.end)  # an empty window: before any work
    outputs = JobOutputs(frames=args.out, events=args.events, segment_summary=args.summary,
                         report=args.report, openface=args.openface_csv, elan=args.elan)
    outputs.check(video=args.path, overwrite=args.overwrite,
                  has_segments=args.segments is not None, segments=args.segments)
    with detector_from_args(args) as det:  # bad detector options fail before the bar shows
        bar, progress = _progress_bar(args)
        try:
            result = run_video_job(
                det, args.path, outputs, segments=args.segments, overwrite=args.overwrite,
                fps=args.fps, start=args.start, end=args.end,
                baseline=tuple(args.baseline) if args.baseline else None, progress=progress)
        except BaseException:
            bar.leave = False  # the error is the one line left on stderr
            raise
        finally:
            bar.close()
    _print_result(result, args, print)
    return 0


def _print_result(result, args: argparse.Namespace, say: Callable[[str], None]) -> None:
    df, a = result.frames, result.frames.attrs
    tracks = df["track_id"].nunique() if len(df) else 0
    say(f"{a['decoded_frames']} frames decoded, {a['analysed_frames']} analysed in "
        f"{a['seconds']:.1f} s ({a['analysed_frames'] / max(a['seconds'], 1e-9):.1f} frames/s); "
        f"{len(df)} face rows, {tracks} track(s), {len(result.events)} events"
        + ("; the file was truncated (see the warning)" if a["truncated"] else ""))
    names = {"frames": "frames", "events": "events", "segment_summary": "segment summary",
             "report": "report", "openface": "OpenFace CSV", "elan": "ELAN file"}
    for kind, path in result.written.items():
        say(f"{names.get(kind, kind)}: {path}")
    summary = result.segment_summary
    if summary is not None and not args.summary:
        cols = [c for c in ("segment", "label", "track_id", "frames", "AU12_mean", "AU04_mean",
                            "events") if c in summary.columns]
        say(summary[cols].to_string(index=False, float_format="{:.3f}".format))
