"""`detect_video`: a video file → one row per face per analysed frame.

Pipeline: a decoder thread (`fau.video.reader.iter_frames`, PyAV) puts RGB frames in a
bounded queue (`QUEUE_FRAMES`); the calling thread tracks faces
(`fau.video.tracking.Tracker`); `fau.pipeline.RowChunks` cuts each frame's appearance
patches, runs the appearance CNN on a worker thread (when the expression model reads
it), and turns the faces into feature blocks and table rows in chunks of `CHUNK_ROWS`
(one DataFrame and one batched expression-model call per chunk instead of per frame) —
the same `fau.pipeline.Pipeline` that `fau.Detector.detect_image` uses. PyAV, LiteRT and
onnxruntime release Python's GIL while they work, so decoding, landmarks and the CNN
overlap on two cores. Memory: at most `QUEUE_FRAMES` + 2 decoded frames and one chunk of
feature blocks exist at a time; only the result rows accumulate.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np
import pandas as pd

from ..audio.vad import VoiceActivity, voice_activity
from ..errors import FauError, check_flags
from ..pipeline import RowChunks
from ..limits import MAX_VIDEO_PIXELS
from .reader import DecodeStats, VideoFrame, VideoInfo, iter_frames
from .speech import add_speech
from .temporal import add_temporal, check_baseline
from .tracking import DETECT_EVERY_S, Tracker, check_detect_every

if TYPE_CHECKING:  # pragma: no cover
    from ..detector import Detector

__all__ = ["detect_video", "VIDEO_COLUMNS", "VIDEO_FLOAT_DTYPE", "QUEUE_FRAMES", "CHUNK_ROWS"]

log = logging.getLogger(__name__)

#: Decoded frames waiting between the decoder thread and inference (640×480 RGB:
#: 0.9 MB each). Small: the consumer is the slow side; a few frames absorb jitter.
QUEUE_FRAMES = 8
#: Face rows turned into a DataFrame at once (about 1.5 ms per DataFrame and ~1 ms per
#: expression-model call are paid per chunk, not per frame; ~4 MB of feature blocks).
CHUNK_ROWS = 256
#: Analysed frames between two returns of the C heap's free memory to the system during
#: the frame loop (`_release_free_memory`; 300 frames = 10 s of 30-fps video). Without
#: them the freed-but-kept blocks of four threads held 20-25 MB more after 5 minutes of
#: 640×480 video (438-446 MB against 418-426 MB, ``benchmarks/bench_video.py``'s video;
#: docs/benchmarks.md, "An hour of video"); one call takes well under a millisecond.
TRIM_EVERY_FRAMES = 300
#: Dtype of the video table's float columns, except ``timestamp`` (float64: an hour is
#: 3600 s, where float32 would keep only ~0.2 ms). float32 holds 7 significant digits,
#: far finer than the landmarks the values come from (the landmark model runs in
#: float16/float32), and halves the rows: an hour of 30-fps video with one face is
#: 108,000 rows of 184 such columns (121 face columns, 60 of `add_temporal`, 3 of
#: `add_speech`), 159 MB in float64, 79 MB in float32 (docs/benchmarks.md, "An hour of
#: video").
VIDEO_FLOAT_DTYPE = np.float32
#: The columns `detect_video` puts before those of `Detector.detect_image`.
VIDEO_COLUMNS = ("frame", "timestamp", "track_id")
#: Per-row index of the video table: the three `VIDEO_COLUMNS` and the face's position
#: in its frame (which replaces the per-chunk ``face`` of `fau.pipeline.Pipeline.table`).
_ROW_INDEX = (("frame", np.int64), ("timestamp", np.float64), ("track_id", np.int64),
              ("face", np.int64))

_END = object()


def detect_video(
    detector: "Detector",
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    start: float | None = None,
    end: float | None = None,
    temporal: bool = True,
    baseline: tuple[float, float] | None = None,
    landmarks: bool = False,
    detect_every: float = DETECT_EVERY_S,
    progress: Callable[[float], None] | None = None,
    threaded: bool = True,
    max_pixels: int = MAX_VIDEO_PIXELS,
    max_duration_s: float | None = None,
    audio: bool = True,
) -> pd.DataFrame:
    """Analyse every face in a video, frame by frame, with stable track ids.

    Parameters
    ----------
    detector : fau.Detector
        Its landmark ``backend`` (tracked by `fau.video.tracking.Tracker` with its
        ``max_faces`` and ``min_face_score``) and its ``pipeline`` (rows).
    path : str or path-like
        Video file (MP4/H.264, MOV, WebM incl. browser MediaRecorder files without a
        duration, MKV, AVI, FLV, anything FFmpeg reads) or a stream URL.
    fps : float or None
        None analyses every frame; ``fps=5`` analyses the first frame at or after each
        0.2 s tick of presentation time (see `fau.video.reader`).
    start, end : float or None
        Analyse frames with ``start <= timestamp <= end`` (seconds).
    temporal : bool
        Add the smoothed, baseline-relative columns of `fau.video.add_temporal`
        (``AUxx_smooth``, ``AUxx_rel``, ``<expression>_smooth``, ``expression_smooth``,
        ``neutral_frame``).
    baseline : (start, end) or None
        Seconds of a known-neutral stretch for the baseline (default: automatic rule).
    landmarks : bool
        Add the 478 landmarks as columns ``x_0 … z_477`` (pixels; large).
    detect_every : float
        Seconds of video between face-detector runs while faces are tracked.
    progress : callable or None
        Called with each analysed frame's timestamp (s), e.g. to drive a progress bar.
    threaded : bool
        Decode on a separate thread (default). False decodes in the calling thread, so
        the whole analysis stays on one core (for batch workers that run one video per
        core). Either way FFmpeg decodes with the same settings
        (`fau.video.reader.DECODER_THREADS`), so the frames are the same, damaged
        files included.
    max_pixels, max_duration_s : int, float or None
        Frame-size (pixels) and decoded-duration (s) limits (`fau.video.iter_frames`).
    audio : bool
        Use the file's audio track (voice activity, `fau.audio`) for ``speaking``; False,
        a file without audio or a stream URL: the lips alone (`fau.video.speech`).

    Returns
    -------
    pandas.DataFrame
        One row per face per analysed frame, ordered by frame then track: ``frame``
        (source frame index in decode order, from 0), ``timestamp`` (s, presentation
        time minus the container's start), ``track_id`` (int, see
        `fau.video.tracking`: one id per person, tracks linked by face signature), then
        every column of `Detector.detect_image` (``face`` is the face's position in its
        frame), then the temporal columns, then ``voice_prob``, ``lip_motion``,
        ``speech_prob`` and ``speaking`` (`fau.video.speech`). Frames without a
        face give no row. ``df.attrs`` holds ``video`` (header facts, see
        `fau.video.VideoInfo`), ``decoded_frames``, ``analysed_frames``, ``truncated``,
        ``fps``, ``start``, ``end``, ``seconds`` (wall time), ``counts`` (tracker
        counters: detector and landmark-model runs) and ``decoding``
        (`fau.video.reader.DecodeStats.as_dict`: frames expected and lost, damaged
        packets, gaps, timestamp resets, rotation).

    Raises
    ------
    FauError
        Missing, empty or unreadable file; no video stream; no frame decodable; bad
        ``fps``/``start``/``end``. A truncated file returns the rows of the frames that
        decoded and logs a warning (``df.attrs["truncated"]`` is True).
    """
    baseline = _check_options(baseline, detect_every, temporal=temporal, landmarks=landmarks,
                              threaded=threaded, audio=audio)
    info: list[VideoInfo] = []
    stats = DecodeStats()
    stop = threading.Event()
    frames = iter_frames(path, fps=fps, start=start, end=end, info=info, stats=stats, stop=stop,
                         max_pixels=max_pixels,
                         max_duration_s=max_duration_s)
    source = _threaded(frames, stop) if threaded else frames
    t_wall = time.perf_counter()
    # Voice activity of the audio track, once per file, on its own thread (onnxruntime
    # releases the GIL) while the frames are analysed.
    voice_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fau-voice")
    # (only for a file that is there: a bad path gets the reader's error, not a log line
    # about audio first)
    local = isinstance(path, (str, os.PathLike)) and "://" not in str(path)
    voice = (voice_pool.submit(_voice, path, start, end)
             if audio and local and os.path.isfile(path) else None)
    tracker = Tracker(detector.backend, max_faces=detector.max_faces,
                      min_face_score=detector.min_face_score, detect_every=detect_every)
    try:
        df, analysed = _face_rows(detector, tracker, source, landmarks=landmarks,
                                  threaded=threaded, progress=progress,
                                  expected=lambda: _expected_frames(info, fps, start, end))
    finally:  # not cancel_futures: a voice task not yet started would fail result()
        voice_pool.shutdown(wait=False)
        stop.set()
        close = getattr(source, "close", None)
        if close is not None:
            close()
    _release_free_memory()
    if temporal:
        df = add_temporal(df, baseline=baseline)
    df = add_speech(df, _voice_result(voice, path))
    df.attrs.update(video=asdict(info[0]) if info else None, decoded_frames=stats.decoded,
                    analysed_frames=analysed, truncated=stats.truncated,
                    decoding=stats.as_dict(), fps=fps, start=start, end=end,
                    seconds=time.perf_counter() - t_wall, counts=dict(tracker.counts))
    _log_result(df, path, stats)
    return df


def _face_rows(detector: "Detector", tracker: Tracker, source: Iterator[VideoFrame], *,
               landmarks: bool, threaded: bool, progress: Callable[[float], None] | None,
               expected: Callable[[], int]) -> tuple[pd.DataFrame, int]:
    """Track the faces of every frame and turn them into rows (`fau.pipeline.RowChunks`).

    Returns the table (``track_id`` = person, `Tracker.identities`) and the number of
    frames analysed. ``expected()``: the frames the header announces (room for one face
    each is reserved at the first frame, so an hour of rows is never copied to grow).
    """
    pipeline = detector.pipeline
    # The appearance CNN (about as costly as the landmark model) runs on a worker thread,
    # overlapping the next frame's landmarks.
    pool = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="fau-appearance")
            if threaded and pipeline.appearance is not None else None)
    try:
        rows = RowChunks(pipeline, _ROW_INDEX, landmarks=landmarks, executor=pool,
                         float_dtype=VIDEO_FLOAT_DTYPE)
        analysed = _analyse_frames(source, tracker, rows, progress, expected)
        return _persons(rows.result(), tracker.identities()), analysed
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _voice(path, start: float | None, end: float | None) -> VoiceActivity | FauError | None:
    """The file's voice activity, None (no audio track) or the error that kept it from
    being decoded (logged by `_voice_result`, once the frames were read: a file that is
    not a video gets the reader's error alone, not a log line about audio first)."""
    try:
        return voice_activity(path, start=start, end=end)
    except FauError as exc:
        return exc


def _voice_result(voice: Future | None, path) -> VoiceActivity | None:
    """The voice activity of `_voice`'s task, or None (logged when the audio failed)."""
    result = voice.result() if voice is not None else None
    if isinstance(result, FauError):
        log.warning("%s: audio not used for speaking (%s); lips alone", path, result)
        return None
    return result


def _persons(df: pd.DataFrame, ids: dict[int, int]) -> pd.DataFrame:
    """``track_id`` = the person of each tracker track (`Tracker.identities`)."""
    if not len(df) or all(k == v for k, v in ids.items()):
        return df
    df["track_id"] = df["track_id"].map(ids).astype(np.int64)
    f, t = df["frame"].to_numpy(), df["track_id"].to_numpy()
    if np.all((f[1:] > f[:-1]) | ((f[1:] == f[:-1]) & (t[1:] >= t[:-1]))):
        return df  # still in order: no copy of the whole table
    return df.sort_values(["frame", "track_id"], kind="stable").reset_index(drop=True)


def _check_options(baseline, detect_every: float, **flags: object
                   ) -> tuple[float, float] | None:
    check_flags(**flags)  # a flag given as "no" would count as True
    baseline = check_baseline(baseline)
    check_detect_every(detect_every)
    return baseline


def _analyse_frames(source: Iterator[VideoFrame], tracker: Tracker, rows: RowChunks,
                    progress: Callable[[float], None] | None,
                    expected: Callable[[], int] = lambda: 0) -> int:
    """Track faces frame by frame and hand them to ``rows``; returns the frames analysed."""
    analysed = 0
    for vf in source:
        analysed += 1
        if analysed == 1:  # the header has been read by now
            rows.reserve(expected())
        faces = tracker.update(vf.rgb, vf.timestamp)
        if faces:
            rows.add(vf.rgb, [m for _, m in faces],
                     [(vf.index, vf.timestamp, tid, i) for i, (tid, _) in enumerate(faces)])
            if len(rows) >= CHUNK_ROWS:
                rows.flush()
        if analysed % TRIM_EVERY_FRAMES == 0:
            _release_free_memory()
        if progress is not None:
            progress(vf.timestamp)
    return analysed


def _release_free_memory() -> None:
    """Give the C heap's free memory back to the system (glibc's ``malloc_trim``).

    The frame loop allocates and frees a decoded frame, crops and patches per frame on
    four threads; glibc keeps such freed blocks in its per-thread arenas, while the
    large arrays made after the loop (the smoothed columns, `add_temporal`) get fresh
    pages: after a 60-s video 70 MB of the process's 549 MB were such free blocks
    (measured with ``benchmarks/bench_video.py``'s video, docs/benchmarks.md "Video").
    It is called every `TRIM_EVERY_FRAMES` analysed frames and after the loop.
    Elsewhere than glibc (no ``malloc_trim``) nothing is done.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return
    trim(0)


def _expected_frames(info: list[VideoInfo], fps: float | None, start: float | None,
                     end: float | None) -> int:
    """Frames of the analysed window by the header's duration and frame rate (0 when
    the header does not say).

    An ``fps`` above the video's own rate analyses each frame once (one frame covers
    every tick it passes), so the rate counted is the lower of the two: ``fps=1e9``
    must not reserve rows for a billion frames a second.
    """
    if not info or info[0].duration is None or not info[0].fps:
        return 0
    rate = info[0].fps if fps is None else min(float(fps), info[0].fps)
    lo = max(start or 0.0, 0.0)
    hi = info[0].duration if end is None else min(end, info[0].duration)
    return int(math.ceil(max(hi - lo, 0.0) * rate)) + 1


def _log_result(df: pd.DataFrame, path, stats: DecodeStats) -> None:
    a = df.attrs
    if a["analysed_frames"] == 0 and a["decoded_frames"]:
        last = stats.last_timestamp or 0.0
        # decoding stops at the first frame past ``end``: that frame is not the video's last
        where = ("the first frame after it is at" if a["end"] is not None and last > a["end"]
                 else "the video's last frame is at" if stats.complete
                 else "decoding stopped at the frame at")
        log.warning("%s: no frame in the requested window (start=%s, end=%s s); %s %.3f s",
                    path, a["start"], a["end"], where, last)
    log.info(
        "%s: %d frames decoded, %d analysed, %d rows, %d tracks in %.1f s",
        path, a["decoded_frames"], a["analysed_frames"], len(df),
        df["track_id"].nunique() if len(df) else 0, a["seconds"],
    )


class _threaded:
    """Iterate a generator on a background thread through a bounded queue."""

    def __init__(self, gen, stop: threading.Event, maxsize: int = QUEUE_FRAMES) -> None:
        self._gen, self._stop = gen, stop
        self._q: queue.Queue = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name="fau-decode", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._gen:
                if not self._put(item):
                    break
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(exc)
            return
        finally:
            self._gen.close()
        self._put(_END)

    def __iter__(self):
        while True:
            item = self._q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
