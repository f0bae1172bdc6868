"""Streaming video decoding with PyAV: frames, presentation timestamps, sampling.

fau decodes with PyAV (FFmpeg bundled in the ``av`` wheel), not OpenCV: PyAV gives each
frame's presentation timestamp (PTS) exactly, so variable-frame-rate phone recordings
keep their real timing, and it reads browser MediaRecorder WebM files whose header has
no duration (OpenCV reports a huge negative frame count for those). Decoding speed was
measured side by side by ``benchmarks/bench_video.py`` (numbers in ``docs/benchmarks.md``).

Frames are decoded one at a time and handed on; nothing is buffered beyond the frame
being processed, so memory does not grow with the video's length.

Timestamps
----------
``timestamp`` is the frame's PTS in seconds minus the container's start time, i.e. the
time a media player shows for that frame. When a frame has no PTS (rare: some AVI
files), the previous frame's timestamp plus one nominal frame interval is used.

Sampling
--------
``fps=None`` yields every decoded frame. ``fps=f`` yields the first frame at or after
each tick ``t0 + k / f`` of presentation time (``t0`` = ``start`` or 0); when frames are
sparser than the ticks, one frame covers every tick it passes. ``start`` / ``end`` (s)
keep frames with ``start <= timestamp <= end``. Frames before ``start`` are still
decoded (not converted to RGB), so the decode-order ``frame`` index stays exact.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import FauError

__all__ = ["VideoInfo", "VideoFrame", "probe", "iter_frames", "to_rgb", "Sampler", "STOP", "DEFAULT_FPS"]

log = logging.getLogger(__name__)

#: Nominal frame rate (frames/s) assumed when a stream declares none; used only to
#: invent a timestamp for a frame without PTS.
DEFAULT_FPS = 30.0
#: Tolerance (s) when comparing timestamps with sampling ticks and ``start``/``end``
#: (below any real frame interval: 1 ms = 1/1000 s, the finest common time base).
_EPS = 1e-6
#: A stream that ends more than this many seconds (or 3 frame intervals, if longer)
#: before its header's duration is reported as truncated.
_SHORT_S = 0.5


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about its first video stream (before decoding).

    Attributes
    ----------
    path : str
    format : str
        Container format name(s) as FFmpeg reports them (e.g. ``"mov,mp4,m4a,3gp"``).
    codec : str
        Video codec (e.g. ``"h264"``, ``"vp8"``, ``"vp6f"``).
    width, height : int
        Pixels.
    fps : float or None
        The stream's average frame rate (frames/s) if declared.
    duration : float or None
        Seconds, if the header has it (browser MediaRecorder WebM files have none).
    frames : int or None
        Frame count if the header has it (often absent; never trusted for timing).
    """

    path: str
    format: str
    codec: str
    width: int
    height: int
    fps: float | None
    duration: float | None
    frames: int | None


@dataclass(frozen=True)
class VideoFrame:
    """One decoded frame: decode-order index, timestamp (s) and RGB pixels (H, W, 3)."""

    index: int
    timestamp: float
    rgb: np.ndarray


def _check_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise FauError(f"video file not found: {str(p)!r}")
    if p.is_dir():
        raise FauError(f"{str(p)!r} is a folder, not a video file")
    if p.stat().st_size == 0:
        raise FauError(f"video file {str(p)!r} is empty (0 bytes)")
    return p


def _open(path: str | os.PathLike):
    """Open a local file or a URL with PyAV; FauError when FFmpeg cannot read it."""
    import av

    src = str(path)
    if "://" not in src:
        src = str(_check_path(path))
    try:
        container = av.open(src, mode="r")
    except (av.FFmpegError, OSError) as exc:
        raise FauError(f"cannot read {src!r} as a video: {exc}") from None
    if not container.streams:
        container.close()
        raise FauError(
            f"cannot read {src!r} as a video: no media streams found (a truncated MP4/MOV "
            "loses its index, the 'moov' atom, and cannot be read at all)"
        )
    if not container.streams.video:
        names = ", ".join(s.type for s in container.streams) or "none"
        container.close()
        raise FauError(f"{src!r} has no video stream (streams: {names})")
    return container


