"""`run_batch`: analyse many videos with joblib processes or on a Dask distributed cluster."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pandas as pd

from ..errors import FauError
from ..files import atomic_path, remove_stale_temporaries, text_of
from ..job import report_supported
from ..resources import (DEFAULT_EXPRESSION_MODEL, DEFAULT_MAX_FACES, check_expression_model,
                         expression_model_path)
from ..video.reader import check_sampling
from .inputs import PathLike, collect_inputs
from .worker import RUNNING_FILE, Job, run_job, skip_record

__all__ = ["run_batch", "INDEX_FILE", "INDEX_COLUMNS", "STATUSES", "OWNER_FILE"]

log = logging.getLogger(__name__)

#: The batch's index table, in the output folder.
INDEX_FILE = "index.csv"
#: Columns of ``index.csv``, in order. ``seconds`` is this run's wall time on the video
#: (for ``skipped`` rows: the time spent checking its outputs); ``cpu_s`` the CPU time
#: (all threads) the worker process spent on it; ``worker`` is ``host:pid``;
#: ``worker_peak_rss_mb`` the worker process's peak resident memory so far (MiB).
#: ``truncated``, ``lost_frames`` and ``decode_errors`` say what decoding lost
#: (`fau.video.reader.DecodeStats`: the video ends early; frames its header announces
#: but that did not decode; damaged packets skipped); ``summary.json`` has the rest.
INDEX_COLUMNS: tuple[str, ...] = (
    "path", "name", "status", "error", "duration_s", "faces", "frames", "truncated",
    "lost_frames", "decode_errors", "seconds", "cpu_s", "worker", "worker_peak_rss_mb",
)
#: Values of the ``status`` column.
STATUSES: tuple[str, ...] = ("ok", "failed", "skipped")
#: Lock file that marks a folder as a fau batch output and keeps two runs out of it.
OWNER_FILE = ".fau-batch.lock"
#: Seconds to wait for a Dask scheduler to answer.
SCHEDULER_TIMEOUT_S = 30
#: Line end of ``index.csv``: CR LF, as RFC 4180 (section 2) specifies.
CSV_EOL = "\r\n"


def _check_jobs(jobs: int | None) -> int:
    if jobs is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - macOS, Windows
            return max(1, os.cpu_count() or 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise FauError(f"jobs must be a whole number of at least 1, got {jobs!r}")
    return jobs


@contextlib.contextmanager
def _claim(out_dir: Path) -> Iterator[None]:
    """Create/claim the output folder and hold its lock for the run.

    A folder that exists, is not empty and has no `OWNER_FILE` is refused: it is not a
    fau batch output and fau does not write into the user's other files.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise FauError(f"output {str(out_dir)!r} is a file, not a folder")
    owner = out_dir / OWNER_FILE
    if out_dir.is_dir() and not owner.exists() and any(out_dir.iterdir()):
        raise FauError(
            f"output folder {str(out_dir)!r} is not empty and is not a fau batch output; "
            "choose a new or empty folder"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fh = open(owner, "a+")
    except OSError as exc:
        raise FauError(f"cannot write to output folder {str(out_dir)!r}: {exc}") from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise FauError(
                    f"another fau batch is writing to {str(out_dir)!r}; wait for it to end"
                ) from None
        yield
    finally:
        fh.close()


class _Index:
    """The index rows in input order, rewritten atomically after every change."""

    def __init__(self, path: Path, names: list[str]) -> None:
        self.path = path
        self.order = {n: i for i, n in enumerate(names)}
        self.records: dict[str, dict[str, Any]] = {}

    def add(self, record: dict[str, Any], *, write: bool = True) -> None:
        """Put ``record`` in the index (and rewrite ``index.csv`` unless ``write`` is False).

        Its text fields are made UTF-8-encodable in place (`fau.files.text_of`): a
        path or error message naming a file whose name is not UTF-8 would otherwise stop
        the whole batch when the table is built or written.
        """
        for k, v in record.items():
            if isinstance(v, str):
                record[k] = text_of(v)
        self.records[record["name"]] = record
        if write:
            self.write()

    def frame(self) -> pd.DataFrame:
        rows = sorted(self.records.values(), key=lambda r: self.order[r["name"]])
        df = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
        df["error"] = df["error"].fillna("")
        for c in ("faces", "frames", "lost_frames", "decode_errors"):
            df[c] = pd.to_numeric(df[c]).astype("Int64")  # empty (not NaN) for failures
        df["truncated"] = df["truncated"].astype("boolean")
        return df

    def write(self) -> None:
        """Rewrite ``index.csv`` atomically, with RFC 4180 line ends (CR LF).

        With CR LF as the line end, Python's CSV writer quotes every cell that holds a
        CR or LF; with LF alone it left a lone CR (legal in a POSIX file name) bare,
        and readers took it for the end of the row. Text that a spreadsheet would run
        as a formula is quoted (`fau.csvsafe`): a file named ``=x.mp4`` stays text.
        """
        from ..csvsafe import neutralise_formulas

        with atomic_path(self.path) as tmp:
            neutralise_formulas(self.frame()).to_csv(tmp, index=False, lineterminator=CSV_EOL)


def without_own_output(inputs: Sequence[PathLike] | PathLike,
                       out_dir: PathLike) -> Sequence[PathLike] | PathLike:
    """``inputs`` without the batch's own output folder when a list names it beside other
    inputs and it holds an earlier run's ``index.csv`` (``fau batch data/* --out
    data/results``, run again: the shell's ``data/*`` now names ``data/results`` too)."""
    if isinstance(inputs, (str, os.PathLike)) or not isinstance(inputs, Sequence):
        return inputs
    try:
        out = Path(os.path.expanduser(os.fspath(out_dir))).resolve()
    except (TypeError, OSError):
        return inputs  # _check_out_dir says what is wrong with it
    if not (out / INDEX_FILE).is_file():
        return inputs
    kept = []
    for p in inputs:
        try:
            same = Path(os.path.expanduser(os.fspath(p))).resolve() == out
        except (TypeError, OSError):
            same = False  # collect_inputs says what is wrong with it
        if same:
            log.info("input %s is this batch's output folder: skipped", os.fspath(p))
        else:
            kept.append(p)
    return kept if kept else inputs


def _crash_record(job: Job, message: str) -> dict[str, Any]:
    (job.folder / RUNNING_FILE).unlink(missing_ok=True)
    return {"path": str(job.video.path), "name": job.video.name, "status": "failed",
            "error": message, "duration_s": None, "faces": None, "frames": None,
            "truncated": None, "lost_frames": None, "decode_errors": None,
            "seconds": None, "cpu_s": None, "worker": "", "worker_peak_rss_mb": None}


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C (SIGINT to the terminal's whole process group) is the
    parent's to handle; it shuts the pool down and kills the workers itself."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: Seconds between the batch loop's checks for SIGTERM or Ctrl-C (the longest a stop
#: request waits before the workers are killed).
STOP_POLL_S = 0.1


class _StopRequest:
    """SIGTERM or Ctrl-C, noted by the signal handler and acted on by the batch loop.

    The handler only records the signal; `check` raises `KeyboardInterrupt` at a point
    the loop chooses (between waits for results, at most `STOP_POLL_S` later), never
    inside loky's own bookkeeping or half-way through recording a finished video. A
    second signal before the loop has acted raises at once.
    """

    def __init__(self) -> None:
        self.signum: int | None = None

    def handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # asked twice: stop now
            raise KeyboardInterrupt(f"signal {signum}")
        self.signum = signum

    def check(self) -> None:
        """Raise `KeyboardInterrupt` if a stop was requested."""
        if self.signum is not None:
            raise KeyboardInterrupt(f"signal {self.signum}")


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[_StopRequest]:
    """While the batch runs, SIGTERM and Ctrl-C (SIGINT) request a stop (`_StopRequest`),
    so that the pool is shut down (workers killed and waited for) before the process
    exits; without it, SIGTERM ends the parent at once and orphans the workers, which
    go on writing into the output folder. A SIGINT that was ignored when the batch
    started (a process started in the background) stays ignored; outside the main
    thread no handler can be set and Python's defaults stay in place."""
    import signal

    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be set from the main thread
        return
    previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, stop.handle)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, stop.handle)
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        stop.check()  # a signal that came after the last check still stops the caller


#: Environment of local worker processes: one thread for every native thread pool
#: (the same variables joblib sets with ``inner_max_num_threads=1``), so N workers use
#: N cores and do not oversubscribe them.
ONE_THREAD_ENV: dict[str, str] = {
    v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS",
                     "NUMEXPR_NUM_THREADS")
}


