"""Video jobs: files on disk, background workers (one `Detector` each), retention.

Layout: ``<data_dir>/jobs/<job id>/`` holds ``input<.ext>`` (the upload, deleted when
the job ends), ``segments.csv`` (normalised by the server), ``results.parquet`` and
``report.html``. Job ids are 32 random hex digits made by the server; no name from a
client is ever part of a path.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..detector import Detector
from ..errors import FauError
from .settings import Settings
from .store import JobStore

__all__ = [
    "JobManager", "JOB_ID", "new_job_id", "parse_segments", "probe_video", "public_error",
    "video_available", "report_available", "HEARTBEAT_S", "MAX_SEGMENTS",
]

log = logging.getLogger(__name__)

#: Pattern of a job id (uuid4 hex); anything else is answered 404 without a lookup.
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
#: Seconds between a running job's heartbeats, which also store its progress (see
#: `Settings.stale_after_s`); one small UPDATE per second per running job.
HEARTBEAT_S = 1.0
#: Seconds between retention sweeps and stale-job checks.
MAINTENANCE_S = 10.0
#: Most rows of a segments CSV.
MAX_SEGMENTS = 10_000
#: Largest segments CSV (bytes).
MAX_SEGMENTS_BYTES = 1024 * 1024
#: Job folders without a database row (an upload cut off by a crash) are removed once
#: they are this old (seconds): long enough for any upload in progress to finish.
ORPHAN_AGE_S = 3600.0


#: An absolute POSIX path of two or more parts inside a message (what `public_error`
#: hides from clients).
_ABS_PATH = re.compile(r"(?<![\w.])/(?:[^\s'\"/]+/)+[^\s'\"]*")


def public_error(exc: BaseException, folder: Path, filename: str | None) -> str:
    """The message of a `FauError` about a job's files, fit for the client.

    The job folder (and any other absolute server path) never reaches the client: the
    stored upload is named by the client's own file name instead.
    """
    text = str(exc)
    shown = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    for base in sorted({str(folder), str(folder.resolve())}, key=len, reverse=True):
        text = re.sub(re.escape(base) + r"[^\s'\"]*", lambda _m: shown, text)
    return _ABS_PATH.sub("<server path>", text)


def new_job_id() -> str:
    """A fresh job id: 128 random bits as hex."""
    return uuid.uuid4().hex


class JobCancelled(Exception):
    """Raised inside a running job when it was deleted."""


class JobInterrupted(Exception):
    """Raised inside a running job when the server shuts down cleanly."""


def video_available() -> bool:
    """True when this installation can analyse videos (`Detector.detect_video`)."""
    return callable(getattr(Detector, "detect_video", None))


def probe_video(path: Path) -> dict[str, Any]:
    """Open a video with PyAV: ``{"duration_s", "width", "height", "codec"}``.

    The duration comes from the stream or container header; when both lack it (browser
    MediaRecorder WebM) the packets are demuxed (not decoded) to find the last timestamp.

    Raises
    ------
    FauError
        No video stream, or a file FFmpeg cannot open.
    """
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise FauError("the file has no video stream")
            s = c.streams.video[0]
            duration = None
            if s.duration is not None and s.time_base is not None:
                duration = float(s.duration * s.time_base)
            elif c.duration is not None:
                duration = c.duration / 1_000_000  # av.time_base: microseconds
            if duration is None or duration <= 0:
                start = s.start_time or 0
                last = None
                for pkt in c.demux(s):
                    if pkt.pts is not None:
                        end = pkt.pts + (pkt.duration or 0)
                        last = end if last is None else max(last, end)
                duration = float((last - start) * s.time_base) if last is not None else 0.0
            return {
                "duration_s": duration,
                "width": s.codec_context.width,
                "height": s.codec_context.height,
                "codec": s.codec_context.name,
            }
    except FauError:
        raise
    except Exception as exc:  # av raises many error classes (InvalidDataError, ...)
        raise FauError(f"the file is not a video FFmpeg can read ({exc.__class__.__name__})") from None


def parse_segments(data: bytes, *, max_s: float | None = None) -> pd.DataFrame:
    """Validate a segments CSV: columns ``start``, ``end`` (seconds), optional ``label``.

    Returns
    -------
    DataFrame
        ``start``, ``end``, ``label`` (str; empty where not given), the format of
        `fau.video.read_segments`.

    Raises
    ------
    FauError
        Not CSV, missing columns, non-numeric or negative times, ``end <= start``,
        too many rows or too large.
    """
    if len(data) > MAX_SEGMENTS_BYTES:
        raise FauError(f"segments CSV is larger than {MAX_SEGMENTS_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FauError("segments CSV is not UTF-8 text") from None
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except Exception as exc:
        raise FauError(f"segments is not a CSV table ({exc.__class__.__name__})") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = {"start", "end"} - set(df.columns)
    if missing:
        raise FauError(
            f"segments CSV needs the columns start,end (seconds) and optionally label; "
            f"missing {sorted(missing)}"
        )
    if df.empty:
        raise FauError("segments CSV has no rows")
    if len(df) > MAX_SEGMENTS:
        raise FauError(f"segments CSV has {len(df)} rows; at most {MAX_SEGMENTS} are accepted")
    out = pd.DataFrame()
    for col in ("start", "end"):
        v = pd.to_numeric(df[col].str.strip(), errors="coerce")
        bad = v.isna() | ~v.map(lambda x: x == x and abs(x) != float("inf"))
        if bad.any():
            row = int(bad.idxmax()) + 2  # header is line 1
            raise FauError(f"segments CSV line {row}: {col} {df[col].iloc[row - 2]!r} is not a number of seconds")
        out[col] = v.astype(float)
    if (out["start"] < 0).any():
        raise FauError(f"segments CSV line {int((out['start'] < 0).idxmax()) + 2}: start is negative")
    if (out["end"] <= out["start"]).any():
        raise FauError(f"segments CSV line {int((out['end'] <= out['start']).idxmax()) + 2}: end must be after start")
    if max_s is not None and (out["start"] > max_s).any():
        raise FauError(
            f"segments CSV line {int((out['start'] > max_s).idxmax()) + 2}: starts after the "
            f"end of the video ({max_s:.2f} s)"
        )
    labels = df["label"].str.strip() if "label" in df.columns else pd.Series([""] * len(df))
    out["label"] = list(labels)
    return out


def analyse_video(
    det: Detector,
    path: Path,
    *,
    fps: float | None,
    duration_s: float | None,
    progress: Callable[[float], None],
    max_s: float | None = None,
) -> pd.DataFrame:
    """Run `Detector.detect_video` on the whole video; ``progress`` gets fractions 0-1.

    `fau.video.detect_video` reports each analysed frame's timestamp (s); the fraction
    is that timestamp over the probed duration. A frame decoded past ``max_s`` seconds
    fails the job: the limit holds on what is decoded, whatever the header claimed.
    """
    detect_video = getattr(det, "detect_video", None)
    if not callable(detect_video):
        raise FauError("this fau installation cannot analyse videos (fau.video is missing)")
    span = duration_s if duration_s and duration_s > 0 else None

    def on_frame(t: float) -> None:
        if max_s is not None and float(t) > max_s:
            claimed = f" (its header said {span:.2f} s)" if span else ""
            raise FauError(f"the video runs past {max_s:g} s of decoded media{claimed}; this "
                           f"server analyses at most {max_s:g} s (--max-video-s)")
        progress(min(max(float(t) / span, 0.0), 0.999) if span else 0.0)

    kwargs: dict[str, Any] = {"progress": on_frame}
    if fps is not None:
        kwargs["fps"] = float(fps)
    return detect_video(str(path), **kwargs)


def report_available() -> bool:
    """True when `fau.report` (the HTML report writer) is installed."""
    try:
        from ..report import render_report, write_report  # noqa: F401
    except ImportError:
        return False
    return True


def summarise(
    results: pd.DataFrame, segments: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Events (`fau.video.find_events`) and per-segment summary (or None each)."""
    try:
        from ..video import find_events, summarize_segments
    except ImportError:
        return None, None
    events = find_events(results)
    summary = summarize_segments(results, segments, events) if segments is not None else None
    return events, summary


