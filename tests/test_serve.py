"""API tests of `fau serve` with FastAPI's TestClient: good input and every bad input."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="fau[serve] extra (fastapi) not installed")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (fau[serve] extra)")
pytest.importorskip("multipart", reason="fau[serve] extra (python-multipart) not installed")

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from fau import AU_NAMES, EXPRESSIONS, FauError  # noqa: E402
from fau.serve import Settings, create_app  # noqa: E402
from fau.serve import jobs as jobs_mod  # noqa: E402
from fau.serve.sniff import sniff  # noqa: E402
from fau.serve.store import JobStore  # noqa: E402
from helpers import MODEL, model_available  # noqa: E402

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).resolve().parents[1]
HAP_JPG = (DATA / "cremad_hap.jpg").read_bytes()
HAP_FLV = DATA / "cremad" / "1001_DFA_HAP_XX.flv"


needs_model = pytest.mark.skipif(
    MODEL is None, reason="expression model files fau/models/expression_{ferplus,fer2013}.npz absent")
needs_video = pytest.mark.skipif(
    not jobs_mod.video_available(), reason="fau.video (Detector.detect_video) is not installed")


def make_client(tmp_path: Path, **kw) -> TestClient:
    kw.setdefault("expression_model", None)
    kw.setdefault("analysis_threads", 1)
    kw.setdefault("data_dir", tmp_path / "data")
    return TestClient(create_app(Settings(**kw)))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("serve")) as c:
        yield c


def png_bytes(arr: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def post_image(c: TestClient, data: bytes, name: str = "x.jpg", **kw):
    return c.post("/v1/images", files={"file": (name, data, "application/octet-stream")}, **kw)


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def wait_job(c: TestClient, job_id: str, timeout: float = 120.0, **kw) -> dict:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        j = c.get(f"/v1/jobs/{job_id}", **kw).json()
        if j["state"] in ("done", "failed"):
            return j
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not finished after {timeout} s: {j}")


# -- images ------------------------------------------------------------------------------
def test_image_ok(client):
    r = post_image(client, HAP_JPG)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (480, 360)
    assert len(body["faces"]) == 1
    f = body["faces"][0]
    b = f["box"]
    assert 0 <= b["x"] < b["x"] + b["w"] <= 480 and 0 <= b["y"] < b["y"] + b["h"] <= 360
    assert b["w"] > 50 and b["h"] > 50  # the actor's face is ~95×120 px
    assert f["score"] > 0.9
    assert list(f["aus"]) == list(AU_NAMES)
    assert f["aus"]["AU12"] > 0.1  # smiling: lip corners pulled (fraction of IOD)
    # gaze as in detect_image (degrees, camera frame); the answer had none
    assert set(f["gaze"]) == {"yaw", "pitch"} and all(abs(v) < 30 for v in f["gaze"].values())
    assert f["expressions"] is None and f["expression"] is None and body["model"] is None
    assert "blendshapes" not in f and "explanation" not in f
    assert body["analysis_ms"] > 0


def test_image_formats_sniffed_not_named(client):
    rgb = np.asarray(Image.open(io.BytesIO(HAP_JPG)).convert("RGB"))
    for fmt, name in (("PNG", "photo.exe"), ("WEBP", "noext"), ("BMP", "x.jpg")):
        r = post_image(client, png_bytes(rgb, fmt), name=name)
        assert r.status_code == 200, (fmt, r.text)
        assert len(r.json()["faces"]) == 1


def test_image_blendshapes(client):
    r = post_image(client, HAP_JPG, params={"blendshapes": "true"})
    f = r.json()["faces"][0]
    assert len(f["blendshapes"]) == 52 and 0 <= f["blendshapes"]["mouthSmileLeft"] <= 1
    # as a form field, like explain (it was ignored: no blendshapes and no error)
    files = {"file": ("x.jpg", HAP_JPG, "image/jpeg")}
    r = client.post("/v1/images", files=files, data={"blendshapes": "true"})
    assert len(r.json()["faces"][0]["blendshapes"]) == 52
    r = client.post("/v1/images", files=files, data={"blendshapes": "false"})
    assert "blendshapes" not in r.json()["faces"][0]


def test_too_many_waiting_images_is_503_with_retry_after(tmp_path, monkeypatch):
    """Before: image requests queued behind the detector threads without bound (each
    holding its body in memory); now one thread + one waiting, the third is 503."""
    from fau.serve.routes import images as image_routes

    release = threading.Event()
    real = image_routes.analyse_image

    def slow(det, data, **kw):
        release.wait(20)
        return real(det, data, **kw)

    monkeypatch.setattr(image_routes, "analyse_image", slow)
    with make_client(tmp_path, analysis_threads=1, max_waiting_images=1) as c:
        answers: list = []

        def send() -> None:
            answers.append(post_image(c, HAP_JPG))

        first = [threading.Thread(target=send) for _ in range(2)]
        for t in first:
            t.start()
        _poll(lambda: c.app.state.services.images.active == 2, 10)
        third = threading.Thread(target=send)
        third.start()
        third.join(10)
        done_early = list(answers)
        release.set()
        for t in (*first, third):
            t.join(30)
        assert len(done_early) == 1, "the third request waited instead of being refused"
        body = assert_error(done_early[0], 503, "busy")
        assert done_early[0].headers["Retry-After"] == "1"
        assert "FAU_MAX_WAITING_IMAGES=1" in body["detail"]
        assert sorted(r.status_code for r in answers) == [200, 200, 503]
        assert c.app.state.services.images.active == 0
        assert post_image(c, HAP_JPG).status_code == 200


def test_image_without_face(client):
    r = post_image(client, png_bytes(np.full((120, 160, 3), 128, np.uint8)))
    assert r.status_code == 200
    assert r.json()["faces"] == []


def test_image_bad_inputs(client):
    assert_error(post_image(client, b"hello, not an image", name="face.jpg"), 415, "unsupported_type")
    body = assert_error(post_image(client, HAP_FLV.read_bytes()[:4096], name="a.jpg"), 415, "unsupported_type")
    assert "/v1/videos" in body["detail"]
    assert_error(post_image(client, HAP_JPG[: len(HAP_JPG) // 3]), 422, "invalid_image")  # truncated
    assert_error(post_image(client, png_bytes(np.zeros((8, 8, 3), np.uint8))), 422, "invalid_image")
    assert_error(post_image(client, b""), 422, "invalid_request")
    body = assert_error(client.post("/v1/images"), 422, "invalid_request")
    assert "file" in body["detail"] and body["errors"]
    body = assert_error(client.post("/v1/images", files={"other": ("a.jpg", HAP_JPG)}), 422, "invalid_request")
    assert_error(client.post("/v1/images", content=b"raw", headers={"content-type": "image/jpeg"}),
                 422, "invalid_request")
    assert_error(post_image(client, HAP_JPG, params={"explain": "perhaps"}), 422, "invalid_request")
    # explanations need an expression model; this server has none
    assert_error(post_image(client, HAP_JPG, params={"explain": "true"}), 422, "invalid_request")
    assert_error(client.get("/v1/images"), 405, "method_not_allowed")


def test_a_corrupt_model_file_is_a_server_fault_not_the_request(client, monkeypatch):
    from fau.errors import ModelFileError
    from fau.serve.routes import images

    def broken(*a, **k):
        raise ModelFileError("bundled model file 'expression_ferplus.npz' is corrupt; reinstall fau")

    monkeypatch.setattr(images, "analyse_image", broken)
    face = png_bytes(np.full((64, 64, 3), 128, np.uint8))
    body = assert_error(post_image(client, face), 500, "internal_error")
    assert "reinstall fau" in body["detail"]


def test_bundled_model_file_with_a_wrong_digest_is_a_model_file_error(tmp_path, monkeypatch):
    from fau.errors import FauError, ModelFileError
    from fau.expression import model_files
    from fau.resources import model_path

    real = model_path("expression_geometric.npz")
    monkeypatch.setattr(model_files, "bundled_digests", lambda: {real.name: "0" * 64})
    with pytest.raises(ModelFileError, match="corrupt"):
        model_files.read_checked(real)
    with pytest.raises(FauError) as err:  # a file of the user's own: their input
        model_files.read_checked(tmp_path / "missing.npz")
    assert not isinstance(err.value, ModelFileError)


def test_upload_too_large(tmp_path):
    with make_client(tmp_path, max_upload_mb=0.05) as c:  # 51,200 bytes
        big = HAP_JPG + b"\0" * 60_000
        body = assert_error(post_image(c, big), 413, "too_large")
        assert "0.05 MiB" in body["detail"]

        def chunks():  # no Content-Length: counted while streaming
            head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
                    b"Content-Type: image/jpeg\r\n\r\n")
            yield head
            for _ in range(20):
                yield b"\xff" * 8192
            yield b"\r\n--b--\r\n"

        r = c.post("/v1/images", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
        assert_error(r, 413, "too_large")
        assert post_image(c, HAP_JPG).status_code == 200  # 18 kB is fine


# -- auth, CORS, headers -----------------------------------------------------------------
def test_token(tmp_path):
    with make_client(tmp_path, token="s3cret") as c:
        r = post_image(c, HAP_JPG)
        assert_error(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"
        assert_error(post_image(c, HAP_JPG, headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
        assert_error(post_image(c, HAP_JPG, headers={"Authorization": "Basic s3cret"}), 401, "unauthorized")
        assert_error(c.get("/v1/jobs"), 401, "unauthorized")
        assert_error(c.get("/v1/jobs/" + "0" * 32), 401, "unauthorized")  # no existence leak
        ok = {"Authorization": "Bearer s3cret"}
        assert post_image(c, HAP_JPG, headers=ok).status_code == 200
        assert c.get("/v1/jobs", headers=ok).status_code == 200
        assert c.get("/v1/info").json()["auth_required"] is True  # info and page stay open
        assert c.get("/").status_code == 200
        with pytest.raises(WebSocketDisconnect) as exc:
            with c.websocket_connect("/v1/stream?token=wrong") as ws:
                ws.receive_json()
        assert exc.value.code == 1008
        with c.websocket_connect("/v1/stream?token=s3cret") as ws:
            ws.send_bytes(HAP_JPG)
            assert ws.receive_json()["type"] == "result"
        with c.websocket_connect("/v1/stream", headers=ok) as ws:
            ws.send_bytes(HAP_JPG)
            assert ws.receive_json()["type"] == "result"


def test_cors_off_by_default_and_on_when_asked(client, tmp_path):
    h = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    r = client.options("/v1/images", headers=h)
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in client.get("/v1/info", headers=h).headers
    with make_client(tmp_path, cors_origins=("https://app.example",)) as c:
        r = c.options("/v1/images", headers={**h, "Origin": "https://app.example"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = c.options("/v1/images", headers=h)
        assert r.headers.get("access-control-allow-origin") != "https://evil.example"


def test_cors_origin_as_browsers_send_it(tmp_path):
    """An origin given with a trailing slash, upper case or the default port is the one
    browsers send; a bare host name or a path matches no browser's Origin: refused."""
    h = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    with make_client(tmp_path, cors_origins=("HTTPS://App.example:443/",)) as c:
        r = c.options("/v1/images", headers=h)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
    for bad in ("app.example", "https://app.example/page", "ftp://app.example", "https://a:x"):
        with pytest.raises(FauError, match="is not scheme://host"):
            Settings(data_dir=tmp_path, cors_origins=(bad,))
    assert Settings(data_dir=tmp_path, cors_origins=("*", "http://[::1]:3000")).cors_origins == (
        "*", "http://[::1]:3000")
    from fau.cli import main

    assert main(["serve", "--data-dir", str(tmp_path), "--cors", "app.example"]) == 2


