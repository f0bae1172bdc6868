"""Hostile requests to `fau serve` (issue 13): token before body, event loop kept free,
Host and Origin checks, WebSocket close codes, slow clients, limits on what is decoded,
honest job errors, crash recovery, large-image gate."""

from __future__ import annotations

import asyncio
import io
import socket
import struct
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="fau[serve] extra (fastapi) not installed")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (fau[serve] extra)")
pytest.importorskip("multipart", reason="fau[serve] extra (python-multipart) not installed")

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from fau.errors import FauError  # noqa: E402
from fau.serve import Settings, create_app  # noqa: E402
from fau.serve import jobs as jobs_mod  # noqa: E402
from fau.serve.routes import jobs as job_routes  # noqa: E402
from fau.serve.routes.videos import check_video, more_than  # noqa: E402
from fau.serve.server import uvicorn_config  # noqa: E402
from fau.serve.store import JobStore  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import badcorpus  # noqa: E402

DATA = Path(__file__).parent / "data"
HAP_JPG = (DATA / "cremad_hap.jpg").read_bytes()
HAP_FLV = DATA / "cremad" / "1001_DFA_HAP_XX.flv"

needs_video = pytest.mark.skipif(not jobs_mod.video_available(), reason="fau.video is not installed")


def make_client(tmp_path: Path, **kw) -> TestClient:
    kw.setdefault("expression_model", None)
    kw.setdefault("analysis_threads", 1)
    kw.setdefault("data_dir", tmp_path / "data")
    return TestClient(create_app(Settings(**kw)))


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    return body


def wait_job(c: TestClient, job_id: str, timeout: float = 120.0) -> dict:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        j = c.get(f"/v1/jobs/{job_id}").json()
        if j["state"] in ("done", "failed"):
            return j
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not finished: {j}")


# -- 7: the token is checked before the body is read -------------------------------------
def test_wrong_token_is_refused_before_the_body_is_read(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, expression_model=None, token="s3cret"))
    reads: list[int] = []
    sent: list[dict] = []

    async def receive():
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(msg):
        sent.append(msg)

    for auth in (b"Bearer wrong", None):
        reads.clear()
        sent.clear()
        headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"multipart/form-data; boundary=b"),
                   (b"content-length", b"99000000")]
        if auth:
            headers.append((b"authorization", auth))
        scope = {"type": "http", "method": "POST", "path": "/v1/videos", "raw_path": b"/v1/videos",
                 "query_string": b"", "headers": headers, "server": ("127.0.0.1", 8000),
                 "client": ("127.0.0.1", 5000), "scheme": "http", "http_version": "1.1",
                 "asgi": {"version": "3.0"}, "root_path": ""}
        asyncio.run(app(scope, receive, send))
        start = next(m for m in sent if m["type"] == "http.response.start")
        assert start["status"] == 401
        assert not reads, "the body was read before the token was checked"


# -- 8: no blocking work on the event loop --------------------------------------------------
def _done_job(c: TestClient, rows: int) -> str:
    manager = c.app.state.services.jobs
    job_id = jobs_mod.new_job_id()
    manager.job_dir(job_id).mkdir(parents=True)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(rows, 40)), columns=[f"c{i}" for i in range(40)])
    df.to_parquet(manager.results_path(job_id), index=False)
    now = time.time()
    c.app.state.services.store.create(id=job_id, kind="mp4", filename="a.mp4", size_bytes=1,
                                      state="done", created_at=now, finished_at=now, n_rows=rows)
    return job_id


