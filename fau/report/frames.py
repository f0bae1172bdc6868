"""A few frames of a video, found again by their timestamps (seek, then decode forward).

The report shows face crops of chosen moments. The analysis does not keep frames (memory
must not grow with the video), so the report re-opens the file with PyAV (FFmpeg), seeks
to the keyframe before each wanted time and decodes forward to the frame whose
presentation time matches — a few dozen frames per moment instead of the whole video.
Times are those of `fau.video.iter_frames` (PTS minus the container's start time), and
frames are converted to RGB by `fau.video.reader.to_rgb`, so a crop shows exactly what was
analysed. Times close together are served by one forward decode.
"""

from __future__ import annotations

import logging
import os
from typing import Iterable

import numpy as np


__all__ = ["frames_at", "MATCH_TOLERANCE_S", "FORWARD_S"]

log = logging.getLogger(__name__)

#: A decoded frame matches a wanted time when they differ by at most this much (s): half
#: a frame interval at 60 frames/s plus rounding of millisecond time bases.
MATCH_TOLERANCE_S = 0.009
#: Wanted times at most this far (s) after the current decode position are reached by
#: decoding forward instead of seeking (a typical keyframe interval is 2–10 s).
FORWARD_S = 3.0


def _seek(container, stream, t: float, origin: float) -> None:
    target = int((t + origin) / float(stream.time_base)) if stream.time_base else 0
    container.seek(max(target, 0), stream=stream, backward=True, any_frame=False)


def _scan(path, wanted: list[float]) -> dict[float, np.ndarray]:
    """One pass of `fau.video.iter_frames` (exact for repaired timestamps; slow)."""
    from ..video.reader import iter_frames

    found, i = {}, 0
    for vf in iter_frames(path, start=max(wanted[0] - 1.0, 0.0), end=wanted[-1] + 1.0):
        while i < len(wanted) and wanted[i] < vf.timestamp - MATCH_TOLERANCE_S:
            i += 1
        if i >= len(wanted):
            break
        if abs(wanted[i] - vf.timestamp) <= MATCH_TOLERANCE_S:
            found[wanted[i]] = vf.rgb
            i += 1
    return found


def _orient(frame, rgb: np.ndarray) -> np.ndarray:
    """``rgb`` turned upright by the frame's display matrix, as `fau.video.iter_frames` does."""
    from av.sidedata.sidedata import Type

    from ..video.reader import Orientation

    sd = frame.side_data.get(Type.DISPLAYMATRIX)
    key = bytes(sd) if sd is not None else b""
    if len(key) < 36:
        return rgb
    return Orientation.from_matrix(np.frombuffer(key[:36], np.int32)).apply(rgb)


def frames_at(path: str | os.PathLike, times: Iterable[float], *,
              scan: bool = False) -> dict[float, np.ndarray]:
    """Decode the frames shown at the given times.

    Parameters
    ----------
    path : str or path-like
        The video that was analysed.
    times : iterable of float
        Timestamps (s) as in a `detect_video` table's ``timestamp`` column.
    scan : bool
        Decode the span in one pass with `fau.video.iter_frames` instead of seeking: for
        files the reader had to repair (timestamp resets, damaged packets), where a seek by
        presentation time may not land on the frames the analysis saw.

    Returns
    -------
    dict
        Wanted time → RGB ``uint8`` array (H, W, 3); times that could not be found (not
        in the file, or a decoding error near them) are missing.

    Raises
    ------
    FauError
        The file cannot be opened as a video (missing, unreadable, no video stream).
    """
    import av

    from ..video.reader import probe, to_rgb

    probe(path)  # FauError with a clear message for a missing or unreadable file
    wanted = sorted({float(t) for t in times if np.isfinite(t)})
    found: dict[float, np.ndarray] = {}
    if not wanted:
        return found
    if scan:
        return _scan(path, wanted)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        origin = (container.start_time or 0) / 1e6  # microseconds → s
        position = None  # timestamp of the last decoded frame
        i = 0
        while i < len(wanted):
            t = wanted[i]
            if position is None or t < position - MATCH_TOLERANCE_S or t > position + FORWARD_S:
                try:
                    _seek(container, stream, t, origin)
                except (av.FFmpegError, OSError) as exc:
                    log.warning("%s: cannot seek to %.3f s: %s", path, t, exc)
                    i += 1
                    continue
            i, position = _decode_until(container, stream, wanted, i, origin, found, to_rgb)
    return found


def _decode_until(container, stream, wanted, i, origin, found, to_rgb) -> tuple[int, float]:
    """Decode forward from the current position, filling ``found`` for ``wanted[i:]``
    until the next wanted time needs a seek; returns the next index and the position."""
    import av

    position = -np.inf
    try:
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            position = float(frame.time) - origin
            start = i
            while i < len(wanted) and wanted[i] < position - MATCH_TOLERANCE_S:
                i += 1  # passed it: this time is not in the file (or the seek overshot)
            if i < len(wanted) and abs(wanted[i] - position) <= MATCH_TOLERANCE_S:
                found[wanted[i]] = _orient(frame, to_rgb(frame))
                i += 1
            if i >= len(wanted) or (i > start and wanted[i] > position + FORWARD_S):
                break
        else:
            i = len(wanted)  # end of the stream
    except (av.FFmpegError, OSError, EOFError, ValueError) as exc:
        log.warning("decoding stopped near %.3f s: %s", position, exc)
        i += 1
    return i, position
