"""Video jobs: files on disk, background workers (one `Detector` each), retention.

Layout: ``<data_dir>/jobs/<job id>/`` holds ``input<.ext>`` (the upload, deleted when
the job ends), ``segments.csv`` (normalised by the server; labels quoted for spreadsheets,
`fau.csvsafe`) with its lossless copy `SEGMENTS_INPUT` (what the analysis reads; deleted
with the upload) and every output of the one
per-video job function, `fau.job.run_video_job` (`job_outputs`: ``results.parquet``,
``events.parquet``, ``segments.parquet``, ``summary.json``, ``report.html`` and any kind
added to `fau.job.OUTPUT_KINDS`). Job ids are 32 random hex digits made by the server;
no name from a client is ever part of a path.
"""

from __future__ import annotations

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
from ..job import OUTPUT_KINDS, JobOutputs, report_supported, run_video_job
from ..limits import MAX_PIXELS
from .settings import Settings
from .store import JobStore

__all__ = [
    "JobManager", "JOB_ID", "new_job_id", "probe", "read_upload_segments", "public_error",
    "job_outputs", "video_available", "report_available", "HEARTBEAT_S", "MAX_SEGMENTS",
]

log = logging.getLogger(__name__)

#: Pattern of a job id (uuid4 hex); anything else is answered 404 without a lookup.
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
#: Seconds between a running job's heartbeats, which also store its progress (see
#: `Settings.stale_after_s`); one small UPDATE per second per running job.
HEARTBEAT_S = 1.0
#: Seconds between retention sweeps and stale-job checks.
MAINTENANCE_S = 10.0
#: Most rows of an uploaded segments CSV.
MAX_SEGMENTS = 10_000
#: The job folder's lossless copy of the checked segments, which the analysis reads
#: (Parquet: labels exactly as uploaded; ``input*``: deleted with the upload).
SEGMENTS_INPUT = "input_segments.parquet"
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


def probe(path: Path) -> dict[str, Any]:
    """Read an upload's header with `fau.video.reader.probe`: ``{"duration_s", "width",
    "height", "codec"}`` (``duration_s`` None when the header has none, as in browser
    MediaRecorder WebM: the limit then holds on the decoded frames only).

    Raises
    ------
    FauError
        Not a video FFmpeg can read, no video stream, or frames outside fau's limits
        (the frame size is checked by the caller: `fau.serve.routes.videos.check_video`).
    """
    from ..video.reader import probe as read_header

    # FFmpeg allocates no frame over fau's image limit while it reads the header; the
    # (lower) video limit is checked on the result, to answer it with its own code
    info = read_header(path, max_pixels=MAX_PIXELS)
    return {"duration_s": info.duration, "width": info.width, "height": info.height,
            "codec": info.codec}


def read_upload_segments(data: bytes, *, max_s: float | None) -> pd.DataFrame:
    """Segments of an upload (`fau.video.read_segments`: the one reader), at most
    `MAX_SEGMENTS` rows, none starting after the video's end."""
    from ..video import read_segments

    return read_segments(data, max_rows=MAX_SEGMENTS, max_s=max_s, allow_empty=False)


def report_available() -> bool:
    """True when this installation writes HTML reports (`fau.job.report_supported`)."""
    return report_supported()


#: File name in a job's folder of each output kind of `fau.job.JobOutputs`; a kind not
#: listed (added to fau.job later: OpenFace CSV, ELAN, ...) is written as
#: ``<kind><its first suffix>``, and appears in the job's downloads without more code.
OUTPUT_NAMES = {"frames": "results.parquet", "events": "events.parquet",
                "segment_summary": "segments.parquet", "summary": "summary.json",
                "report": "report.html"}


def job_outputs(folder: Path, *, has_segments: bool, report: bool) -> JobOutputs:
    """Every output `fau.job.run_video_job` can write, in ``folder``."""
    paths: dict[str, Path] = {}
    for kind, spec in OUTPUT_KINDS.items():
        if (spec.needs_segments and not has_segments) or (kind == "report" and not report):
            continue
        paths[kind] = folder / OUTPUT_NAMES.get(kind, f"{kind}{spec.suffixes[0]}")
    return JobOutputs(**paths)  # type: ignore[arg-type]


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
            result = self._analyse(job, det, progress, state)
            ok = self.store.finish(job_id, worker, "done", n_rows=len(result.frames),
                                   n_frames=result.frames.attrs.get("analysed_frames"))
            log.info("job %s done in %.1f s (%d rows)", job_id, time.perf_counter() - t0,
                     len(result.frames))
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

    def _analyse(self, job: dict[str, Any], det: Detector, progress: Callable[[float], None],
                 state: dict[str, Any]) -> Any:
        """Run `fau.job.run_video_job` on the job's upload into its folder."""
        job_id = job["id"]
        folder = self.job_dir(job_id)
        src = self.input_path(job)
        if not src.is_file():
            raise FauError("the uploaded video is missing from the server's data folder")
        segments = None
        if (folder / SEGMENTS_INPUT).is_file():
            segments = pd.read_parquet(folder / SEGMENTS_INPUT)
        elif (folder / "segments.csv").is_file():  # a job queued by an earlier version
            segments = folder / "segments.csv"

        def on_frame(t: float) -> None:
            span = job["duration_s"]
            progress(min(max(float(t) / span, 0.0), 0.999) if span else 0.0)

        def before_write(_result: Any) -> None:
            if state["cancelled"]:
                raise JobCancelled(job_id)

        outputs = job_outputs(folder, has_segments=segments is not None, report=report_supported())
        # the duration limit holds on every decoded timestamp (a header can lie)
        detect: dict[str, Any] = {"progress": on_frame, "max_duration_s": self.settings.max_video_s}
        if job["fps"] is not None:
            detect["fps"] = float(job["fps"])
        return run_video_job(det, src, outputs, segments=segments, overwrite=True,
                             meta={"filename": job["filename"]}, title=job["filename"],
                             media_name=job["filename"], before_write=before_write, **detect)

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
