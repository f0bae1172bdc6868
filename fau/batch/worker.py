"""The unit of work of a batch: analyse one video and write its outputs (runs in workers).

`run_job` is what joblib's processes and Dask's workers execute. It never raises for a
bad video: any exception becomes a ``failed`` record with the error message, so one
video cannot stop the others. Each worker process builds its `fau.Detector` once (per
option set and thread) and reuses it for every video it gets.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FauError
from .inputs import VideoInput
from ..files import write_json
from ..limits import peak_rss_mb
from ..job import JobOutputs, run_video_job
from .store import DONE_MARKER, fingerprint, read_complete_marker, write_marker

__all__ = ["Job", "run_job", "job_key", "skip_record", "FRAMES_FILE", "SUMMARY_FILE",
           "REPORT_FILE", "OPENFACE_FILE", "ELAN_FILE", "RUNNING_FILE"]

log = logging.getLogger(__name__)

#: Output file names inside each video's folder.
FRAMES_FILE = "frames.parquet"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
#: OpenFace 2.x-style CSV (`fau.export.openface_csv`) and ELAN file (`fau.export.elan`).
OPENFACE_FILE = "openface.csv"
ELAN_FILE = "annotations.eaf"
#: Written when a worker starts a video, removed when it ends (ok or failed): a file left
#: behind means the worker process died while analysing that video.
RUNNING_FILE = "running.json"
#: Every output file a video's folder can hold (which ones a run writes depends on its
#: options: `_outputs`).
OUTPUT_FILES = (FRAMES_FILE, SUMMARY_FILE, REPORT_FILE, OPENFACE_FILE, ELAN_FILE)

_local = threading.local()


@dataclass(frozen=True)
class Job:
    """Everything a worker needs for one video (pickled to the worker).

    Attributes
    ----------
    video : VideoInput
    out_dir : Path
        The batch's output folder (the video's outputs go to ``out_dir / video.name``).
    fps : float or None
        Frames analysed per second of video (None: all).
    report : bool
        Write ``report.html`` too.
    detector_options : dict
        Keyword arguments of `fau.Detector` (``num_threads`` defaults to 1).
    """

    video: VideoInput
    out_dir: Path
    fps: float | None = None
    report: bool = False
    detector_options: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.out_dir / self.video.name


def job_key(job: Job) -> dict[str, Any]:
    """What a video's outputs depend on: input + segment fingerprints and the options.

    Raises
    ------
    FauError
        The video or its segment file does not exist or cannot be read.
    """
    from .. import __version__

    opts = {k: v for k, v in job.detector_options.items() if k not in ("num_threads",)}
    prints = {}
    for what, path in (("video", job.video.path), ("segment file", job.video.segments)):
        try:
            prints[what] = fingerprint(path)
        except FileNotFoundError:
            raise FauError(f"{what} {str(path)!r} does not exist") from None
        except OSError as exc:
            raise FauError(f"cannot read {what} {str(path)!r}: {exc}") from None
    return {
        "fau": __version__,
        "input": prints["video"],
        "segments": prints["segment file"],
        "fps": job.fps,
        "report": job.report,
        "detector": {k: (v if isinstance(v, (str, int, float, bool, type(None))) else repr(v))
                     for k, v in sorted(opts.items())},
    }


def _record(job: Job, status: str, **fields: Any) -> dict[str, Any]:
    rec = {
        "path": str(job.video.path),
        "name": job.video.name,
        "status": status,
        "error": "",
        "duration_s": None,
        "faces": None,
        "frames": None,
        "truncated": None,
        "lost_frames": None,
        "decode_errors": None,
        "seconds": None,
        "cpu_s": None,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "worker_peak_rss_mb": _worker_peak_mb(),
    }
    rec.update(fields)
    return rec


def _worker_peak_mb() -> float | None:
    """This worker's peak resident memory so far (MiB, to 0.1; `fau.limits.peak_rss_mb`)."""
    peak = peak_rss_mb()
    return None if peak is None else round(peak, 1)


def _decoding_fields(decoding: dict[str, Any]) -> dict[str, Any]:
    """The index columns of a video's decode statistics (`fau.video.reader.DecodeStats`)."""
    return {"truncated": decoding.get("truncated"), "lost_frames": decoding.get("lost"),
            "decode_errors": decoding.get("decode_errors")}


def _detector(options: dict[str, Any]):
    """This thread's `fau.Detector` for ``options``, built on first use and kept."""
    from ..detector import Detector

    cache = getattr(_local, "detectors", None)
    if cache is None:
        cache = _local.detectors = {}
    import joblib

    key = joblib.hash(options)
    det = cache.get(key)
    if det is None:
        opts = {"num_threads": 1, **options}
        det = Detector(**opts)
        cache[key] = det
        log.debug("worker %d: built %r", os.getpid(), det)
    return det


def skip_record(job: Job) -> dict[str, Any] | None:
    """A ``skipped`` record if the job's outputs are complete and current, else None."""
    t0 = time.perf_counter()
    try:
        key = job_key(job)
    except FauError:
        return None  # run_job reports it
    done = read_complete_marker(job.folder, key)
    if done is None:
        return None
    return _record(job, "skipped", duration_s=done.get("duration_s"), faces=done.get("faces"),
                   frames=done.get("frames"), truncated=done.get("truncated"),
                   lost_frames=done.get("lost_frames"),
                   decode_errors=done.get("decode_errors"),
                   seconds=round(time.perf_counter() - t0, 3),
                   worker="", worker_peak_rss_mb=None)


class _Cancelled(Exception):
    """The Dask task of this video was cancelled: its results would be thrown away."""