def test_info_answers_while_a_big_csv_is_produced(tmp_path, monkeypatch):
    slow_s = 2.0
    real = job_routes.table_body

    def slow_table_body(*args, **kw):  # a big table: the CSV takes seconds to write
        time.sleep(slow_s)
        return real(*args, **kw)

    monkeypatch.setattr(job_routes, "table_body", slow_table_body)
    with make_client(tmp_path) as c:
        job_id = _done_job(c, rows=20_000)
        got: dict = {}

        def fetch():
            t0 = time.monotonic()
            got["csv"] = c.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
            got["csv_s"] = time.monotonic() - t0

        t = threading.Thread(target=fetch)
        t.start()
        time.sleep(0.3)  # the CSV request is being served
        t0 = time.monotonic()
        info = c.get("/v1/info")
        info_s = time.monotonic() - t0
        t.join()
        assert info.status_code == 200 and got["csv"].status_code == 200
        assert len(got["csv"].text.splitlines()) == 20_001
        assert got["csv_s"] >= slow_s
        assert info_s < slow_s / 2, f"/v1/info took {info_s:.2f} s while the CSV was written"


# -- 9: Host and Origin ---------------------------------------------------------------------
def test_foreign_host_is_refused(tmp_path):
    with make_client(tmp_path) as c:
        body = assert_error(c.get("/v1/info", headers={"Host": "attacker.example"}), 400, "invalid_host")
        assert "FAU_ALLOWED_HOSTS" in body["detail"]
        assert_error(c.get("/", headers={"Host": "attacker.example:8000"}), 400, "invalid_host")
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST", "testserver"):
            assert c.get("/v1/info", headers={"Host": host}).status_code == 200, host
        with pytest.raises(WebSocketDisconnect) as exc:
            with c.websocket_connect("/v1/stream", headers={"Host": "attacker.example"}) as ws:
                ws.receive_json()
        assert exc.value.code == 1008
    with make_client(tmp_path, allowed_hosts=("fau.example.org", "*.lab.example")) as c:
        assert c.get("/v1/info", headers={"Host": "fau.example.org"}).status_code == 200
        assert c.get("/v1/info", headers={"Host": "a.lab.example:443"}).status_code == 200
        assert_error(c.get("/v1/info", headers={"Host": "localhost"}), 400, "invalid_host")
        assert_error(c.get("/v1/info", headers={"Host": "lab.example.evil"}), 400, "invalid_host")
    env = Settings.from_env({"FAU_ALLOWED_HOSTS": "a.example, *"})
    assert env.allowed_hosts == ("a.example", "*")


def test_websocket_same_origin_only_by_default(tmp_path):
    with make_client(tmp_path) as c:
        with pytest.raises(WebSocketDisconnect) as exc:
            with c.websocket_connect("/v1/stream", headers={"Origin": "https://evil.example"}) as ws:
                ws.receive_json()
        assert exc.value.code == 1008
        for origin in ("http://testserver", None):  # the server's own page; a non-browser client
            with c.websocket_connect("/v1/stream", headers={"Origin": origin} if origin else {}) as ws:
                ws.send_bytes(HAP_JPG)
                assert ws.receive_json()["type"] == "result"
    with make_client(tmp_path, cors_origins=("https://app.example",)) as c:
        with c.websocket_connect("/v1/stream", headers={"Origin": "https://app.example"}) as ws:
            ws.send_bytes(HAP_JPG)
            assert ws.receive_json()["type"] == "result"


@pytest.mark.parametrize("origin, host, allowed, ok", [
    ("http://testserver", "testserver", (), True),
    ("HTTP://TestServer:80/", "testserver:80", (), True),  # as Settings' cors_origin writes it
    ("http://[::1]:8000", "[::1]:8000", (), True),
    ("http://localhost:8000", "localhost:8001", (), False),
    ("null", "testserver", (), False),
    ("*", "testserver", (), False),
    ("http://a@testserver", "testserver", (), False),
    ("https://evil.example", "testserver", (), False),
    ("HTTPS://App.example:443", "testserver", ("https://app.example",), True),
    ("https://evil.example", "testserver", ("*",), True),  # was refused: '*' matched no origin
])
def test_origin_allowed_normalises_as_settings_do(origin, host, allowed, ok):
    from fau.serve.hosts import origin_allowed

    assert origin_allowed(origin, host, Settings(cors_origins=allowed).cors_origins) is ok