def _float(x: Fraction | None) -> float | None:
    return float(x) if x else None


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's header (no decoding).

    Raises
    ------
    FauError
        Missing or empty file, not a media file FFmpeg can read, or no video stream.
    """
    container = _open(path)
    try:
        return _info(container, str(path))
    finally:
        container.close()


def _info(container, path: str) -> VideoInfo:
    stream = container.streams.video[0]
    ctx = stream.codec_context
    duration = None
    if stream.duration is not None and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1e6  # microseconds (AV_TIME_BASE)
    return VideoInfo(
        path=path,
        format=container.format.name,
        codec=ctx.name if ctx is not None else "?",
        width=int(stream.width or 0),
        height=int(stream.height or 0),
        fps=_float(stream.average_rate) or _float(stream.guessed_rate),
        duration=duration if duration and duration > 0 else None,
        frames=int(stream.frames) or None,
    )


def iter_frames(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    start: float | None = None,
    end: float | None = None,
    info: list | None = None,
    stats: dict | None = None,
    stop=None,
    decoder_threads: int | None = None,
) -> Iterator[VideoFrame]:
    """Decode a video and yield the selected frames as RGB arrays, one at a time.

    Parameters
    ----------
    path : str or path-like
        Local file (MP4, MOV, WebM, MKV, AVI, FLV, ... anything FFmpeg reads) or a URL.
    fps : float or None
        Sampling rate in frames per second of presentation time (see module docs);
        None yields every frame.
    start, end : float or None
        Seconds; frames with ``start <= timestamp <= end`` are yielded.
    info : list or None
        If given, the `VideoInfo` is appended to it once the file is open.
    stats : dict or None
        If given, filled while decoding: ``decoded`` (frames decoded), ``truncated``
        (True when decoding stopped on an error), ``last_timestamp`` (s).
    stop : threading.Event or None
        Decoding ends early when it is set.
    decoder_threads : int or None
        FFmpeg decoder threads; None lets FFmpeg choose (frame + slice threads, one
        per core), 1 keeps decoding on the calling thread's core.

    Yields
    ------
    VideoFrame

    Raises
    ------
    FauError
        Missing, empty or unreadable file, no video stream, bad arguments, or a file
        whose video could not be decoded at all. A file that breaks off part-way
        (truncated, corrupt tail) yields what decoded and logs a warning.
    """
    import av

    fps, start, end = _check_sampling(fps, start, end)
    container = _open(path)
    stats = {} if stats is None else stats
    stats.update(decoded=0, truncated=False, last_timestamp=None, error=None)
    try:
        vinfo = _info(container, str(path))
        if info is not None:
            info.append(vinfo)
        stream = container.streams.video[0]
        if decoder_threads is None:
            stream.thread_type = "AUTO"  # FFmpeg frame/slice threads inside the decoder
        else:
            stream.codec_context.thread_count = max(1, int(decoder_threads))
        origin = (container.start_time or 0) / 1e6  # microseconds → s
        step = 1.0 / (vinfo.fps or DEFAULT_FPS)
        sampler = Sampler(fps, start, end)
        prev_t: float | None = None
        index = -1
        stopped_early = False
        frames = container.decode(stream)
        while True:
            if stop is not None and stop.is_set():
                stopped_early = True
                return
            try:
                frame = next(frames)
            except StopIteration:
                break
            except (av.FFmpegError, OSError, EOFError, ValueError) as exc:
                stats["truncated"] = True
                stats["error"] = str(exc)
                break
            index += 1
            stats["decoded"] = index + 1
            t = float(frame.time) - origin if frame.pts is not None else None
            if t is None or (prev_t is not None and not math.isfinite(t)):
                t = (prev_t + step) if prev_t is not None else 0.0
            prev_t = t
            stats["last_timestamp"] = t
            decision = sampler.decide(t)
            if decision is STOP:
                stopped_early = True
                break
            if not decision:
                continue
            yield VideoFrame(index, t, to_rgb(frame))
    finally:
        container.close()
    if stats["decoded"] == 0:
        why = f": {stats['error']}" if stats["error"] else ""
        raise FauError(f"no video frame could be decoded from {str(path)!r}{why}")
    declared = vinfo.duration
    last = stats["last_timestamp"] or 0.0
    if (
        not stats["truncated"]
        and not stopped_early
        and declared is not None
        and declared - last > max(_SHORT_S, 3.0 * step)
    ):
        stats["truncated"] = True
        stats["error"] = f"the stream ended at {last:.2f} s but its header says {declared:.2f} s"
    if stats["truncated"]:
        log.warning(
            "%s: decoding stopped after %d frames (%.2f s) on an error (truncated or "
            "corrupt file?): %s; the frames before it are used",
            path, stats["decoded"], stats["last_timestamp"] or 0.0, stats["error"],
        )


#: `Sampler.decide`'s answer when no later frame can be selected (past ``end``).
STOP = "stop"


class Sampler:
    """Which frames to analyse, from their timestamps alone (see module docs).

    Parameters
    ----------
    fps : float or None
        Ticks per second of presentation time (None: every frame).
    start, end : float or None
        Seconds; frames with ``start <= t <= end`` are eligible.

    Examples
    --------
    >>> s = Sampler(5.0, None, None)
    >>> [s.decide(t) for t in (0.0, 0.1, 0.2, 0.21, 0.45)]
    [True, False, True, False, True]
    """

    def __init__(self, fps: float | None, start: float | None, end: float | None) -> None:
        self.fps, self.start, self.end = fps, start, end
        self.t0 = start if start is not None else 0.0
        self.next_tick = self.t0

    def decide(self, t: float) -> bool | str:
        """True to analyse the frame at ``t`` (s), False to skip it, `STOP` after ``end``.

        Timestamps must come in increasing order.
        """
        if self.start is not None and t < self.start - _EPS:
            return False
        if self.end is not None and t > self.end + _EPS:
            return STOP
        if self.fps is not None:
            if t < self.next_tick - _EPS:
                return False
            k = math.floor((t - self.t0) * self.fps + _EPS) + 1
            self.next_tick = self.t0 + k / self.fps
        return True


def to_rgb(frame) -> np.ndarray:
    """A PyAV frame as an RGB ``uint8`` array (H, W, 3).

    8-bit 4:2:0 frames (most H.264/VP8/VP9 video) are converted by OpenCV from the
    YUV planes (BT.601, 0.16 ms for 640×480 here), which is 8× faster than FFmpeg's
    swscale path of ``to_ndarray(format="rgb24")`` (1.3 ms; results differ by ≤ 3
    levels, mean 0.9, measured on the benchmark video); other formats use swscale.
    """
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        import cv2

        return cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def _check_sampling(
    fps: float | None, start: float | None, end: float | None
) -> tuple[float | None, float | None, float | None]:
    def num(name: str, v) -> float | None:
        if v is None:
            return None
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise FauError(f"{name} must be a number of seconds, got {v!r}") from None
        if not math.isfinite(f) or f < 0:
            raise FauError(f"{name} must be a finite number >= 0, got {v!r}")
        return f

    start, end = num("start", start), num("end", end)
    if fps is not None:
        try:
            fps = float(fps)
        except (TypeError, ValueError):
            raise FauError(f"fps must be a number of frames per second, got {fps!r}") from None
        if not math.isfinite(fps) or fps <= 0:
            raise FauError(f"fps must be > 0 (or None for every frame), got {fps!r}")
    if start is not None and end is not None and end <= start:
        raise FauError(f"end ({end} s) must be after start ({start} s)")
    return fps, start, end