def _dask_task_cancelled() -> bool:
    """True when this runs as a Dask task that the cluster no longer wants.

    A Dask worker cannot interrupt a running task: after the client cancels it (Ctrl-C
    or SIGTERM to ``fau batch``, which cancels its futures) or goes away (killed), the
    task runs on to its end. The worker marks it ``cancelled`` (its key is gone from the
    worker's tasks once it is forgotten), which is what is checked here. Outside a Dask
    task (joblib workers, ``fau video``) it is always False.
    """
    if "distributed" not in sys.modules:  # not in a Dask worker: nothing to import
        return False
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        key = getattr(thread_state, "key", None)
        if key is None:
            return False
        ts = get_worker().state.tasks.get(key)
    except Exception:  # not a Dask worker's task thread, or another distributed layout
        return False
    return ts is None or ts.state in ("cancelled", "released", "forgotten")


def _check_not_cancelled(job: Job) -> None:
    """Raise `_Cancelled` when the batch that submitted ``job`` has stopped (Dask)."""
    if _dask_task_cancelled():
        raise _Cancelled(f"{str(job.video.path)!r}: the batch was stopped; nothing written")


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, FauError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _outputs(job: Job) -> JobOutputs:
    """The files of one video's folder (`fau.job.JobOutputs`)."""
    return JobOutputs(frames=job.folder / FRAMES_FILE, summary=job.folder / SUMMARY_FILE,
                      report=job.folder / REPORT_FILE if job.report else None,
                      openface=job.folder / OPENFACE_FILE, elan=job.folder / ELAN_FILE)


def _output_names(job: Job) -> list[str]:
    return [p.name for _, p in _outputs(job).items()]


def run_job(job: Job) -> dict[str, Any]:
    """Analyse one video and write its outputs atomically; return its index record.

    The video and its segment file are fingerprinted first (`job_key`); if either is
    missing or unreadable the video fails and its folder is left untouched. Then, order
    of writes: the old ``done.json`` is removed, then ``running.json`` written, the
    outputs (each temp + rename), ``done.json`` last, and ``running.json`` is removed. A
    crash at any point leaves no ``done.json``, so a rerun redoes the video. As a Dask
    task whose batch has stopped (its future cancelled, or its client gone), it writes
    nothing more: that is checked before the outputs and again before ``done.json``.

    Returns
    -------
    dict
        ``path, name, status ("ok" or "failed"), error, duration_s, faces, frames,
        seconds, cpu_s, worker, worker_peak_rss_mb``.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    folder = job.folder
    cancelled = False
    try:
        # First, before anything in the folder is touched: a video or segment file that is
        # missing or unreadable now (a drive not mounted, a file moved away) fails this
        # video but leaves the outputs of its last complete run as they are; a later run
        # that finds the file unchanged skips it again.
        key = job_key(job)
    except FauError as exc:
        return _record(job, "failed", error=_error_text(exc),
                       seconds=round(time.perf_counter() - t0, 3),
                       cpu_s=round(time.process_time() - c0, 3))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / DONE_MARKER).unlink(missing_ok=True)
        for name in set(OUTPUT_FILES) - set(_output_names(job)):
            # an output of an earlier run with other options (report.html without --report
            # now) would sit beside this run's files, describing another analysis
            (folder / name).unlink(missing_ok=True)
        write_json(folder / RUNNING_FILE, {"pid": os.getpid(), "host": socket.gethostname(),
                                           "started": time.time()}, overwrite=True)
        det = _detector(job.detector_options)

        def unchanged(_result) -> None:
            _check_not_cancelled(job)
            if job_key(job)["input"] != key["input"]:
                raise FauError(f"{str(job.video.path)!r} changed while it was being analysed")

        # One thread per worker process: decoding in the calling thread (threaded=False)
        # keeps a worker on its one core; parallelism comes from running videos side by side.
        result = run_video_job(
            det, job.video.path, _outputs(job), segments=job.video.segments, overwrite=True,
            meta={"path": str(job.video.path), "name": job.video.name,
                  "segments_file": job.video.segments, "fps": job.fps},
            before_write=unchanged, fps=job.fps, threaded=False)
        fields = {"duration_s": result.summary.get("duration_s"),
                  "faces": result.summary.get("faces"),
                  "frames": result.summary.get("analysed_frames"),
                  **_decoding_fields(result.frames.attrs.get("decoding") or {}),
                  "seconds": round(time.perf_counter() - t0, 3),
                  "cpu_s": round(time.process_time() - c0, 3)}
        _check_not_cancelled(job)
        write_marker(folder, key=key, outputs=_output_names(job), record=fields)
        return _record(job, "ok", **fields)
    except _Cancelled as exc:
        # The folder is left alone, running.json included: a rerun started since may
        # own it now, and without this run's done.json nothing here is trusted.
        log.info("%s", exc)
        cancelled = True
        return _record(job, "failed", error=str(exc),
                       seconds=round(time.perf_counter() - t0, 3),
                       cpu_s=round(time.process_time() - c0, 3))
    except Exception as exc:  # one bad video must not stop the batch
        log.debug("%s failed:\n%s", job.video.path, traceback.format_exc())
        for name in _output_names(job):  # no half-set of outputs from this run stays behind
            try:
                (folder / name).unlink(missing_ok=True)
            except OSError:
                pass
        return _record(job, "failed", error=_error_text(exc),
                       seconds=round(time.perf_counter() - t0, 3),
                       cpu_s=round(time.process_time() - c0, 3))
    finally:
        try:
            if not cancelled:
                (folder / RUNNING_FILE).unlink(missing_ok=True)
        except OSError:
            pass
