"""fau.run_batch on a real Dask distributed LocalCluster (2 worker processes, 1 thread each)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pandas as pd
import pytest

import fau
from fau.batch.store import DONE_MARKER
from fau.errors import FauError

distributed = pytest.importorskip(
    "distributed", reason="Dask distributed is not installed (pip install 'fau[batch]')"
)

from test_batch import (  # noqa: E402  (after the importorskip)
    CLIPS,
    FAST,
    FPS,
    CrashOnTinyFrames,
    WaitOnTinyFrames,
    _env,
    digests,
    reference,  # noqa: F401 (a fixture)
)
from helpers import write_corrupt, write_tiny_video  # noqa: E402

#: A local cluster per module and several batch runs: tens of seconds.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    import dask

    # worker-saturation 1.0: a worker holds only the video it runs, so a worker that dies
    # puts no other video under suspicion; 1 allowed failure keeps the crash test short
    # (the default, 3, means four worker deaths before Dask gives up on a video).
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0,
                          "distributed.scheduler.allowed-failures": 1}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as c:
            yield c


def test_dask_batch_with_corrupt_file(cluster, tmp_path, reference):
    bad = write_corrupt(tmp_path / "corrupt.webm")
    inputs = [CLIPS[0], bad, CLIPS[1], CLIPS[2], CLIPS[3]]  # the reference's 4 clips
    index = fau.run_batch(inputs, tmp_path / "out", scheduler=cluster.scheduler_address, **FAST)
    assert index["status"].tolist() == ["ok", "failed", "ok", "ok", "ok"]
    assert "corrupt.webm" in index.loc[1, "error"]
    assert (index.loc[index.status == "ok", "faces"] == 1).all()
    # one fau.Detector per worker process, reused: at most 2 processes did the work
    workers = set(index.loc[index.status == "ok", "worker"])
    worker_pids = {int(a.split(":")[-1]) for a in workers}
    assert 1 <= len(worker_pids) <= 2
    assert digests(tmp_path / "out") == reference  # same outputs as the local joblib path
    # rerun on the cluster: the done videos are skipped, the corrupt one is retried
    again = fau.run_batch(inputs, tmp_path / "out", scheduler=cluster.scheduler_address, **FAST)
    assert again["status"].tolist() == ["skipped", "failed", "skipped", "skipped", "skipped"]


def test_dask_client_object_and_bad_address(cluster, tmp_path):
    with distributed.Client(cluster.scheduler_address) as client:
        index = fau.run_batch([CLIPS[4]], tmp_path / "out", scheduler=client, **FAST)
        assert index["status"].tolist() == ["ok"]
        assert client.status == "running"  # a client we were given is not closed
    with pytest.raises(FauError, match="scheduler"):
        fau.run_batch([CLIPS[4]], tmp_path / "out2", scheduler="not an address", **FAST)


def test_dask_worker_crash_fails_only_its_video(cluster, tmp_path):
    tiny = write_tiny_video(tmp_path / "tiny.mp4")
    index = fau.run_batch([CLIPS[0], tiny, CLIPS[1]], tmp_path / "out",
                      scheduler=cluster.scheduler_address,
                      detector_options={"backend": CrashOnTinyFrames()}, **FAST)
    assert index["status"].tolist() == ["ok", "failed", "ok"]
    assert "KilledWorker" in index.loc[1, "error"]
    with distributed.Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def test_interrupted_cluster_run_is_resumed(cluster, tmp_path, reference):
    clips = CLIPS[:4]
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fau", "batch", *map(str, clips), "--out", str(out),
           "--scheduler", cluster.scheduler_address, "--fps", str(FPS), "--model", "none"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(f"*/{DONE_MARKER}")):
            assert proc.poll() is None, "batch ended before the first video was done"
            assert time.monotonic() < deadline, "no video finished within 120 s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
    done_before = len(list(out.glob(f"*/{DONE_MARKER}")))
    assert done_before < len(clips), "the run was not interrupted part-way"
    pd.read_csv(out / "index.csv", keep_default_na=False)  # a valid table after the kill

    index = fau.run_batch(clips, out, scheduler=cluster.scheduler_address, **FAST)
    counts = index["status"].value_counts().to_dict()
    # tasks already running on the cluster when the client died may finish afterwards
    assert counts.get("skipped", 0) >= done_before
    assert counts.get("failed", 0) == 0
    assert counts.get("skipped", 0) + counts.get("ok", 0) == len(clips)
    assert counts.get("ok", 0) >= 1
    assert digests(out) == reference


class _NotAScheduler:
    """A TCP server on localhost that accepts connections and either never answers
    (``reply=None``: a port forward to nowhere, a server waiting for its request) or
    answers ``reply`` (a web server's bytes)."""

    def __init__(self, reply: bytes | None) -> None:
        import socket
        import threading

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.reply = reply
        self.conns: list = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply is not None:
                conn.sendall(self.reply)

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.parametrize("reply", [None, b"HTTP/1.0 400 Bad Request\r\n\r\n" * 8],
                         ids=["silent", "http"])
def test_an_address_where_no_scheduler_answers_is_an_error_in_time(tmp_path, monkeypatch, reply):
    """A port that accepts connections but does not speak Dask's protocol: one FauError
    after SCHEDULER_TIMEOUT_S (Dask's handshake has no timeout: it waited for ever), or
    at once when the bytes that come back are not Dask's (was a 3 EiB MemoryError)."""
    import fau.batch.runner as runner

    monkeypatch.setattr(runner, "SCHEDULER_TIMEOUT_S", 1)
    server = _NotAScheduler(reply)
    try:
        t0 = time.monotonic()
        with pytest.raises(FauError, match="cannot reach the Dask scheduler"):
            fau.run_batch([CLIPS[4]], tmp_path / "out", scheduler=server.address, **FAST)
        assert time.monotonic() - t0 < 15
    finally:
        server.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM to oneself is POSIX")
def test_a_signal_stops_the_wait_for_a_scheduler(tmp_path):
    """SIGTERM while the client waits for a scheduler's answer stops the batch within a
    poll (the handler only notes the signal; the wait never looked at it)."""
    import signal
    import threading

    server = _NotAScheduler(None)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    try:
        t0 = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            fau.run_batch([CLIPS[4]], tmp_path / "out", scheduler=server.address, **FAST)
        assert time.monotonic() - t0 < 10  # SCHEDULER_TIMEOUT_S is 30
    finally:
        timer.cancel()
        server.close()


def test_a_task_running_when_the_batch_stops_writes_nothing(cluster, tmp_path):
    """Ctrl-C / SIGTERM cancel the batch's futures, but a Dask worker cannot interrupt
    a task that runs: it used to finish and write its outputs and done.json into the
    folder after run_batch had returned (and while a rerun might be writing there)."""
    gate = tmp_path / "gate"
    tiny = write_tiny_video(tmp_path / "tiny.mp4")
    out = tmp_path / "out"

    def stop_after_first(rec):
        raise KeyboardInterrupt("Ctrl-C")

    with pytest.raises(KeyboardInterrupt):
        fau.run_batch([CLIPS[0], tiny], out, scheduler=cluster.scheduler_address,
                      detector_options={"backend": WaitOnTinyFrames(gate)},
                      progress=stop_after_first, **FAST)
    folder = out / fau.batch.output_name(tiny)
    assert (folder / "running.json").exists()  # the tiny video's task is still running
    gate.touch()  # let it go on
    with distributed.Client(cluster.scheduler_address) as client:
        deadline = time.monotonic() + 60
        while any(client.run(lambda dask_worker: len(dask_worker.state.executing)).values()):
            assert time.monotonic() < deadline, "the task did not end within 60 s"
            time.sleep(0.1)
    assert not (folder / DONE_MARKER).exists()
    assert not (folder / "frames.parquet").exists()
    index = fau.run_batch([CLIPS[0], tiny], out, scheduler=cluster.scheduler_address,
                          detector_options={"backend": WaitOnTinyFrames(gate)}, **FAST)
    assert index["status"].tolist() == ["skipped", "ok"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_losing_the_scheduler_is_an_error_not_failed_videos(tmp_path):
    """The scheduler going away mid-run raises FauError (CLI exit status 2) and leaves
    the videos not done out of index.csv; each one was a ``failed`` row with Dask's
    "FutureCancelledError: ... scheduler-connection-lost" text, as if the video were bad."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                  "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  "--dashboard-address", ":0"], env=_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                               "--nthreads", "1", "--no-nanny", "--dashboard-address", ":0"],
                              env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)

        def lose_the_scheduler(rec):
            scheduler.kill()
            scheduler.wait()

        with pytest.raises(FauError, match="lost the connection to the Dask scheduler"):
            fau.run_batch(CLIPS[:3], tmp_path / "out", scheduler=address,
                          progress=lose_the_scheduler, **FAST)
        index = pd.read_csv(tmp_path / "out" / "index.csv", keep_default_na=False)
        assert index["status"].tolist() == ["ok"]
    finally:
        for p in (worker, scheduler):
            p.kill()
            p.wait()