def test_page_and_notice(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    for needle in ("Barrett et al., 2019", "Art. 5(1)(f)", "no candidate scoring or ranking",
                   'id="video"', 'id="overlay"', 'id="upload-form"', 'id="jobs"', "/static/app.js"):
        assert needle in html, needle
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    for f in ("app.js", "style.css"):
        assert client.get(f"/static/{f}").status_code == 200
    assert client.get("/static/../settings.py").status_code == 404
    info = client.get("/v1/info").json()
    assert "AI Act" in info["notice"] and info["max_upload_mb"] == 100.0
    assert set(info["aus"]) == set(AU_NAMES)
    assert set(info["au_units"]) == set(AU_NAMES) and info["au_units"]["AU45"] == "neutral eye openings"


def test_api_docs_are_served_offline(client):
    for page, asset in (("/docs", "/static/vendor/swagger-ui-bundle.js"),
                        ("/redoc", "/static/vendor/redoc.standalone.js")):
        r = client.get(page)
        assert r.status_code == 200 and asset in r.text, page
        assert "cdn" not in r.text.lower() and "https://" not in r.text
        assert "script-src 'self'" in r.headers["content-security-policy"]
        js = client.get(asset)
        assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/static/docs.js").status_code == 200


def test_openapi_documents_everything(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for p, m in [("/v1/images", "post"), ("/v1/videos", "post"), ("/v1/jobs", "get"),
                 ("/v1/jobs/{job_id}", "get"), ("/v1/jobs/{job_id}", "delete"),
                 ("/v1/jobs/{job_id}/results", "get"), ("/v1/jobs/{job_id}/report", "get")]:
        assert m in paths[p], (p, m)
    schemas = spec["components"]["schemas"]
    for name in ("ErrorBody", "ImageResult", "Face", "Job", "JobCreated", "StreamResult", "StreamError"):
        assert name in schemas, name
    img = paths["/v1/images"]["post"]["responses"]
    for code in ("200", "401", "413", "415", "422"):
        assert code in img
    assert img["413"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "/v1/stream" in spec["x-websocket"]
    assert set(schemas["Job"]["properties"]["state"]["enum"]) == {"queued", "running", "done", "failed"}
    # downloads are described as what they are, not as FastAPI's default JSON
    ok = paths["/v1/jobs/{job_id}/report"]["get"]["responses"]["200"]["content"]
    assert set(ok) == {"text/html"}
    ok = paths["/v1/jobs/{job_id}/files/{name}"]["get"]["responses"]["200"]["content"]
    assert {"text/html", "text/csv", "application/vnd.apache.parquet", "application/xml",
            "application/octet-stream"} <= set(ok)
    assert "schema" not in ok.get("application/json", {})  # summary.json: no JSON model


# -- jobs: ids and unknown jobs ------------------------------------------------------------
@pytest.mark.parametrize("job_id", ["0" * 32, "zz", "..%2F..%2Fetc%2Fpasswd", "A" * 32, "0" * 33])
def test_unknown_job(client, job_id):
    assert_error(client.get(f"/v1/jobs/{job_id}"), 404, "not_found")
    assert_error(client.get(f"/v1/jobs/{job_id}/results"), 404, "not_found")
    assert_error(client.get(f"/v1/jobs/{job_id}/report"), 404, "not_found")
    assert_error(client.delete(f"/v1/jobs/{job_id}"), 404, "not_found")


def test_path_traversal_never_reaches_disk(client, tmp_path):
    r = client.get("/v1/jobs/..%2F..%2F..%2Fetc%2Fpasswd/results")
    assert r.status_code == 404
    with pytest.raises(FauError):
        client.app.state.services.jobs.job_dir("../x")


def test_list_jobs_query_validation(client):
    assert client.get("/v1/jobs").status_code == 200
    assert_error(client.get("/v1/jobs?state=bogus"), 422, "invalid_request")
    assert_error(client.get("/v1/jobs?limit=0"), 422, "invalid_request")


# -- WebSocket ---------------------------------------------------------------------------
def test_stream_result(client):
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_bytes(HAP_JPG)
        m = ws.receive_json()
        assert m["type"] == "result" and m["seq"] == 1 and m["dropped"] == 0
        assert m["latency_ms"] >= m["analysis_ms"] > 0
        assert len(m["faces"]) == 1 and (m["width"], m["height"]) == (480, 360)
        assert set(m["faces"][0]["gaze"]) == {"yaw", "pitch"}
        ws.send_text("hello")
        e = ws.receive_json()
        assert e["type"] == "error" and e["code"] == "binary_expected"
        ws.send_bytes(b"garbage bytes")
        e = ws.receive_json()
        assert e["type"] == "error" and e["code"] == "invalid_image" and e["seq"] == 2
        ws.send_bytes(HAP_JPG[:5000])  # truncated JPEG
        e = ws.receive_json()
        assert e["type"] == "error" and e["code"] == "invalid_image"


def test_stream_takes_only_jpeg_png_webp(client):
    """Before: GIF and BMP frames were analysed (a "result") while the stream's error and
    docs/api.md name JPEG, PNG and WebP only."""
    import io

    from PIL import Image

    with client.websocket_connect("/v1/stream") as ws:
        for fmt in ("GIF", "BMP"):
            buf = io.BytesIO()
            Image.new("RGB", (64, 64)).save(buf, fmt)
            ws.send_bytes(buf.getvalue())
            e = ws.receive_json()
            assert e["type"] == "error" and e["code"] == "invalid_image", e
            assert e["detail"] == f"frame is not a JPEG/PNG/WebP image (it is {fmt})"
        ws.send_bytes(HAP_JPG)  # the socket stays open
        assert ws.receive_json()["type"] == "result"


def test_stream_drops_stale_frames(client):
    n = 40
    with client.websocket_connect("/v1/stream") as ws:
        for _ in range(n):  # far faster than one analysis (~10-20 ms)
            ws.send_bytes(HAP_JPG)
        replies = []
        while not replies or replies[-1]["seq"] < n:
            replies.append(ws.receive_json())
    seqs = [m["seq"] for m in replies]
    assert seqs == sorted(seqs) and seqs[-1] == n  # the newest frame is always analysed
    assert len(replies) < n  # stale frames were dropped, not queued
    assert sum(m["dropped"] for m in replies) + len(replies) == n
    assert replies[-1]["dropped_total"] == n - len(replies)


def test_stream_frame_too_large(tmp_path):
    with make_client(tmp_path, max_frame_bytes=4096) as c:
        with pytest.raises(WebSocketDisconnect) as exc:
            with c.websocket_connect("/v1/stream") as ws:
                ws.send_bytes(HAP_JPG)  # 18 kB
                ws.receive_json()
        assert exc.value.code == 1009


# -- videos ------------------------------------------------------------------------------
def post_video(c: TestClient, content: bytes, name: str = "clip.flv", segments: bytes | None = None, **kw):
    files = {"file": (name, content, "video/x-flv")}
    if segments is not None:
        files["segments"] = ("seg.csv", segments, "text/csv")
    return c.post("/v1/videos", files=files, **kw)


@needs_video
def test_video_fps_as_query_parameter(client):
    """``POST /v1/videos?fps=5`` samples as the form field does (the query was ignored)."""
    r = post_video(client, HAP_FLV.read_bytes(), params={"fps": "5"})
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["id"])
    assert job["state"] == "done" and job["fps"] == 5.0
    assert job["n_frames"] == 10  # 1.87 s at 5 fps, not the 56 frames of the file
    r = post_video(client, HAP_FLV.read_bytes(), data={"fps": "5"}, params={"fps": "5"})
    assert r.status_code == 202 and wait_job(client, r.json()["id"])["fps"] == 5.0


@needs_video
def test_a_misspelt_or_repeated_form_field_is_refused(client):
    """Before: ``-F segment=@seg.csv`` (for ``segments``) queued a job without segments,
    and of ``-F fps=5 -F fps=6`` the last was used, without a word."""
    files = {"file": ("clip.flv", HAP_FLV.read_bytes(), "video/x-flv"),
             "segment": ("seg.csv", b"start,end\n0,1\n", "text/csv")}
    body = assert_error(client.post("/v1/videos", files=files), 422, "invalid_request")
    assert "'segment'" in body["detail"] and "'segments'" in body["detail"]
    r = client.post("/v1/videos", files={"file": ("clip.flv", HAP_FLV.read_bytes(), "video/x-flv")},
                    data={"fps": ["5", "6"]})
    assert "'fps' given more than once" in assert_error(r, 422, "invalid_request")["detail"]
    image = {"file": ("x.jpg", HAP_JPG, "image/jpeg")}
    body = assert_error(client.post("/v1/images", files=image, data={"explian": "true"}), 422,
                        "invalid_request")
    assert "'explian'" in body["detail"] and "'explain'" in body["detail"]
    assert client.post("/v1/images", files=image, data={"blendshapes": "true"}).status_code == 200


@needs_video
def test_video_job_lifecycle(client):
    seg = b"start,end,label\n0,1,first half\n1,1.9,=2+2 half\n"  # a formula-like label
    r = post_video(client, HAP_FLV.read_bytes(), name="../../etc/passwd", segments=seg, data={"fps": "10"})
    assert r.status_code == 202, r.text
    created = r.json()
    job_id = created["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", job_id) and r.headers["location"] == f"/v1/jobs/{job_id}"
    assert created["state"] == "queued" and abs(created["duration_s"] - 1.87) < 0.05
    job = wait_job(client, job_id)
    assert job["state"] == "done", job
    assert job["progress"] == 1.0 and job["attempts"] == 1 and job["segments"] == 2
    assert job["filename"] == "passwd"  # display only; the folder is the job id
    assert job["n_frames"] >= 15 and job["n_rows"] == job["n_frames"]  # 1.9 s at 10 fps, one face
    assert job["decoding"]["decoded_frames"] == 56 and job["decoding"]["truncated"] is False
    assert job["decoding"]["analysed_frames"] == job["n_frames"]
    folder = client.app.state.services.jobs.job_dir(job_id)
    assert not list(folder.glob("input*"))  # the upload is deleted once the job ends
    res = client.get(f"/v1/jobs/{job_id}/results").json()
    assert res["id"] == job_id and len(res["rows"]) == job["n_rows"]
    assert {"frame", "timestamp", "track_id", "AU12"} <= set(res["columns"])
    csv = client.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == job["n_rows"] + 1
    segs = client.get(f"/v1/jobs/{job_id}/results", params={"table": "segments"}).json()
    labels = [r["label"] for r in segs["rows"]]
    # the labels as uploaded (was: "'=2+2 half", the spreadsheet quote of the stored CSV
    # read back by the analysis)
    assert labels == ["first half", "=2+2 half"]
    seg_csv = client.get(f"/v1/jobs/{job_id}/results", params={"table": "segments", "format": "csv"}).text
    assert "'=2+2 half" in seg_csv and ",=2+2" not in seg_csv  # text in a spreadsheet, never run
    assert client.get(f"/v1/jobs/{job_id}/results", params={"table": "events"}).status_code == 200
    assert_error(client.get(f"/v1/jobs/{job_id}/results", params={"format": "xml"}), 422, "invalid_request")
    listed = client.get("/v1/jobs").json()
    assert job_id in [j["id"] for j in listed["jobs"]]
    # every file the job wrote is a download link; the upload is not among them
    downloads = job["downloads"]
    assert {"results.parquet", "events.parquet", "segments.parquet", "segments.csv"} <= set(downloads)
    assert not any(name.startswith("input") for name in downloads)
    for name, url in downloads.items():
        got = client.get(url)
        assert got.status_code == 200 and got.content == (folder / name).read_bytes(), name
    # the ELAN file links the user's own file name, beside itself, not the server's copy
    eaf = (folder / "elan.eaf").read_text()
    assert 'MEDIA_URL="./passwd"' in eaf and str(folder.parent.parent) not in eaf
    assert_error(client.get(f"/v1/jobs/{job_id}/files/input.flv"), 404, "not_found")
    assert_error(client.get(f"/v1/jobs/{job_id}/files/..%2Ffau.db"), 404, "not_found")
    if job["has_report"]:
        rep = client.get(f"/v1/jobs/{job_id}/report")
        assert rep.status_code == 200 and rep.headers["content-type"].startswith("text/html")
        assert "<html" in rep.text and "default-src 'none'" in rep.headers["content-security-policy"]
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert not folder.exists()
    assert_error(client.get(f"/v1/jobs/{job_id}"), 404, "not_found")
    assert_error(client.get(f"/v1/jobs/{job_id}/results"), 404, "not_found")


@needs_video
def test_video_bad_inputs(tmp_path):
    with make_client(tmp_path, max_video_s=1.0) as c:
        flv = HAP_FLV.read_bytes()
        body = assert_error(post_video(c, flv), 422, "video_too_long")
        assert "1.9 s" in body["detail"]
        assert_error(post_video(c, HAP_JPG, name="a.mp4"), 415, "unsupported_type")
        assert_error(post_video(c, b"not a video at all"), 415, "unsupported_type")
        assert_error(post_video(c, flv[:200]), 422, "invalid_video")
        assert_error(post_video(c, flv[:2000]), 422, "invalid_video")
        assert_error(post_video(c, b""), 422, "invalid_request")
        assert_error(c.post("/v1/videos"), 422, "invalid_request")
        assert not any((tmp_path / "data" / "jobs").iterdir())  # rejected uploads leave nothing
    with make_client(tmp_path) as c:
        for seg in (b"", b"a,b\n1,2\n", b"start,end\n2,1\n", b"start,end\nx,2\n", b"start,end\n-1,2\n",
                    b"start,end\n50,60\n", b"\xff\xfe\x00bad"):
            assert_error(post_video(c, flv, segments=seg), 422, "invalid_segments")
        for fps in ("0", "-1", "abc", "1000"):
            assert_error(post_video(c, flv, data={"fps": fps}), 422, "invalid_request")
            assert_error(post_video(c, flv, params={"fps": fps}), 422, "invalid_request")
        body = assert_error(post_video(c, flv, data={"fps": "5"}, params={"fps": "2"}), 422,
                            "invalid_request")
        assert "give one" in body["detail"]
        assert c.get("/v1/jobs").json()["total"] == 0
        # results of an unfinished job: 409
        r = post_video(c, flv)
        job_id = r.json()["id"]
        early = c.get(f"/v1/jobs/{job_id}/results")
        assert early.status_code in (200, 409)
        if early.status_code == 409:
            assert early.json()["code"] == "not_ready"
        wait_job(c, job_id)
        assert_error(c.get(f"/v1/jobs/{job_id}/results", params={"table": "segments"}), 404, "not_found")


@needs_video
def test_full_job_queue_is_429_with_retry_after(tmp_path, monkeypatch):
    """Before: queued jobs had no limit (each keeps its upload on disk until it runs)."""
    monkeypatch.setattr(JobStore, "claim", lambda self, worker: None)  # nothing runs
    with make_client(tmp_path, max_queued_jobs=2) as c:
        flv = HAP_FLV.read_bytes()
        assert [post_video(c, flv).status_code for _ in range(2)] == [202, 202]
        r = post_video(c, flv)
        body = assert_error(r, 429, "queue_full")
        assert r.headers["Retry-After"] == "60"
        assert "2 video jobs are waiting" in body["detail"]
        assert "FAU_MAX_QUEUED_JOBS=2" in body["detail"]
        # the refused upload left nothing
        assert len(list((tmp_path / "data" / "jobs").iterdir())) == 2
        assert c.get("/v1/jobs").json()["total"] == 2
        first = c.get("/v1/jobs").json()["jobs"][0]["id"]
        assert c.delete(f"/v1/jobs/{first}").status_code == 204
        assert post_video(c, flv).status_code == 202  # room again


@needs_video
def test_upload_without_free_disk_space_is_507(tmp_path):
    """Before: an upload was stored whatever the disk's free space (many large uploads
    could fill it). A margin no disk has (1 EiB) must refuse every upload."""
    with make_client(tmp_path, min_free_mb=2.0 ** 40) as c:
        body = assert_error(post_video(c, HAP_FLV.read_bytes()), 507, "insufficient_storage")
        assert "MiB free" in body["detail"] and "FAU_MIN_FREE_MB" in body["detail"]
        assert str(tmp_path) not in body["detail"]
        assert not any((tmp_path / "data" / "jobs").iterdir())
    with make_client(tmp_path, min_free_mb=0) as c:  # room for the upload itself is enough
        assert post_video(c, HAP_FLV.read_bytes()).status_code == 202


@needs_video
def test_delete_queued_or_running_job(tmp_path):
    with make_client(tmp_path) as c:
        ids = [post_video(c, HAP_FLV.read_bytes()).json()["id"] for _ in range(3)]
        for job_id in ids:
            assert c.delete(f"/v1/jobs/{job_id}").status_code == 204
        jobs_root = tmp_path / "data" / "jobs"
        # a worker that was running one notices within a heartbeat (1 s) and cleans up
        _poll(lambda: not any(jobs_root.iterdir()), 20, lambda: list(jobs_root.iterdir()))
        assert c.get("/v1/jobs").json()["total"] == 0


def _poll(cond, timeout: float, what=lambda: "") -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, f"condition not met in {timeout} s: {what()}"
        time.sleep(0.05)


# -- persistence: restart, crash recovery, retention ------------------------------------------
def _insert_running(store: JobStore, root: Path, attempts: int, heartbeat_age: float) -> str:
    job_id = jobs_mod.new_job_id()
    (root / "jobs" / job_id).mkdir(parents=True)
    (root / "jobs" / job_id / "input.flv").write_bytes(HAP_FLV.read_bytes())
    now = time.time()
    store.create(id=job_id, kind="flv", filename="crash.flv", size_bytes=1, duration_s=1.868,
                 fps=5.0, state="running", attempts=attempts, worker="deadhost:1:x:0",
                 started_at=now - heartbeat_age, heartbeat_at=now - heartbeat_age)
    return job_id


@needs_video
def test_jobs_survive_restart_and_crash(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    settings = dict(data_dir=data, stale_after_s=30.0)
    # 1) a finished job survives a clean restart
    with make_client(tmp_path, **settings) as c:
        done_id = post_video(c, HAP_FLV.read_bytes(), data={"fps": "5"}).json()["id"]
        assert wait_job(c, done_id)["state"] == "done"
    # 2) simulate a crash: jobs left 'running' by a dead process
    store = JobStore(Settings(data_dir=data).database_url)
    retry_id = _insert_running(store, data, attempts=1, heartbeat_age=60)
    fail_id = _insert_running(store, data, attempts=2, heartbeat_age=60)
    fresh_id = _insert_running(store, data, attempts=1, heartbeat_age=0)  # another live server's
    store.close()
    with make_client(tmp_path, **settings) as c:
        assert c.get(f"/v1/jobs/{done_id}").json()["state"] == "done"
        assert len(c.get(f"/v1/jobs/{done_id}/results").json()["rows"]) > 0
        j = wait_job(c, retry_id)
        assert j["state"] == "done" and j["attempts"] == 2  # retried once
        j = c.get(f"/v1/jobs/{fail_id}").json()
        assert j["state"] == "failed" and "interrupted" in j["error"] and "not retried" in j["error"]
        # the job with a fresh heartbeat is left alone until it goes stale (30 s)
        assert c.get(f"/v1/jobs/{fresh_id}").json()["state"] == "running"
        c.app.state.services.jobs.store.recover(stale_after_s=0.0, max_attempts=2)  # as the sweep would
        c.app.state.services.jobs.notify()
        assert wait_job(c, fresh_id)["state"] == "done"


def test_retention_and_orphans(tmp_path):
    with make_client(tmp_path, retention_h=1.0) as c:
        manager = c.app.state.services.jobs
        store = manager.store
        old, new = jobs_mod.new_job_id(), jobs_mod.new_job_id()
        for job_id, age_h in ((old, 2.0), (new, 0.5)):
            manager.job_dir(job_id).mkdir(parents=True)
            (manager.job_dir(job_id) / "results.parquet").write_bytes(b"x")
            t = time.time() - age_h * 3600
            store.create(id=job_id, kind="mp4", filename="a.mp4", size_bytes=1, state="done",
                         created_at=t, finished_at=t)
        orphan = manager.job_dir(jobs_mod.new_job_id())
        orphan.mkdir()
        os.utime(orphan, (time.time() - 2 * 3600,) * 2)
        young_orphan = manager.job_dir(jobs_mod.new_job_id())  # an upload in progress
        young_orphan.mkdir()
        out = manager.sweep()
        assert out["expired"] == 1 and out["orphans"] == 1
        assert_error(c.get(f"/v1/jobs/{old}"), 404, "not_found")
        assert not manager.job_dir(old).exists() and not orphan.exists()
        assert manager.job_dir(new).exists() and young_orphan.exists()
        assert c.get(f"/v1/jobs/{new}").json()["expires_at"] is not None


PG_URL = os.environ.get("FAU_TEST_PG_URL")


def _clear(url: str) -> None:
    from fau.serve.store import jobs as jobs_table

    store = JobStore(url)
    with store.engine.begin() as c:
        c.execute(jobs_table.delete())
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Each store test runs on SQLite and, when ``FAU_TEST_PG_URL`` is set, PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL: set FAU_TEST_PG_URL=postgresql+psycopg://... "
                    "(bash .ci/postgres.sh starts a throw-away server)")
    _clear(PG_URL)
    yield PG_URL
    _clear(PG_URL)


def test_claim_is_exclusive(db_url):
    store = JobStore(db_url)
    ids = [jobs_mod.new_job_id() for _ in range(6)]
    for i, job_id in enumerate(ids):
        store.create(id=job_id, kind="mp4", filename="a", size_bytes=1, created_at=1000.0 + i)
    got: list[str] = []

    def worker(n: int) -> None:
        while (j := store.claim(f"w{n}")) is not None:
            got.append(j["id"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)  # each job claimed exactly once
    assert not store.finish(ids[0], "someone-else", "done")  # only the owner finishes it
    assert store.count("running") == 6
    # every running job has a stale heartbeat when stale_after_s < 0: all are retried once
    assert sorted(j for j, action in store.recover(stale_after_s=-1.0, max_attempts=2)
                  if action == "requeued") == sorted(ids)
    assert store.count("queued") == 6 and all("interrupted" in store.get(j)["error"] for j in ids)
    store.close()


@needs_video
def test_job_lifecycle_on_each_database(db_url, tmp_path):
    with make_client(tmp_path, db_url=db_url) as c:
        r = post_video(c, HAP_FLV.read_bytes(), data={"fps": "5"})
        assert r.status_code == 202, r.text
        job = wait_job(c, r.json()["id"])
        assert job["state"] == "done" and job["n_rows"] > 0
        assert c.get("/v1/jobs").json()["total"] == 1
        assert c.delete(f"/v1/jobs/{job['id']}").status_code == 204
        assert c.get("/v1/jobs").json()["total"] == 0


# -- settings, sniffing, segments, CLI ---------------------------------------------------
def test_settings():
    s = Settings(db_url="postgres://u:p@h/db")
    assert s.db_url == "postgresql+psycopg://u:p@h/db"
    assert Settings(data_dir="x").database_url.startswith("sqlite:///")
    for bad in (dict(max_upload_mb=0), dict(max_video_s=-1), dict(retention_h=-1),
                dict(expression_model="vgg"), dict(analysis_threads=0), dict(max_frame_bytes=10)):
        with pytest.raises(FauError):
            Settings(**bad)
    env = {"FAU_MAX_UPLOAD_MB": "5", "FAU_TOKEN": "t", "FAU_CORS": "https://a, https://b",
           "FAU_MODEL": "none", "DATABASE_URL": "postgres://x/y"}
    s = Settings.from_env(env, max_upload_mb=7.0)
    assert s.max_upload_mb == 7.0 and s.token == "t" and s.cors_origins == ("https://a", "https://b")
    assert s.expression_model is None and s.db_url.startswith("postgresql+psycopg://")
    with pytest.raises(FauError):
        Settings.from_env({"FAU_MAX_VIDEO_S": "long"})
    assert Settings.from_env({"FAU_STREAM_IDLE_S": "30"}).stream_idle_s == 30.0


@pytest.mark.parametrize("bad, message", [
    # was OverflowError ("cannot convert float infinity to integer") from max_upload_bytes
    (dict(max_upload_mb=float("inf")), "max_upload_mb must be a finite number of MiB > 0, got inf"),
    # was accepted: NaN > 0 is False, so no job was ever deleted
    (dict(retention_h=float("nan")), "retention_h must be a finite number of hours"),
    (dict(max_video_s=float("inf")), "max_video_s must be a finite number of seconds > 0"),
    (dict(max_upload_mb="abc"), "max_upload_mb must be a finite number"),  # was float()'s ValueError
    (dict(max_faces=1.5), "max_faces must be a whole number of at least 1, got 1.5"),  # read as 1
    (dict(stale_after_s=2), "stale_after_s must be a finite number of seconds > 2, got 2"),
    (dict(max_frame_bytes=10), "max_frame_bytes must be a whole number of at least 1024"),
    (dict(stream_idle_s=0), "stream_idle_s must be a finite number of seconds > 0, got 0"),
    (dict(max_queued_jobs=0), "max_queued_jobs must be a whole number of at least 1, got 0"),
    (dict(min_free_mb=-1), "min_free_mb must be a finite number of MiB >= 0, got -1"),
    (dict(max_waiting_images=-1), "max_waiting_images must be a whole number of at least 0"),
])
def test_settings_numbers_are_finite_and_whole_where_counted(bad, message):
    with pytest.raises(FauError, match=message):
        Settings(**bad)
    with pytest.raises(FauError, match="max_upload_mb must be a finite number"):
        Settings.from_env({"FAU_MAX_UPLOAD_MB": "inf"})
    assert Settings(retention_h=0, max_upload_mb=np.float64(1.5)).max_upload_bytes == 1572864


def test_database_errors_are_clear(tmp_path):
    with pytest.raises(FauError, match="driver|cannot open") as exc:
        JobStore("postgresql+nosuchdriver://u:secretpw@localhost/db")
    assert "secretpw" not in str(exc.value)


def test_sniff():
    assert sniff(HAP_JPG) == "jpeg"
    assert sniff(HAP_FLV.read_bytes()[:512]) == "flv"
    rgb = np.zeros((20, 20, 3), np.uint8)
    for fmt, kind in (("PNG", "png"), ("GIF", "gif"), ("BMP", "bmp"), ("TIFF", "tiff"), ("WEBP", "webp")):
        assert sniff(png_bytes(rgb, fmt)) == kind
    assert sniff(b"\x00\x00\x00\x18ftypmp42") == "mp4"
    assert sniff(b"\x1a\x45\xdf\xa3\x01") == "webm"
    assert sniff(b"RIFF\x00\x00\x00\x00AVI LIST") == "avi"
    assert sniff(b"<html>") is None and sniff(b"") is None and sniff(b"BM") is None


def test_upload_segments():
    df = jobs_mod.read_upload_segments(b"\xef\xbb\xbfStart,END,label\n0,1.5,intro\n2,3,\n", max_s=10)
    assert df["start"].tolist() == [0.0, 2.0] and df["label"].tolist() == ["intro", ""]
    with pytest.raises(FauError, match="line 3"):
        jobs_mod.read_upload_segments(b"start,end\n0,1\n5,4\n", max_s=None)
    with pytest.raises(FauError, match="no rows"):
        jobs_mod.read_upload_segments(b"start,end\n", max_s=None)
    too_many = b"start,end\n" + b"0,1\n" * (jobs_mod.MAX_SEGMENTS + 1)
    with pytest.raises(FauError):
        jobs_mod.read_upload_segments(too_many, max_s=None)


def test_cli_parses_serve_options(tmp_path, monkeypatch):
    from fau.cli import build_parser
    from fau.cli.serve import settings_from_args

    monkeypatch.setenv("FAU_TOKEN", "from-env")
    args = build_parser().parse_args([
        "serve", "--port", "9001", "--db", "sqlite:///x.db", "--data-dir", str(tmp_path),
        "--max-upload-mb", "3", "--max-video-s", "30", "--retention-h", "2", "--cors", "https://a",
        "--cors", "https://b", "--model", "none", "--max-queued-jobs", "3"])
    s = settings_from_args(args)
    assert s.max_queued_jobs == 3
    assert (args.port, s.db_url, s.data_dir, s.max_upload_mb, s.max_video_s, s.retention_h) == (
        9001, "sqlite:///x.db", tmp_path, 3.0, 30.0, 2.0)
    assert s.cors_origins == ("https://a", "https://b") and s.expression_model is None
    assert s.token == "from-env"


def test_cli_serve_port_in_use_is_one_line_and_status_2(tmp_path, capsys):
    """A busy port is found before the models and job threads start (uvicorn binds after
    the application's startup, and exited with status 3 and its own log line)."""
    from fau.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port), "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err
    assert "choose another --port" in err
    assert main(["serve", "--host", "no-such-host.invalid", "--data-dir", str(tmp_path)]) == 2
    assert "is not an address of this machine" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def test_procfile_command_runs(tmp_path):
    """The Procfile's web command starts a server that answers (as Heroku would run it)."""
    line = next(l for l in (ROOT / "Procfile").read_text().splitlines() if l.startswith("web:"))
    cmd = line.split(":", 1)[1].strip()
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "FAU_DATA_DIR": str(tmp_path), "FAU_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    if not model_available():
        env["FAU_MODEL"] = "none"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.Popen(["bash", "-c", cmd.replace("--host 0.0.0.0", "--host 127.0.0.1")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/v1/info", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    raise AssertionError(f"server did not start: {shlex.quote(cmd)}\n{out}")
                time.sleep(0.3)
        assert r.status_code == 200 and r.json()["version"]
        r = httpx.post(f"http://127.0.0.1:{port}/v1/images", files={"file": ("a.jpg", HAP_JPG)}, timeout=30)
        assert r.status_code == 200 and len(r.json()["faces"]) == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


# -- scores (need the expression model) --------------------------------------------------------
@needs_model
def test_image_scores_and_explanations(tmp_path):
    """Scores are a distribution, `expression` is its argmax, explanations add up, and the
    REST and WebSocket paths give the same numbers for the same bytes. (Which expression
    leads on a single still is the model's business; the browser test checks that happiness
    leads over the CREMA-D happy clip.)"""
    with make_client(tmp_path, expression_model=MODEL) as c:
        r = post_image(c, HAP_JPG)
        assert r.status_code == 200, r.text
        body = r.json()
        f = body["faces"][0]
        assert body["model"] == MODEL
        assert set(f["expressions"]) == set(EXPRESSIONS)
        assert abs(sum(f["expressions"].values()) - 1) < 1e-6
        assert f["expression"] == max(f["expressions"], key=f["expressions"].get)
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_bytes(HAP_JPG)
            m = ws.receive_json()
        # the stream's first frame of a track passes the smoothing filters unchanged and
        # is rounded to 4 decimals (fau.video.LiveAnalyzer)
        assert m["faces"][0]["expressions"] == pytest.approx(f["expressions"], abs=1e-4)
        assert m["faces"][0]["aus"] == pytest.approx(f["aus"], abs=1e-4)
        r = post_image(c, HAP_JPG, params={"explain": "true"})
        assert r.status_code == 200, r.text
        ex = r.json()["faces"][0]["explanation"]
        assert set(ex) <= set(EXPRESSIONS)
        lead = ex[f["expression"]]
        assert abs(lead["bias"] + sum(lead["contributions"].values()) - lead["logit"]) < 1e-3
        assert "AU12" in lead["contributions"]
        assert lead["probability"] == pytest.approx(f["expressions"][f["expression"]], abs=1e-6)
        # the form-field spelling of explain=true
        r = c.post("/v1/images", files={"file": ("a.jpg", HAP_JPG)}, data={"explain": "true"})
        assert "explanation" in r.json()["faces"][0]

@pytest.fixture(scope="module")
def clip_frames_table():
    """`detect_video`'s table of the happy clip at 5 frames/s (what SlowDetector returns)."""
    import fau

    with fau.Detector(expression_model=None) as det:
        return det.detect_video(HAP_FLV, fps=5)


class SlowDetector:
    """Stands in for `fau.Detector` in job-worker tests: a video 'analysis' of 100 steps
    that returns a real table (the happy clip's), so events and outputs are real."""

    expression_model_name = None
    model = None

    def __init__(self, table, step_s: float = 0.05) -> None:
        self.table, self.step_s = table, step_s
        self.calls = 0
        self.steps = 0

    def detect_video(self, path, progress=None, **kw):
        self.calls += 1
        for k in range(100):
            time.sleep(self.step_s)
            self.steps += 1
            if progress is not None:
                progress(k * 0.02)  # timestamps 0 … 1.98 s of a 2 s video
        return self.table.copy()

    def close(self) -> None:
        pass


def _manager(tmp_path: Path, det: SlowDetector):
    settings = Settings(data_dir=tmp_path, expression_model=None)
    store = JobStore(settings.database_url)
    manager = jobs_mod.JobManager(settings, store, lambda: det)
    job_id = jobs_mod.new_job_id()
    manager.job_dir(job_id).mkdir(parents=True)
    manager.input_path({"id": job_id, "kind": "mp4"}).write_bytes(b"x")
    store.create(id=job_id, kind="mp4", filename="a.mp4", size_bytes=1, duration_s=2.0)
    return manager, store, job_id


def _wait_state(store: JobStore, job_id: str, state: str, timeout: float = 20.0) -> dict:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        j = store.get(job_id)
        if j is not None and j["state"] == state:
            return j
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {state}: {store.get(job_id)}")


def test_worker_progress_and_clean_stop_requeues(tmp_path, clip_frames_table):
    det = SlowDetector(clip_frames_table)
    manager, store, job_id = _manager(tmp_path, det)
    manager.start()
    _wait_state(store, job_id, "running")
    time.sleep(jobs_mod.HEARTBEAT_S * 2.5)
    j = store.get(job_id)
    assert 0.0 < j["progress"] < 1.0  # stored with the heartbeat
    manager.stop()  # clean shutdown in the middle of the job
    j = store.get(job_id)
    assert j["state"] == "queued" and j["attempts"] == 0, j  # back in the queue, attempt not counted
    assert manager.input_path(j).is_file()
    manager2 = jobs_mod.JobManager(manager.settings, store, lambda: SlowDetector(clip_frames_table, 0.001))
    manager2.start()
    j = _wait_state(store, job_id, "done")
    manager2.stop()
    assert j["attempts"] == 1 and j["progress"] == 1.0 and j["n_rows"] == len(clip_frames_table)
    assert not manager.input_path(j).exists()  # upload removed once done
    store.close()


def test_worker_notices_deletion(tmp_path, clip_frames_table):
    det = SlowDetector(clip_frames_table)
    manager, store, job_id = _manager(tmp_path, det)
    manager.start()
    _wait_state(store, job_id, "running")
    store.delete(job_id)
    manager.remove_files(job_id)
    _poll(lambda: not any(t.name.startswith("fau-beat") for t in threading.enumerate()), 20)
    assert det.steps < 100  # the analysis was stopped, not run to its end
    assert not manager.job_dir(job_id).exists()
    manager.stop()
    assert store.get(job_id) is None and det.calls == 1
    store.close()


def test_internal_error_body(tmp_path, monkeypatch):
    import fau.serve.routes.images as images_mod

    def boom(*a, **k):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(images_mod, "analyse_image", boom)
    with TestClient(create_app(Settings(data_dir=tmp_path, expression_model=None, analysis_threads=1)),
                    raise_server_exceptions=False) as c:
        body = assert_error(post_image(c, HAP_JPG), 500, "internal_error")
        assert "simulated bug" not in body["detail"]  # details stay in the server log


def _long_video(path: Path, loops: int) -> float:
    """An H.264 MP4 of the happy clip played ``loops`` times; returns its duration (s)."""
    import av

    with av.open(str(HAP_FLV)) as src:
        frames = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for _ in range(loops):
            for rgb in frames:
                for pkt in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return loops * len(frames) / 30


def _serve(tmp_path: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "FAU_DATA_DIR": str(tmp_path / "data"), "FAU_MODEL": "none",
           "FAU_THREADS": "1", "FAU_STALE_AFTER_S": "3", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "fau", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _get(url: str, timeout: float = 60):
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"no answer from {url}"
            time.sleep(0.2)


@needs_video
def test_killed_server_retries_running_job(tmp_path):
    """kill -9 during a job: the next server retries it once (attempts 2) and finishes it."""
    import httpx

    video = tmp_path / "long.mp4"
    _long_video(video, loops=15)  # ~28 s of video, every frame analysed: several seconds of work
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path, port)
    try:
        _get(base + "/v1/info")
        r = httpx.post(base + "/v1/videos", files={"file": ("long.mp4", video.read_bytes())}, timeout=60)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        deadline = time.monotonic() + 60
        while True:
            j = httpx.get(f"{base}/v1/jobs/{job_id}", timeout=10).json()
            if j["state"] == "running" and j["progress"] > 0:
                break
            assert j["state"] in ("queued", "running") and time.monotonic() < deadline, j
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # a crash: no shutdown code runs
        proc.wait(30)
    proc = _serve(tmp_path, port)
    try:
        j = _get(f"{base}/v1/jobs/{job_id}").json()
        assert j["state"] in ("running", "queued", "done"), j  # never lost
        deadline = time.monotonic() + 240
        while j["state"] != "done":
            assert j["state"] != "failed" and time.monotonic() < deadline, j
            time.sleep(0.5)
            j = httpx.get(f"{base}/v1/jobs/{job_id}", timeout=10).json()
        assert j["attempts"] == 2 and j["n_frames"] > 400, j
        assert "interrupted" in (j["error"] or ""), j  # the reason for the retry is kept
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