def test_websocket_any_origin_with_cors_star(tmp_path):
    """``--cors '*'`` lets any page call the REST API, and (docs/deploy.md: "the same list")
    open the stream; the stream closed it with 1008."""
    with make_client(tmp_path, cors_origins=("*",)) as c:
        with c.websocket_connect("/v1/stream", headers={"Origin": "https://app.example"}) as ws:
            ws.send_bytes(HAP_JPG)
            assert ws.receive_json()["type"] == "result"


# -- real server: close codes, slow clients -------------------------------------------------
class LiveServer:
    """`fau serve`'s uvicorn configuration on a free loopback port, in a thread."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        with socket.socket() as sk:
            sk.bind(("127.0.0.1", 0))
            self.port = sk.getsockname()[1]
        self.server = uvicorn.Server(uvicorn_config(create_app(settings), settings, port=self.port))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def test_websocket_wrong_token_closes_with_1008(tmp_path):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    settings = Settings(data_dir=tmp_path, expression_model=None, analysis_threads=1, token="s3cret")
    with LiveServer(settings) as srv:
        url = f"ws://127.0.0.1:{srv.port}/v1/stream"
        with connect(url + "?token=wrong") as ws:  # the handshake succeeds, then the close
            with pytest.raises(ConnectionClosed) as exc:
                ws.recv(timeout=10)
        assert exc.value.rcvd.code == 1008 and "token" in exc.value.rcvd.reason
        with connect(url + "?token=s3cret") as ws:
            ws.send(HAP_JPG)
            assert b'"type": "result"' in ws.recv(timeout=30).encode()


def test_idle_stream_is_closed_and_frees_its_slot(tmp_path):
    """Before: a client that connected to /v1/stream and sent nothing kept its slot (and
    detector) for ever; with max_streams such clients every later stream got 1013."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    settings = Settings(data_dir=tmp_path, expression_model=None, analysis_threads=1,
                        max_streams=1, stream_idle_s=1.5)
    with LiveServer(settings) as srv:
        url = f"ws://127.0.0.1:{srv.port}/v1/stream"
        with connect(url) as idle:
            t0 = time.monotonic()
            with connect(url) as other:  # the only slot is taken
                with pytest.raises(ConnectionClosed) as exc:
                    other.recv(timeout=10)
                assert exc.value.rcvd.code == 1013
            with pytest.raises(ConnectionClosed) as exc:
                idle.recv(timeout=10)
            waited = time.monotonic() - t0
        assert exc.value.rcvd.code == 4408, exc.value.rcvd
        assert "no frame for 1.5 s" in exc.value.rcvd.reason
        assert 1.4 < waited < 5.0, waited
        with connect(url) as ws:  # the slot is free again; frames keep a stream open
            for _ in range(4):  # 4 × 0.7 s > the 1.5 s limit
                ws.send(HAP_JPG)
                assert b'"type": "result"' in ws.recv(timeout=30).encode()
                time.sleep(0.7)
            ws.send(HAP_JPG)
            assert b'"type": "result"' in ws.recv(timeout=30).encode()


def test_wrong_token_upload_gets_its_401_on_a_real_server(tmp_path):
    """The 401 comes back as an answer, not as a connection reset, while the client is
    still sending its (unread, discarded) upload: the server must not close a connection
    with unread bytes in it (the kernel would reset it and drop the answer)."""
    settings = Settings(data_dir=tmp_path, expression_model=None, analysis_threads=1, token="s3cret")
    with LiveServer(settings) as srv:
        sk = socket.create_connection(("127.0.0.1", srv.port))
        sk.settimeout(10.0)
        sk.sendall(b"POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer no\r\n"
                   b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 4000000\r\n\r\n"
                   + b"x" * 1_000_000)
        time.sleep(1.0)  # the server has answered by now, with a megabyte still unread
        try:
            answer = sk.recv(4096)
        except ConnectionResetError:
            answer = b"<reset>"
        assert answer.startswith(b"HTTP/1.1 401"), answer[:100]
        sk.sendall(b"x" * 3_000_000)  # the rest of the upload is discarded, not stored
        sk.close()
        import httpx

        ok = httpx.post(f"http://127.0.0.1:{srv.port}/v1/images", headers={"Authorization": "Bearer s3cret"},
                        files={"file": ("a.jpg", HAP_JPG)}, timeout=30)
        assert ok.status_code == 200 and len(ok.json()["faces"]) == 1


