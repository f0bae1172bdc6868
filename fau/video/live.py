"""Live analysis of a camera, a stream URL, or a video file played as a camera.

A source thread delivers frames at their own pace (a camera's rate; a file is paced
at its presentation timestamps, in real time) into a one-frame slot; the analysis
loop always takes the newest frame and frames it had no time for are **dropped**, not
queued, so latency stays bounded when analysis is slower than the source. Everything
is causal: the One-Euro smoothing and the running baseline
(`fau.video.temporal.RunningBaseline`) use only frames seen so far.

Latency is measured per analysed frame from the moment the frame became available
(the camera read returned, or the file frame's presentation time arrived) to the
moment its result was ready. A file read with ``realtime=False`` is decoded one frame
ahead while the previous frame is analysed; such a frame is available when the
analysis is free to take it (the later of its decoding and the request for it), so its
latency is its analysis time plus any wait for decoding, not also the analysis of the
frame before it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import numpy as np

from ..au.geometry import AU_NAMES
from ..errors import FauError
from ..expression.labels import EXPRESSIONS
from ..landmarks.base import with_blendshapes
from .temporal import AU_FILTER, EXPRESSION_FILTER, OneEuro, RunningBaseline
from .tracking import DETECT_EVERY_S, Tracker

if TYPE_CHECKING:  # pragma: no cover
    from ..detector import Detector

__all__ = ["LiveAnalyzer", "LiveFrame", "LiveStats", "open_source", "run_live", "check_source",
           "check_duration"]

log = logging.getLogger(__name__)

#: A track unseen this long (s) has its filters and baseline history dropped; its last
#: baseline is kept for when it comes back (the tracker gives a returning person their id).
_FORGET_S = 5.0
#: Baselines of forgotten tracks kept (one vector of len(AU_NAMES) each; the oldest goes).
_KNOWN_BASELINES = 256


@dataclass
class LiveFrame:
    """A frame from a live source: pixels, its timestamp (s) and arrival time
    (``time.perf_counter()`` when it became available), and its index at the source."""

    index: int
    timestamp: float
    arrived: float
    rgb: np.ndarray


class _Slot:
    """Holds the newest frame only; counts frames replaced before being taken."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: LiveFrame | None = None
        self.offered = 0
        self.dropped = 0
        self.closed = False
        self.error: BaseException | None = None

    def put(self, frame: LiveFrame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.offered += 1
            self._cond.notify()

    def close(self, error: BaseException | None = None) -> None:
        with self._cond:
            self.closed, self.error = True, error
            self._cond.notify()

    def take(self, deadline: float | None = None) -> LiveFrame | None:
        """The newest frame; None once the source is closed, or when ``deadline``
        (``time.perf_counter()`` seconds) passes with no frame."""
        with self._cond:
            while self._frame is None and not self.closed:
                if deadline is not None and time.perf_counter() >= deadline:
                    return None
                self._cond.wait(0.1)
            frame, self._frame = self._frame, None
            return frame


def _is_camera(source: str | int) -> bool:
    return isinstance(source, int) or (isinstance(source, str) and source.isdigit())


def open_source(source: str | int, *, realtime: bool = True) -> tuple[_Slot, threading.Event]:
    """Start a thread feeding frames of ``source`` into a one-frame slot.

    Parameters
    ----------
    source : int, str
        A camera index (``0`` or ``"0"``, opened with OpenCV), a video file, or a URL
        (RTSP/HTTP/..., opened with PyAV).
    realtime : bool
        Pace files at their presentation timestamps (a file played as a camera).
        False delivers file frames as fast as they are taken (nothing dropped).

    Returns
    -------
    slot, stop
        The slot to take frames from, and an event that stops the thread.
    """
    slot, stop = _Slot(), threading.Event()
    if _is_camera(source):
        cap = _open_camera(int(source))
        target = _camera_loop
        args = (cap, slot, stop)
    else:
        from .reader import iter_frames

        frames = iter_frames(str(source))
        target = _file_loop
        args = (frames, slot, stop, realtime)
    threading.Thread(target=target, args=args, name="fau-live-source", daemon=True).start()
    return slot, stop


def _open_camera(index: int):
    """``cv2.VideoCapture(index)``, or `FauError`; OpenCV's own log lines (each backend it
    tries reports its failure on stderr, ~12 lines for a missing camera) are silenced
    while it opens, so the error is one line."""
    import cv2

    log_api = cv2.utils.logging
    level = log_api.getLogLevel()
    log_api.setLogLevel(log_api.LOG_LEVEL_SILENT)
    try:
        cap = cv2.VideoCapture(index)
        opened = cap.isOpened()
    finally:
        log_api.setLogLevel(level)
    if not opened:
        cap.release()
        raise FauError(f"cannot open camera {index} (no such camera, or it is in use)")
    return cap


def _camera_loop(cap, slot: _Slot, stop: threading.Event) -> None:
    import cv2

    t0 = time.perf_counter()
    i = 0
    try:
        while not stop.is_set():
            ok, bgr = cap.read()
            if not ok:
                break
            now = time.perf_counter()
            slot.put(LiveFrame(i, now - t0, now, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
            i += 1
        slot.close()
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer
        slot.close(exc)
    finally:
        cap.release()


def _file_loop(frames, slot: _Slot, stop: threading.Event, realtime: bool) -> None:
    t0 = None
    try:
        for vf in frames:
            if stop.is_set():
                break
            if realtime:
                if t0 is None:
                    t0 = time.perf_counter() - vf.timestamp
                delay = t0 + vf.timestamp - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            else:
                while slot._frame is not None and not stop.is_set():
                    time.sleep(0.0005)
            slot.put(LiveFrame(vf.index, vf.timestamp, time.perf_counter(), vf.rgb))
        slot.close()
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer
        slot.close(exc)
    finally:
        frames.close()


@dataclass
class _TrackState:
    au: OneEuro = field(default_factory=lambda: OneEuro(AU_FILTER))
    expr: OneEuro = field(default_factory=lambda: OneEuro(EXPRESSION_FILTER))
    baseline: RunningBaseline = field(default_factory=RunningBaseline)
    last: float = 0.0


class LiveAnalyzer:
    """Frame-by-frame causal analysis for live sources.

    Parameters
    ----------
    detector : fau.Detector
    detect_every : float
        Seconds between face-detector runs while faces are tracked.

    Examples
    --------
    >>> live = LiveAnalyzer(det)                        # doctest: +SKIP
    >>> for face in live.process(rgb, timestamp=0.0):   # doctest: +SKIP
    ...     print(face["track_id"], face["AU12"], face["AU12_rel"])
    """

    def __init__(self, detector: "Detector", *, detect_every: float = DETECT_EVERY_S) -> None:
        self.detector = detector
        self.tracker = Tracker(detector.backend, max_faces=detector.max_faces,
                               min_face_score=detector.min_face_score,
                               detect_every=detect_every, blendshapes=False)
        self._state: dict[int, _TrackState] = {}
        self._known: dict[int, np.ndarray] = {}  # last baselines of forgotten tracks

    def process(self, rgb: np.ndarray, timestamp: float) -> list[dict]:
        """Analyse one RGB frame taken at ``timestamp`` (s, increasing).

        Returns
        -------
        list of dict
            One dict per face: ``track_id``, ``timestamp``, box ``face_x, face_y,
            face_w, face_h``, ``face_score``, ``pitch, yaw, roll``, ``gaze_yaw,
            gaze_pitch`` (as in `detect_image`; None during a blink), smoothed AUs (the
            AU names), ``<AU>_rel`` (relative to the running baseline; None for the
            first 2 s of a track), smoothed expression probabilities and
            ``expression`` (None without an expression model). A face lost for at most
            0.5 s (`fau.video.tracking.REACQUIRE_S`) keeps its track (filters,
            baseline); fau's tracker gives a face that returns later a new id, so its
            ``_rel`` is None for 2 s again. A ``tracker`` that gives an id back after
            more than 5 s unseen gets that track's last baseline from its first frame.
        """
        faces = self.tracker.update(rgb, timestamp)
        for tid in [k for k, s in self._state.items() if timestamp - s.last > _FORGET_S]:
            base = self._state.pop(tid).baseline.baseline
            if base is not None:
                self._known[tid] = base
                if len(self._known) > _KNOWN_BASELINES:
                    del self._known[next(iter(self._known))]
        if not faces:
            return []
        # as `fau.Detector.analyse`: the CNN starts on the landmarks, the blendshapes
        # are measured while it runs
        pipeline = self.detector.pipeline
        meshes = [m for _, m in faces]
        pending = pipeline.start_appearance(rgb, meshes)
        meshes = with_blendshapes(self.detector.backend, meshes)
        table, _ = pipeline.analyse(rgb, meshes, appearance=pending)
        au = table[list(AU_NAMES)].to_numpy(dtype=np.float64)
        ex = table[list(EXPRESSIONS)].to_numpy(dtype=np.float64)
        out = []
        for i, (tid, _) in enumerate(faces):
            st = self._state.get(tid)
            if st is None:
                st = self._state[tid] = _TrackState(
                    baseline=RunningBaseline(self._known.pop(tid, None)))
            st.last = timestamp
            a = st.au(au[i], timestamp)
            base = st.baseline.update(a, timestamp)
            row = table.iloc[i]
            rec: dict = {"track_id": int(tid), "timestamp": round(float(timestamp), 4)}
            for c in ("face_x", "face_y", "face_w", "face_h", "face_score", "pitch", "yaw", "roll"):
                rec[c] = round(float(row[c]), 4)
            for c in ("gaze_yaw", "gaze_pitch"):  # NaN during a blink: None (JSON has no NaN)
                v = float(row[c])
                rec[c] = round(v, 4) if np.isfinite(v) else None
            for j, name in enumerate(AU_NAMES):
                rec[name] = round(float(a[j]), 4)
            for j, name in enumerate(AU_NAMES):
                rec[f"{name}_rel"] = None if base is None else round(float(a[j] - base[j]), 4)
            if np.isfinite(ex[i]).all():
                e = st.expr(ex[i], timestamp)
                for j, name in enumerate(EXPRESSIONS):
                    rec[name] = round(float(e[j]), 4)
                rec["expression"] = EXPRESSIONS[int(np.argmax(e))]
            else:
                rec.update({name: None for name in EXPRESSIONS})
                rec["expression"] = None
            out.append(rec)
        return out


@dataclass
class LiveStats:
    """Counts and timings of a live run: frames the source offered, analysed and
    dropped; wall time (s); per-frame latency (ms) and analysis time (ms) samples."""

    offered: int = 0
    analysed: int = 0
    dropped: int = 0
    seconds: float = 0.0
    latency_ms: list[float] = field(default_factory=list)
    compute_ms: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Analysed frames per second of wall time."""
        return self.analysed / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: fps, latency percentiles, drops."""
        lat = np.array(self.latency_ms) if self.latency_ms else np.array([np.nan])
        comp = np.array(self.compute_ms) if self.compute_ms else np.array([np.nan])
        return (
            f"{self.analysed} frames analysed in {self.seconds:.1f} s = {self.fps:.1f} fps; "
            f"latency median {np.median(lat):.1f} ms, p95 {np.percentile(lat, 95):.1f} ms, "
            f"max {lat.max():.1f} ms (analysis alone median {np.median(comp):.1f} ms); "
            f"{self.dropped} of {self.offered} source frames dropped"
        )


def _available_at(frame: LiveFrame, asked: float, paced: bool) -> float:
    """When ``frame`` became available to the analysis (``time.perf_counter()`` s).

    Parameters
    ----------
    frame : LiveFrame
    asked : float
        When the analysis loop asked the slot for a frame.
    paced : bool
        True for a camera or a file played at its native rate: the frame's arrival,
        also when it waited in the slot for the analysis of the frame before. False for
        a file read as fast as taken (``realtime=False``), which the source decodes one
        frame ahead while the previous frame is analysed: the later of its arrival and
        ``asked`` (its wait in the slot is read-ahead, not delay; counted, the reported
        latency was about twice the analysis time).
    """
    return frame.arrived if paced else max(frame.arrived, asked)


def check_source(source: str | int) -> None:
    """Raise `FauError` when ``source`` is neither a camera index, a URL nor a file."""
    if not _is_camera(source) and "://" not in str(source) and not os.path.isfile(str(source)):
        raise FauError(f"live source not found: {source!r} (a camera index, file or URL)")


def check_duration(duration: float | None) -> None:
    """Raise `FauError` unless ``duration`` is None or a positive number of seconds
    (NaN never stopped the analysis; 0 or less stopped it after one frame)."""
    if duration is None:
        return
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not duration > 0:
        raise FauError(f"duration must be a positive number of seconds, got {duration!r}")


def run_live(
    detector: "Detector",
    source: str | int = 0,
    *,
    realtime: bool = True,
    duration: float | None = None,
    stats: LiveStats | None = None,
) -> Iterator[tuple[LiveFrame, list[dict]]]:
    """Analyse a live source; yields ``(frame, faces)`` for every analysed frame.

    Parameters
    ----------
    detector : fau.Detector
    source : int or str
        Camera index, video file (played as a camera at its native rate when
        ``realtime``) or stream URL.
    realtime : bool
        See `open_source`.
    duration : float or None
        Stop after this many seconds of wall time (> 0; `check_duration`), also
        while the source delivers no frame (a stalled camera or stream).
    stats : LiveStats or None
        Filled while running (fps, latency, drops).

    Notes
    -----
    Each face dict gets ``latency_ms``: from the moment the frame became available
    (see the module notes) to its result.
    Stopping the iteration (``break``, ``close()``) stops the source thread.
    """
    check_source(source)
    check_duration(duration)
    stats = stats if stats is not None else LiveStats()
    analyzer = LiveAnalyzer(detector)
    slot, stop = open_source(source, realtime=realtime)
    t_start = time.perf_counter()
    deadline = None if duration is None else t_start + duration
    paced = realtime or _is_camera(source)
    try:
        while True:
            asked = time.perf_counter()
            frame = slot.take(deadline)  # a stalled source stops at the duration too
            if frame is None:
                break
            t0 = time.perf_counter()
            faces = analyzer.process(frame.rgb, frame.timestamp)
            done = time.perf_counter()
            latency = (done - _available_at(frame, asked, paced)) * 1000.0
            for f in faces:
                f["latency_ms"] = round(latency, 2)
            stats.analysed += 1
            stats.latency_ms.append(latency)
            stats.compute_ms.append((done - t0) * 1000.0)
            stats.offered, stats.dropped = slot.offered, slot.dropped
            stats.seconds = done - t_start
            yield frame, faces
            if duration is not None and time.perf_counter() - t_start >= duration:
                break
        if slot.error is not None:
            if isinstance(slot.error, FauError):
                raise slot.error
            raise FauError(f"live source {source!r} failed: {slot.error}") from slot.error
    finally:
        stop.set()
        stats.offered, stats.dropped = slot.offered, slot.dropped
        stats.seconds = time.perf_counter() - t_start