#: Seconds to wait for each of a shut-down pool's own threads to finish.
POOL_THREAD_JOIN_S = 5.0


def _shut_down(executor: Any, threads_before: set[threading.Thread], *, kill: bool) -> None:
    """Shut a loky pool down, waiting for its workers and then for the threads it started.

    loky's queue feeder threads free the pool's semaphores as they end: they unlink
    each one, then tell loky's resource tracker. Were the process to exit between the
    two (they are daemon threads), the tracker would warn on stderr about a "leaked
    semlock" that no longer exists, after ``fau: interrupted``.
    """
    executor.shutdown(wait=True, kill_workers=kill)
    for t in set(threading.enumerate()) - threads_before:
        t.join(timeout=POOL_THREAD_JOIN_S)


def _run_local(jobs: list[Job], n_jobs: int, done: Callable[[dict[str, Any]], None],
               stop: _StopRequest) -> None:
    """Run on joblib's loky process pool; a worker that dies fails only its own video.

    Uses a private `joblib.externals.loky.ProcessPoolExecutor` (not loky's shared
    reusable executor, so it never disturbs the caller's own ``joblib.Parallel``).
    Each worker process keeps its `fau.Detector` for all the videos it runs.

    When a worker process dies (segfault, out of memory), loky stops the whole pool. The
    videos that were running then (their ``running.json`` is still there) are rerun one
    at a time in a fresh single-worker pool, so the one that kills its worker is found
    and marked failed; the rest go on in parallel in a new pool.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from joblib.externals.loky import ProcessPoolExecutor
    from joblib.externals.loky.process_executor import BrokenProcessPool

    pending = list(jobs)
    while pending:
        width = min(n_jobs, len(pending))
        threads = set(threading.enumerate())
        executor = ProcessPoolExecutor(max_workers=width, env=ONE_THREAD_ENV,
                                       initializer=_ignore_sigint)
        # At most one video more than workers is submitted at a time: loky's queue of
        # submitted jobs stays empty, so a shutdown with kill_workers=True (Ctrl-C,
        # SIGTERM) does not trip over it (loky raises KeyError in its manager thread).
        waiting = list(pending)
        futures: dict = {}

        def submit() -> None:
            while waiting and len(futures) <= width:
                j = waiting.pop(0)
                futures[executor.submit(run_job, j)] = j

        broken: BrokenProcessPool | None = None
        try:
            submit()
            while futures and broken is None:
                finished, _ = wait(list(futures), timeout=STOP_POLL_S,
                                   return_when=FIRST_COMPLETED)
                stop.check()
                for fut in finished:
                    try:
                        rec = fut.result()
                    except BrokenProcessPool as exc:
                        broken = exc
                        break
                    del futures[fut]
                    done(rec)
                if broken is None:
                    submit()
        except BaseException:  # Ctrl-C or SIGTERM: no worker outlives this process
            _shut_down(executor, threads, kill=True)
            raise
        else:
            if broken is None and not futures:
                _shut_down(executor, threads, kill=False)
            else:
                executor.shutdown(wait=False, kill_workers=bool(futures))
        if broken is None:
            return
        rest = []
        for fut, j in futures.items():
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                done(fut.result())  # finished before the pool broke
            else:
                rest.append(j)
        rest += waiting
        suspects = [j for j in rest if (j.folder / RUNNING_FILE).exists()]
        if not suspects:
            raise FauError(f"batch worker processes failed: {broken}") from broken
        log.warning("a worker process died; rerunning %d video(s) one by one to find "
                    "which", len(suspects))
        for j in suspects:
            (j.folder / RUNNING_FILE).unlink(missing_ok=True)
            threads = set(threading.enumerate())
            single = ProcessPoolExecutor(max_workers=1, env=ONE_THREAD_ENV,
                                         initializer=_ignore_sigint)
            try:
                fut = single.submit(run_job, j)
                while not wait([fut], timeout=STOP_POLL_S).done:
                    stop.check()
                rec = fut.result()
            except BrokenProcessPool as crash:
                rec = _crash_record(j, "the worker process died while analysing this "
                                       f"video ({_first_line(crash)})")
            finally:
                _shut_down(single, threads, kill=True)
            done(rec)
        pending = [j for j in rest if j not in suspects]


def _first_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if "exit code" in ln.lower()]
    return lines[0].strip() if lines else str(exc).splitlines()[0]


def _connect(scheduler: Any, stop: _StopRequest):
    """A `distributed.Client` for ``scheduler`` and whether it is ours to close.

    An address is probed first (`_probe_scheduler`), so that a port where something
    other than a Dask scheduler listens is a `FauError` after `SCHEDULER_TIMEOUT_S`
    instead of a hang, and SIGTERM or Ctrl-C stop the wait.
    """
    try:
        from distributed import Client
    except ImportError:
        raise FauError(
            "a scheduler needs Dask distributed: pip install 'fau[batch]'"
        ) from None
    if isinstance(scheduler, Client):
        return scheduler, False
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise FauError(f"scheduler must be an address like 'tcp://host:8786', got {scheduler!r}")
    _probe_scheduler(scheduler.strip(), stop)
    try:
        return Client(scheduler.strip(), timeout=SCHEDULER_TIMEOUT_S), True
    except (OSError, TimeoutError, ValueError) as exc:
        raise FauError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None


def _probe_scheduler(address: str, stop: _StopRequest) -> None:
    """Open one connection to ``address`` and complete Dask's handshake, or raise.

    Dask's own ``connect`` bounds the TCP connection by its timeout but not the
    handshake after it: a port that accepts connections and never answers in Dask's
    protocol (a web server, a port forward to nowhere) made ``Client(...)`` wait for
    ever, and one that answers something else raised whatever the bytes decoded to (a
    3 EiB ``MemoryError``). Here the whole exchange has `SCHEDULER_TIMEOUT_S`, and a stop
    request (SIGTERM, Ctrl-C) is acted on every `STOP_POLL_S`.

    Raises
    ------
    FauError
        Nothing answers as a Dask scheduler at ``address`` within the time.
    KeyboardInterrupt
        A stop was requested while waiting.
    """
    import asyncio

    from distributed.comm import connect

    async def probe() -> BaseException | str | None:
        task = asyncio.ensure_future(connect(address, timeout=SCHEDULER_TIMEOUT_S))
        deadline = time.monotonic() + SCHEDULER_TIMEOUT_S
        outcome: BaseException | str | None = None
        while not task.done():
            await asyncio.wait({task}, timeout=STOP_POLL_S)
            if task.done():
                break
            if stop.signum is not None or time.monotonic() > deadline:
                outcome = "stop" if stop.signum is not None else "timeout"
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                return outcome
        if task.exception() is not None:
            return task.exception()
        with contextlib.suppress(Exception):
            await task.result().close()
        return None

    def run() -> None:
        try:
            found.append(asyncio.run(probe()))
        except Exception as exc:  # an address Dask cannot parse
            found.append(exc)

    # On a thread of its own: the caller's thread may have an event loop running
    # (Jupyter), and asyncio.run refuses to start a second one there.
    found: list[BaseException | str | None] = []
    prober = threading.Thread(target=run, name="fau-scheduler-probe", daemon=True)
    prober.start()
    prober.join()
    outcome = found[0] if found else None
    if outcome is None:
        return
    stop.check()
    if outcome == "timeout":
        why = (f"no answer in Dask's protocol within {SCHEDULER_TIMEOUT_S} s (is it the "
               "scheduler's port, by default 8786, and not the dashboard's or another "
               "server's?)")
    elif isinstance(outcome, (OSError, TimeoutError, ValueError)):
        why = str(outcome)
    else:
        why = (f"what answers there is not a Dask scheduler ({type(outcome).__name__}: "
               f"{outcome})")
    raise FauError(f"cannot reach the Dask scheduler at {address!r}: {why}")


def _run_dask(jobs: list[Job], scheduler: Any, done: Callable[[dict[str, Any]], None],
              stop: _StopRequest) -> None:
    """Run on a Dask distributed cluster: one task per video, results as they complete.

    A worker that dies is Dask's business: the scheduler reruns its task elsewhere and,
    after ``distributed.scheduler.allowed-failures`` deaths, gives up on that task only
    (``KilledWorker``), which marks that video failed. Losing the scheduler is not a
    video's failure: it raises `FauError`, the videos not yet done left out of the
    index (a rerun does them). On a stop (SIGTERM, Ctrl-C) the
    futures are cancelled; tasks already running see that before they write
    (`fau.batch.worker.run_job`).
    """
    from distributed import as_completed

    client, own = _connect(scheduler, stop)
    run = uuid.uuid4().hex[:8]
    futures = {}
    try:
        for j in jobs:
            fut = client.submit(run_job, j, pure=False, key=f"fau-batch-{run}-{j.video.name}")
            futures[fut] = j
        completed = as_completed(list(futures))
        while not completed.is_empty():
            stop.check()
            if not completed.has_ready():
                time.sleep(STOP_POLL_S)
                continue
            for fut in completed.next_batch(block=False):
                j = futures.pop(fut)
                try:
                    rec = fut.result()
                except Exception as exc:  # KilledWorker, a lost worker, a pickling error
                    if getattr(exc, "reason", None) == "scheduler-connection-lost":
                        raise FauError(
                            "lost the connection to the Dask scheduler at "
                            f"{client.scheduler.address!r} with {len(futures) + 1} of "
                            f"{len(jobs)} video(s) not done (the others are in {INDEX_FILE}); "
                            "run the batch again when the scheduler is back"
                        ) from None
                    rec = _crash_record(j, f"{type(exc).__name__}: {exc}")
                done(rec)
    finally:
        if futures:
            client.cancel(list(futures))
        if own:
            client.close()


def run_batch(
    inputs: Sequence[PathLike] | PathLike,
    out_dir: PathLike,
    *,
    jobs: int | None = None,
    scheduler: Any = None,
    fps: float | None = None,
    report: bool = False,
    expression_model: str | None = DEFAULT_EXPRESSION_MODEL,
    max_faces: int = DEFAULT_MAX_FACES,
    detector_options: dict[str, Any] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Analyse many videos in parallel, resumably; one output folder per video.

    Parameters
    ----------
    inputs : path or sequence of paths
        Video files, folders (searched recursively for `fau.batch.inputs.VIDEO_EXTENSIONS`)
        and ``.csv`` manifests with a ``path`` column and an optional ``segments`` column
        (a CSV of ``start, end, label`` in seconds per video); relative paths in a
        manifest are relative to the manifest's folder. A quoted wildcard pattern
        (``"talks/*.mp4"``) is expanded (`fau.paths.expand_pattern`).
    out_dir : path
        Output folder (created; a non-empty folder that is not a fau batch output is
        refused). Per video ``out_dir/<name>/`` holds ``frames.parquet`` (one row per face
        per analysed frame), ``summary.json``, ``openface.csv``, ``annotations.eaf``,
        ``report.html`` (with ``report=True``) and ``done.json`` (completion marker);
        ``<name>`` is the file's stem plus a hash of its absolute path.
        ``out_dir/index.csv`` lists every video (`INDEX_COLUMNS`).
    jobs : int or None
        Local worker processes (default: one per available core). Each runs one video at a
        time with single-threaded models. Not allowed together with ``scheduler``.
    scheduler : str or distributed.Client or None
        Dask scheduler address (``"tcp://host:8786"``) or a connected ``Client``: the
        videos run as Dask tasks on the cluster's workers (start them with
        ``--nthreads 1``; see docs/scaling.md). Needs ``pip install 'fau[batch]'``.
    fps : float or None
        Frames analysed per second of video (None: every frame).
    report : bool
        Also write an HTML report per video.
    expression_model : {"ferplus", "fer2013", "geometric"} or None
        Passed to `fau.Detector` (`fau.resources.EXPRESSION_MODELS`); None skips
        expression scoring (columns NaN).
    max_faces : int
        Passed to `fau.Detector` (default 32).
    detector_options : dict or None
        Further `fau.Detector` keyword arguments (override the two above; must pickle;
        ``num_threads`` defaults to 1). They are part of the completion check: values
        other than str, int, float, bool and None enter it by their ``repr()``, so give
        such objects (e.g. a custom ``backend``) a stable ``repr``.
    progress : callable or None
        Called in this process with each video's index record as it completes (a
        failed video is then logged at INFO level, not as a warning: the callback says it).

    Returns
    -------
    pandas.DataFrame
        The index (also written to ``out_dir/index.csv``): ``path``, ``name``, ``status``
        (``ok``, ``failed`` or ``skipped`` = outputs already complete), ``error``,
        ``duration_s`` (video length), ``faces`` (number of tracks), ``frames``
        (analysed), ``truncated``, ``lost_frames``, ``decode_errors`` (`INDEX_COLUMNS`),
        ``seconds`` (wall time in this run), ``cpu_s`` (worker CPU time), ``worker``,
        ``worker_peak_rss_mb``. SIGTERM and Ctrl-C stop the run and raise
        `KeyboardInterrupt`: local workers are killed and waited for; on Dask the
        tasks are cancelled, and one already running (a worker cannot interrupt it)
        analyses on but writes nothing once it is done.

    Raises
    ------
    FauError
        Bad arguments or inputs (see `fau.batch.inputs.collect_inputs`), an output folder that
        is not fau's or is in use, an unreachable or lost scheduler. Problems of single videos
        never raise: they are ``failed`` rows.

    Notes
    -----
    Resuming: a video is skipped only if its ``done.json`` (written last) matches the
    input's size and modification time, the segment file, the options, and the size and
    SHA-256 of every output. Every file is written to a temporary name and renamed, and
    ``index.csv`` is rewritten (atomically) after each video, so an interrupted run
    leaves a valid index and a rerun picks up where it stopped.

    Examples
    --------
    >>> import fau
    >>> index = fau.run_batch(["interviews/"], "results", fps=5)  # doctest: +SKIP
    >>> index.status.value_counts()                               # doctest: +SKIP
    """
    if scheduler is not None and jobs is not None:
        raise FauError("give either jobs (local processes) or scheduler (a Dask cluster), "
                       "not both: the cluster's workers set the parallelism")
    n_jobs = _check_jobs(jobs)
    fps = check_sampling(fps)[0]  # the reader's check, once here instead of per video
    options: dict[str, Any] = {"expression_model": expression_model, "max_faces": max_faces,
                               **(detector_options or {})}
    _check_detector_options(options)  # one clear error instead of a failed row per video
    videos = collect_inputs(without_own_output(inputs, out_dir))
    out = _check_out_dir(out_dir, videos)
    with _claim(out), _stop_on_signals() as stop:
        remove_stale_temporaries(out)  # left by a run that was killed; we hold the lock
        index = _Index(out / INDEX_FILE, [v.name for v in videos])
        all_jobs = [Job(video=v, out_dir=out, fps=fps, report=report,
                        detector_options=options) for v in videos]
        pending = _pending(all_jobs, index, progress)
        if report and pending and not report_supported():
            raise FauError("HTML reports need fau.report and matplotlib, which this "
                           "installation lacks")
        done = _recorder(index, progress)
        t0 = time.perf_counter()
        if pending:
            if scheduler is not None:
                _run_dask(pending, scheduler, done, stop)
            else:
                _run_local(pending, n_jobs, done, stop)
        log.info("batch finished in %.1f s", time.perf_counter() - t0)
        return index.frame()