def write_html_report(
    results: pd.DataFrame,
    out: Path,
    *,
    title: str,
    model: str | None,
    events: pd.DataFrame | None,
    segments: pd.DataFrame | None,
    summary: pd.DataFrame | None,
) -> bool:
    """Write the HTML report with `fau.report`; False when it is not installed."""
    if not report_available():
        return False
    from ..report import render_report, write_report

    html = render_report(results, events=events, segments=segments, summary=summary,
                         title=title, model=model)
    write_report(out, html, overwrite=True)
    return True


class JobManager:
    """Queue, run and clean up video jobs.

    Parameters
    ----------
    settings : Settings
    store : JobStore
    detector_factory : callable
        Makes one `Detector` per worker thread.
    """

    def __init__(self, settings: Settings, store: JobStore, detector_factory: Callable[[], Detector]) -> None:
        self.settings = settings
        self.store = store
        self.factory = detector_factory
        self.root = settings.data_dir / "jobs"
        self.root.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.instance = f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # -- files -------------------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        """The folder of a job (``job_id`` must match `JOB_ID`)."""
        if not JOB_ID.match(job_id):
            raise FauError(f"not a job id: {job_id!r}")
        return self.root / job_id

    def input_path(self, job: dict[str, Any]) -> Path:
        from .sniff import EXTENSIONS

        return self.job_dir(job["id"]) / f"input{EXTENSIONS.get(job['kind'], '.bin')}"

    def results_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "results.parquet"

    def table_path(self, job_id: str, table: str) -> Path:
        """Stored result table: ``frames`` (`results_path`), ``events`` or ``segments``."""
        if table == "frames":
            return self.results_path(job_id)
        if table not in ("events", "segments"):
            raise FauError(f"unknown table {table!r}")
        return self.job_dir(job_id) / f"{table}.parquet"

    @staticmethod
    def _save(df: pd.DataFrame, path: Path) -> None:
        """Write a table as Parquet atomically (temporary file + rename)."""
        tmp = path.with_suffix(".tmp")
        df = df.copy()
        df.attrs = {}  # attrs hold nested dicts Parquet metadata need not carry
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)

    def report_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "report.html"

    def output_files(self, job_id: str) -> list[Path]:
        """Every file the job wrote (sorted by name): not the upload, not temporary files."""
        try:
            entries = list(self.job_dir(job_id).iterdir())
        except FileNotFoundError:
            return []
        return sorted((p for p in entries if p.is_file() and not p.name.startswith("input")
                       and p.suffix not in (".tmp", ".part")), key=lambda p: p.name)

    def remove_inputs(self, job_id: str) -> None:
        """Delete a job's upload (its results stay)."""
        for p in self.job_dir(job_id).glob("input*"):
            p.unlink(missing_ok=True)

    def recover(self) -> list[tuple[str, str]]:
        """Requeue or fail stale running jobs (`JobStore.recover`); a failed one loses its upload."""
        s = self.settings
        recovered = self.store.recover(stale_after_s=s.stale_after_s, max_attempts=s.max_attempts)
        for job_id, action in recovered:
            if action == "failed":
                self.remove_inputs(job_id)
        return recovered

    def remove_files(self, job_id: str) -> None:
        """Delete a job's folder and everything in it."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Recover interrupted jobs, then start the workers and the maintenance thread."""
        self.recover()
        for n in range(self.settings.job_workers):
            t = threading.Thread(target=self._worker, args=(n,), name=f"fau-job-{n}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._maintenance, name="fau-maintenance", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the threads: a running job is interrupted at its next frame and queued again.

        The interrupted attempt is not counted. A job still running after ``timeout``
        seconds stays ``running`` in the database and is recovered (retried or failed) by
        the next server start.
        """
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def notify(self) -> None:
        """Wake a worker: a job was queued."""
        self._wake.set()

    # -- worker ------------------------------------------------------------------------
    def _worker(self, n: int) -> None:
        worker = f"{self.instance}:{n}"
        det: Detector | None = None
        try:
            while not self._stop.is_set():
                job = self.store.claim(worker)
                if job is None:
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                if det is None:
                    det = self.factory()
                self._run(job, worker, det)
        except Exception:  # pragma: no cover - database gone; the job stays recoverable
            log.exception("job worker %s stopped", worker)
        finally:
            if det is not None:
                det.close()

    def _run(self, job: dict[str, Any], worker: str, det: Detector) -> None:
        job_id = job["id"]
        state = {"progress": 0.0, "cancelled": False}
        done = threading.Event()

        def beat() -> None:
            while not done.wait(HEARTBEAT_S):
                if not self.store.heartbeat(job_id, worker, state["progress"]):
                    state["cancelled"] = True
                    return

        def progress(f: float) -> None:
            state["progress"] = f
            if state["cancelled"]:
                raise JobCancelled(job_id)
            if self._stop.is_set():
                raise JobInterrupted(job_id)

        ticker = threading.Thread(target=beat, name=f"fau-beat-{job_id[:8]}", daemon=True)
        ticker.start()
        log.info("job %s: attempt %d starts", job_id, job["attempts"])
        t0 = time.perf_counter()
        try:
            src = self.input_path(job)
            if not src.is_file():
                raise FauError("the uploaded video is missing from the server's data folder")
            seg_path = self.job_dir(job_id) / "segments.csv"
            segments = (pd.read_csv(seg_path, dtype={"label": str}, keep_default_na=False)
                        if seg_path.is_file() else None)
            results = analyse_video(det, src, fps=job["fps"], duration_s=job["duration_s"],
                                    progress=progress, max_s=self.settings.max_video_s)
            if state["cancelled"]:
                raise JobCancelled(job_id)
            events, summary = summarise(results, segments)
            self._save(results, self.results_path(job_id))
            if events is not None:
                self._save(events, self.table_path(job_id, "events"))
            if summary is not None:
                self._save(summary, self.table_path(job_id, "segments"))
            write_html_report(results, self.report_path(job_id), title=job["filename"],
                              model=det.expression_model_name if det.model is not None else None,
                              events=events, segments=segments, summary=summary)
            n_frames = int(results["frame"].nunique()) if "frame" in results.columns else None
            ok = self.store.finish(job_id, worker, "done", n_rows=len(results), n_frames=n_frames)
            log.info("job %s done in %.1f s (%d rows)", job_id, time.perf_counter() - t0, len(results))
        except JobCancelled:
            ok = False
        except JobInterrupted:
            ok = False
            if self.store.requeue(job_id, worker):
                log.warning("job %s: server stopping; put back in the queue", job_id)
        except FauError as exc:
            ok = self.store.finish(job_id, worker, "failed",
                                   error=public_error(exc, self.job_dir(job_id), job["filename"]))
            log.warning("job %s failed: %s", job_id, exc)
        except Exception as exc:
            ok = self.store.finish(job_id, worker, "failed",
                                   error=f"internal error ({exc.__class__.__name__}); see the server log")
            log.exception("job %s failed", job_id)
        finally:
            done.set()
            ticker.join()
        if ok:
            # The upload is no longer needed: keep only results and report.
            self.remove_inputs(job_id)
        elif self.store.get(job_id) is None:
            log.info("job %s was deleted while it ran; its files are removed", job_id)
            self.remove_files(job_id)

    # -- maintenance -------------------------------------------------------------------
    def sweep(self) -> dict[str, int]:
        """Recover stale running jobs and delete expired jobs and orphan folders."""
        s = self.settings
        recovered = self.recover()
        if recovered:
            self.notify()
        expired = 0
        if s.retention_h > 0:
            for job_id in self.store.expired(time.time() - s.retention_h * 3600.0):
                self.remove_files(job_id)
                self.store.delete(job_id)
                expired += 1
        orphans = 0
        known = self.store.ids()
        now = time.time()
        for d in self.root.iterdir():
            if d.is_dir() and JOB_ID.match(d.name) and d.name not in known:
                try:
                    age = now - d.stat().st_mtime
                except FileNotFoundError:
                    continue
                if age > ORPHAN_AGE_S:
                    shutil.rmtree(d, ignore_errors=True)
                    orphans += 1
        if expired or orphans:
            log.info("retention: deleted %d expired jobs and %d orphan folders", expired, orphans)
        return {"recovered": len(recovered), "expired": expired, "orphans": orphans}

    def _maintenance(self) -> None:
        while not self._stop.wait(MAINTENANCE_S):
            try:
                self.sweep()
            except Exception:  # pragma: no cover - keep sweeping after a database hiccup
                log.exception("maintenance sweep failed")
