"""``fau live [--source 0|file|url]``: real-time analysis with an overlay or JSON lines."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .common import add_detector_options, detector_from_args

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``live`` sub-command to ``sub``."""
    p = sub.add_parser("live", help="analyse a camera or stream in real time",
                       description=(
                           "Analyse a camera (index), a stream URL or a video file played as a "
                           "camera at its native rate. Shows an overlay window when a display "
                           "exists, otherwise prints one JSON line per analysed frame. Frames "
                           "that arrive while one is analysed are dropped (not queued). "
                           "Latency and fps are printed on stderr at the end."))
    p.add_argument("--source", default="0", help="camera index (default 0), video file or URL")
    add_detector_options(p)
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--json", action="store_true", help="JSON lines even when a display exists")
    p.add_argument("--fast", action="store_true",
                   help="files: analyse every frame as fast as possible instead of at the "
                        "native rate")
    p.set_defaults(func=run)


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _overlay(bgr, faces: list[dict]):
    import cv2

    for f in faces:
        x, y, w, h = (int(f[k]) for k in ("face_x", "face_y", "face_w", "face_h"))
        cv2.rectangle(bgr, (x, y), (x + w, y + h), (0, 200, 0), 2)
        label = f"#{f['track_id']}"
        if f.get("expression"):
            label += f" {f['expression']} {f[f['expression']]:.2f}"
        cv2.putText(bgr, label, (x, max(y - 6, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 200, 0), 1, cv2.LINE_AA)
        # AU bars: relative to the running baseline once it exists (after 2 s), else raw;
        # ±0.3 IOD full scale, zero at the tick.
        for i, au in enumerate(("AU01", "AU04", "AU06", "AU12", "AU15", "AU25", "AU45")):
            v = f.get(f"{au}_rel")
            v = f[au] if v is None else v
            bar = int(max(min(v, 0.3), -0.3) / 0.3 * 40)
            yy = y + h + 14 + 12 * i
            cv2.putText(bgr, au, (x, yy), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1,
                        cv2.LINE_AA)
            cv2.line(bgr, (x + 80, yy - 8), (x + 80, yy + 1), (200, 200, 200), 1)
            cv2.line(bgr, (x + 80, yy - 3), (x + 80 + bar, yy - 3), (0, 180, 255), 4)
        cv2.putText(bgr, f"{f['latency_ms']:.0f} ms", (x + w - 44, max(y - 6, 12)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 0), 1, cv2.LINE_AA)
    return bgr


def _only_output(stats, n: int) -> None:
    """Make ``stats`` (a `fau.video.live.LiveStats`) count only the first ``n`` analysed
    frames: those whose record was written or shown. Ctrl-C between the analysis of a
    frame and its output counted one frame more in the summary than the lines written."""
    stats.analysed = min(stats.analysed, n)
    del stats.latency_ms[n:], stats.compute_ms[n:]


def _reader_gone(out) -> None:
    """The reader of ``out`` went away (``fau live --json | head -5``): stop, as the
    other end of a pipe expects, without a traceback. Later writes to the same file
    descriptor (Python's flush at exit) go to the null device instead of raising again."""
    print("fau live: the reader of the output closed it; stopped", file=sys.stderr)
    try:
        fd = out.fileno()
    except (OSError, ValueError, AttributeError):  # not a file (captured, in a test)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def run(args: argparse.Namespace) -> int:
    """Run ``fau live``; returns the exit status."""
    from ..video.live import LiveStats, check_duration, check_source, run_live

    check_source(args.source)
    check_duration(args.duration)  # before the models load
    window = _has_display() and not args.json
    stats = LiveStats()
    out = sys.stdout
    output = 0  # frames whose record was shown or written
    try:
        with detector_from_args(args) as det:
            frames = run_live(det, args.source, realtime=not args.fast,
                              duration=args.duration, stats=stats)
            if window:
                import cv2

                for frame, faces in frames:
                    bgr = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)
                    cv2.imshow("fau live (q quits)", _overlay(bgr, faces))
                    output += 1
                    if cv2.waitKey(1) & 0xFF == ord("q"):
                        break
                cv2.destroyAllWindows()
            else:
                try:
                    for frame, faces in frames:
                        out.write(json.dumps({"frame": frame.index,
                                              "timestamp": round(frame.timestamp, 4),
                                              "faces": faces}) + "\n")
                        out.flush()
                        output += 1
                except BrokenPipeError:
                    _reader_gone(out)
            frames.close()  # stops the source thread now, not when collected
    finally:
        _only_output(stats, output)
        if stats.offered or stats.analysed:  # nothing to sum up when the source never opened
            print(f"fau live: {stats.summary()}", file=sys.stderr)
    return 0