def _recorder(index: "_Index", progress: Callable[[dict[str, Any]], None] | None
              ) -> Callable[[dict[str, Any]], None]:
    """What is done with each finished video's record: the index, then ``progress``."""
    def done(rec: dict[str, Any]) -> None:
        index.add(rec)
        if rec["status"] == "failed":  # said once: by the log, or by the callback
            log.log(logging.INFO if progress else logging.WARNING, "%s failed: %s",
                    rec["path"], rec["error"])
        if progress:
            progress(rec)
    return done


def _check_out_dir(out_dir: PathLike, videos: list) -> Path:
    """The output folder, absolute; `FauError` if it holds one of the inputs."""
    out = Path(os.path.abspath(os.fspath(out_dir)))
    for v in videos:
        if out == v.path or out in v.path.parents:
            raise FauError(f"output folder {str(out)!r} contains the input {str(v.path)!r}")
    return out


def _pending(all_jobs: list[Job], index: _Index,
             progress: Callable[[dict[str, Any]], None] | None) -> list[Job]:
    """The jobs to run; complete ones go into the index as ``skipped`` (written once)."""
    pending = []
    for j in all_jobs:
        rec = skip_record(j)
        if rec is None:
            (j.folder / RUNNING_FILE).unlink(missing_ok=True)
            remove_stale_temporaries(j.folder)
            pending.append(j)
        else:
            index.add(rec, write=False)
            if progress:
                progress(rec)
    index.write()
    log.info("%d video(s): %d to analyse, %d already complete", len(all_jobs),
             len(pending), len(all_jobs) - len(pending))
    return pending


def _check_detector_options(options: dict[str, Any]) -> None:
    """Fail early, in this process, on options every worker would fail on."""
    import inspect

    from ..detector import Detector
    from ..detector import check_detector_options

    accepted = set(inspect.signature(Detector).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise FauError(f"unknown Detector option(s) {unknown}; accepted: {sorted(accepted)}")
    name = check_expression_model(options.get("expression_model"))
    if name is not None:
        expression_model_path(name)  # raises FauError if the file is missing
    # The types and ranges `Detector` checks (max_faces, min_face_score, num_threads,
    # min_face, backend), with its defaults for the options not given.
    given = {n: p.default for n, p in inspect.signature(Detector).parameters.items()}
    given.update(options)
    check_detector_options(given["max_faces"], given["min_face_score"], given["num_threads"],
                           given["min_face"], given["backend"])
