"""Streamed decoding of a container's first audio track to 16 kHz mono (PyAV).

FFmpeg (in the ``av`` wheel) decodes whatever the container holds (AAC, MP3 — the
CREMA-D FLV clips —, Opus, PCM, ...) and its resampler (swresample) converts it to
mono float samples at `SAMPLE_RATE`, the rate Silero VAD is trained for. Blocks are
handed on as they are decoded, so memory does not grow with the length of the file
(an hour at 16 kHz would be 230 MB as float32).

Times are seconds on the video's timeline: the first audio sample's presentation
timestamp minus the container's start time (the rule `fau.video.reader` uses for
frames), then one sample every 1/16000 s. A jump in the audio timestamps of more than
`MAX_DRIFT_S` (a gap in the recording) starts a new block at the new time.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import FauError
from ..limits import MAX_VIDEO_PIXELS

__all__ = ["SAMPLE_RATE", "MAX_DRIFT_S", "AudioInfo", "audio_info", "iter_audio"]

log = logging.getLogger(__name__)

#: Samples per second handed to the voice activity detector (Silero VAD's rate).
SAMPLE_RATE = 16000
#: Largest difference (s) between the audio's own timestamps and the count of samples
#: decoded before a block is re-timed (0.1 s: well above MP3/AAC frame jitter, 26 ms).
MAX_DRIFT_S = 0.1


@dataclass(frozen=True)
class AudioInfo:
    """The first audio track of a file, as its header describes it.

    Attributes
    ----------
    codec : str
        FFmpeg's codec name (e.g. ``"aac"``, ``"mp3"``).
    rate : int
        Samples per second.
    channels : int
    duration : float or None
        Seconds, if the header has it.
    """

    codec: str
    rate: int
    channels: int
    duration: float | None


def _open(path: str | os.PathLike):
    import av

    src = str(path)
    if "://" not in src and not Path(src).is_file():
        raise FauError(f"video file not found: {src!r}")
    try:
        # FFmpeg decodes a video frame or two while it reads the header: the video limit
        # holds here too, so a 16000×16000 frame is never allocated for its audio track
        # and a metadata text that is not UTF-8 (a Latin-1 title) is read with U+FFFD, as
        # the video reader reads it (`fau.video.reader.METADATA_ERRORS`): fau reads none
        return av.open(src, mode="r", options={"max_pixels": str(MAX_VIDEO_PIXELS)},
                       metadata_errors="replace")
    except (av.FFmpegError, OSError) as exc:
        raise FauError(f"cannot read {src!r} as a media file: {exc}") from None


def audio_info(path: str | os.PathLike) -> AudioInfo | None:
    """The first audio track's header facts, or None when the file has no audio.

    Parameters
    ----------
    path : str or path
        A media file.

    Returns
    -------
    AudioInfo or None
        ``codec``, ``rate`` (Hz), ``channels`` and ``duration`` (s, None when the header
        has none) of the first audio track; None without an audio track.
    """
    with _open(path) as container:
        if not container.streams.audio:
            return None
        s = container.streams.audio[0]
        cc = s.codec_context
        dur = float(s.duration * s.time_base) if s.duration and s.time_base else None
        return AudioInfo(cc.codec.canonical_name, int(cc.sample_rate or s.rate or 0),
                         int(getattr(cc, "channels", 0) or len(cc.layout.channels)), dur)


def iter_audio(
    path: str | os.PathLike, *, block_s: float = 10.0
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield ``(t0, samples)``: blocks of the first audio track, mono float32 at 16 kHz.

    Parameters
    ----------
    path : str or path-like
        A media file or URL FFmpeg reads.
    block_s : float
        About how many seconds each block holds (the last one may be shorter).

    Yields
    ------
    t0 : float
        Time (s, video timeline) of the block's first sample.
    samples : ndarray (n,) float32
        Samples in [-1, 1], contiguous from ``t0`` at `SAMPLE_RATE`.

    Raises
    ------
    FauError
        The file is missing or not a media file. A file without audio yields nothing;
        a decoding error ends the blocks early (logged as a warning).
    """
    import av

    block = max(1, int(round(block_s * SAMPLE_RATE)))
    with _open(path) as container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        origin = (container.start_time or 0) / 1e6  # microseconds -> s
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        buf: list[np.ndarray] = []
        have = 0
        t0: float | None = None  # time of buf's first sample

        def take(frames) -> Iterator[tuple[float, np.ndarray]]:
            nonlocal buf, have, t0
            for out in frames:
                x = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                if not len(x):
                    continue
                t = float(out.pts * out.time_base) - origin if out.pts is not None else None
                if t0 is None:
                    t0 = t if t is not None else 0.0
                elif t is not None and abs(t - (t0 + have / SAMPLE_RATE)) > MAX_DRIFT_S:
                    if have:
                        yield t0, np.concatenate(buf)
                    buf, have, t0 = [], 0, t
                buf.append(x)
                have += len(x)
                while have >= block:
                    cat = np.concatenate(buf)
                    yield t0, cat[:block]
                    t0 += block / SAMPLE_RATE
                    buf, have = [cat[block:]], len(cat) - block

        try:
            for frame in container.decode(stream):
                yield from take(resampler.resample(frame))
        except (av.FFmpegError, OSError, EOFError, ValueError) as exc:
            log.warning("%s: audio decoding stopped early: %s", path, exc)
        yield from take(resampler.resample(None))
        if have and t0 is not None:
            yield t0, np.concatenate(buf)