def test_slow_clients_are_disconnected(tmp_path):
    settings = Settings(data_dir=tmp_path, expression_model=None, analysis_threads=1,
                        header_timeout_s=1.0, body_timeout_s=1.0)
    with LiveServer(settings) as srv:
        socks = []
        for _ in range(60):  # headers that never end
            sk = socket.create_connection(("127.0.0.1", srv.port))
            sk.sendall(b"GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            sk.settimeout(5.0)
            socks.append(sk)
        t0 = time.monotonic()
        for sk in socks:
            try:
                assert sk.recv(1024) == b""  # closed by the server
            except ConnectionResetError:
                pass
            sk.close()
        assert time.monotonic() - t0 < 5.0
        # a body that stalls: 408 once it has waited body_timeout_s
        sk = socket.create_connection(("127.0.0.1", srv.port))
        sk.settimeout(10.0)
        sk.sendall(b"POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
                   b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n")
        t0 = time.monotonic()
        answer = sk.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"timeout"' in answer and time.monotonic() - t0 < 5.0
        sk.close()
        # a prompt client is served as usual
        import httpx

        assert httpx.get(f"http://127.0.0.1:{srv.port}/v1/info", timeout=10).status_code == 200


# -- 11: formats, messages, job errors ------------------------------------------------------
def _ftyp(brand: bytes, compatible: tuple[bytes, ...] = ()) -> bytes:
    body = brand + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00" * 400


@needs_video
def test_avif_is_refused_as_image_and_as_video(tmp_path):
    with make_client(tmp_path) as c:
        for data in (_ftyp(b"avif", (b"mif1", b"miaf")), _ftyp(b"mif1", (b"avif",)), _ftyp(b"heic")):
            files = {"file": ("photo.avif", data)}
            body = assert_error(c.post("/v1/images", files=files), 415, "unsupported_type")
            assert ("AVIF" in body["detail"] or "HEIF" in body["detail"]) and "/v1/videos" not in body["detail"]
            body = assert_error(c.post("/v1/videos", files=files), 415, "unsupported_type")
            assert "AVIF" in body["detail"] or "HEIF" in body["detail"]
        assert c.get("/v1/jobs").json()["total"] == 0


def test_limit_messages_are_exact():
    assert more_than(600.03, 600) == "600.03" and more_than(600.4, 600) == "600.4"
    from fau.serve.errors import ApiError

    with pytest.raises(ApiError) as exc:
        check_video({"duration_s": 600.03, "width": 640, "height": 480}, 600.0)
    assert exc.value.code == "video_too_long" and "600.03 s" in exc.value.detail
    with pytest.raises(ApiError) as exc:
        check_video({"duration_s": 1.0, "width": 16000, "height": 16000}, 600.0)
    assert exc.value.code == "video_too_large" and "16000×16000" in exc.value.detail
    check_video({"duration_s": None, "width": 640, "height": 480}, 600.0)  # no duration: checked on decoding
    check_video({"duration_s": 600.0, "width": 1920, "height": 1080}, 600.0)  # at the limit: fine


@needs_video
def test_a_video_over_ffmpegs_bound_is_answered_as_too_large(tmp_path, monkeypatch):
    """Frames over the header reader's bound (jobs.probe: fau.limits.MAX_PIXELS; the issue's
    16000² video) are 'video_too_large' with the video limit, not 'invalid_video' quoting
    FFmpeg's bound."""
    from fau.limits import MAX_VIDEO_PIXELS

    monkeypatch.setattr(jobs_mod, "MAX_PIXELS", 1_000_000)  # stands in for 100 MP: no 2.7-GB file
    big = badcorpus.write_video(tmp_path / "big.mp4", [np.zeros((1024, 1280, 3), np.uint8)])
    with make_client(tmp_path) as c:
        body = assert_error(c.post("/v1/videos", files={"file": ("big.mp4", big.read_bytes())}),
                            422, "video_too_large")
        assert "1280×1024" in body["detail"] and f"{MAX_VIDEO_PIXELS:,}" in body["detail"]
        assert c.get("/v1/jobs").json()["total"] == 0


@needs_video
def test_fps_nan_and_frame_sizes_are_refused_at_upload(tmp_path):
    from fau.limits import MAX_VIDEO_PIXELS

    big = badcorpus.write_video(tmp_path / "big.avi", [np.zeros((2160, 4112, 3), np.uint8)],
                                codec="mjpeg", pix_fmt="yuvj420p")  # 8.88 MP: just over DCI 4K
    assert 4112 * 2160 > MAX_VIDEO_PIXELS
    tiny = badcorpus.sized_video(tmp_path, 8, 8)
    with make_client(tmp_path) as c:
        for fps in ("nan", "inf"):
            body = assert_error(c.post("/v1/videos", files={"file": ("a.flv", HAP_FLV.read_bytes())},
                                       data={"fps": fps}), 422, "invalid_request")
            assert "finite" in body["detail"] and body["detail"].startswith("fps:")
        body = assert_error(c.post("/v1/videos", files={"file": ("big.avi", big.read_bytes())}),
                            422, "video_too_large")
        assert "4112×2160" in body["detail"]
        body = assert_error(c.post("/v1/videos", files={"file": ("tiny.mp4", tiny.read_bytes())}),
                            422, "invalid_video")
        assert "8×8" in body["detail"]
        assert c.get("/v1/jobs").json()["total"] == 0
        assert not any((tmp_path / "data" / "jobs").iterdir())


@needs_video
def test_duration_limit_holds_on_what_is_decoded(tmp_path):
    lying = badcorpus.lying_flv(tmp_path, seconds=4.0, claimed=1.0)
    with make_client(tmp_path, max_video_s=2.0) as c:
        r = c.post("/v1/videos", files={"file": ("lying.flv", lying.read_bytes())})
        assert r.status_code == 202, r.text  # the header says 1 s
        job = wait_job(c, r.json()["id"])
        assert job["state"] == "failed" and "runs past" in job["error"] and "2 s" in job["error"]
        assert "1.00 s" in job["error"] and str(tmp_path) not in job["error"], job["error"]
        assert not list(c.app.state.services.jobs.job_dir(job["id"]).glob("input*"))


class FailingDetector:
    """A detector whose video analysis fails, naming the server's file in its message."""

    expression_model_name = None
    model = None

    def __init__(self, exc_type: type[Exception]) -> None:
        self.exc_type = exc_type

    def detect_video(self, path, progress=None, **kw):
        raise self.exc_type(f"cannot decode {path} (codec error at {Path(path).parent}/x.tmp)")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("exc_type", ["FauError", "RuntimeError"])
def test_failed_job_error_shows_no_server_path(tmp_path, exc_type):
    from fau import FauError

    exc = FauError if exc_type == "FauError" else RuntimeError
    settings = Settings(data_dir=tmp_path / "data", expression_model=None)
    settings.data_dir.mkdir()
    store = JobStore(settings.database_url)
    manager = jobs_mod.JobManager(settings, store, lambda: FailingDetector(exc))
    job_id = jobs_mod.new_job_id()
    manager.job_dir(job_id).mkdir(parents=True)
    manager.input_path({"id": job_id, "kind": "mp4"}).write_bytes(b"x")
    store.create(id=job_id, kind="mp4", filename="interview.mp4", size_bytes=1, duration_s=2.0)
    manager.start()
    try:
        t0 = time.monotonic()
        while store.get(job_id)["state"] != "failed":
            assert time.monotonic() - t0 < 20
            time.sleep(0.05)
    finally:
        manager.stop()
    error = store.get(job_id)["error"]
    assert str(tmp_path) not in error and "/data/" not in error, error
    if exc_type == "FauError":
        assert "cannot decode interview.mp4" in error
    else:
        assert error == "internal error (RuntimeError); see the server log"
    store.close()


def test_recovery_keeps_the_retry_reason_and_drops_inputs_of_failed_jobs(tmp_path):
    import fau

    settings = Settings(data_dir=tmp_path / "data", expression_model=None)
    settings.data_dir.mkdir()
    store = JobStore(settings.database_url)
    manager = jobs_mod.JobManager(settings, store, lambda: fau.Detector(expression_model=None))
    ids = {}
    for name, attempts in (("retry", 1), ("fail", 2)):
        job_id = ids[name] = jobs_mod.new_job_id()
        manager.job_dir(job_id).mkdir(parents=True)
        manager.input_path({"id": job_id, "kind": "flv"}).write_bytes(HAP_FLV.read_bytes())
        old = time.time() - 120
        store.create(id=job_id, kind="flv", filename="a.flv", size_bytes=1, duration_s=1.868,
                     fps=5.0, state="running", attempts=attempts, worker="deadhost:1:x:0",
                     started_at=old, heartbeat_at=old)
    manager.start()
    try:
        t0 = time.monotonic()
        while store.get(ids["retry"])["state"] != "done":
            assert time.monotonic() - t0 < 60, store.get(ids["retry"])
            time.sleep(0.05)
    finally:
        manager.stop()
    retried, failed = store.get(ids["retry"]), store.get(ids["fail"])
    assert retried["attempts"] == 2 and "interrupted" in retried["error"]  # why it was retried
    assert failed["state"] == "failed" and "not retried" in failed["error"]
    assert not list(manager.job_dir(ids["fail"]).glob("input*"))  # its upload is removed
    store.close()


# -- 5: concurrent large images ----------------------------------------------------------------
def test_large_images_are_decoded_one_at_a_time(tmp_path, monkeypatch):
    """Three 16.4 MP uploads at once are decoded one after the other, and a small image
    sent meanwhile does not wait behind them (they queue outside the detector threads)."""
    import fau.serve.analysis as analysis

    buf = io.BytesIO()
    Image.fromarray(np.full((4000, 4100), 128, np.uint8)).save(buf, format="PNG")  # 16.4 MP, 60 KB
    big = buf.getvalue()
    real = analysis.load_image
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def counting_load(data):
        large = isinstance(data, bytes) and len(data) == len(big)
        if large:
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
            time.sleep(2.0)  # a slow decode
        try:
            return real(data)
        finally:
            if large:
                with lock:
                    state["now"] -= 1

    monkeypatch.setattr(analysis, "load_image", counting_load)
    with make_client(tmp_path, analysis_threads=2) as c:
        done: list[tuple[str, int]] = []

        def post(name: str, data: bytes) -> None:
            r = c.post("/v1/images", files={"file": (name, data)})
            done.append((name, r.status_code, len(r.json().get("faces", []))))

        threads = [threading.Thread(target=post, args=(f"big{i}", big)) for i in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        small = threading.Thread(target=post, args=("small", HAP_JPG))
        small.start()
        for t in threads + [small]:
            t.join()
    assert sorted(code for _, code, _ in done) == [200] * 4, done
    assert state["peak"] == 1, state
    order = [name for name, _, _ in done]
    assert order.index("small") < 2, order  # done before the second large image
    assert ("small", 200, 1) in done


def test_token_with_white_space_around_it_or_non_ascii(tmp_path):
    """A token read with its newline (``FAU_TOKEN`` from a file) or padded matched no
    request: the header's token is stripped, the configured one was not (every call 401).
    A non-ASCII token cannot be carried by a header as the server reads it: refused."""
    with make_client(tmp_path, token=" s3cret\n") as c:
        assert c.get("/v1/jobs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert_error(c.get("/v1/jobs", headers={"Authorization": "Bearer s3cre"}), 401,
                     "unauthorized")
    with pytest.raises(FauError, match=r"token must be printable ASCII .* holds U\+00E4$"):
        Settings(data_dir=tmp_path, token="pässwort")
    assert Settings(data_dir=tmp_path, token=" \n").token is None
    assert Settings.from_env({"FAU_TOKEN": "abc\n"}).token == "abc"
