"""Uploads and downloads at their edges: a job file deleted while it is sent still arrives
whole, one already gone is a clear 404, never a 500 (`fau.serve.routes.jobs.download`); an
upload cut off before its end says so (`fau.serve.errors`)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from fau.serve.errors import ApiError, error_response  # noqa: E402
from fau.serve.routes.jobs import DOWNLOAD_CHUNK, download  # noqa: E402


def _app(path, *, delete_after_open: bool, filename=None) -> TestClient:
    app = FastAPI()

    @app.exception_handler(ApiError)
    async def _api_error(request, exc):  # as the service answers them
        return error_response(exc.status, exc.code, exc.detail, exc.headers)

    @app.get("/f")
    def get():
        resp = download(path, "application/octet-stream", "the file is gone", filename=filename)
        if delete_after_open:  # DELETE or retention, between the handler and the sending
            path.unlink()
        return resp

    return TestClient(app)


def test_a_file_deleted_after_it_was_opened_downloads_whole(tmp_path):
    path = tmp_path / "rows.parquet"
    data = bytes(range(256)) * (3 * DOWNLOAD_CHUNK // 256 + 7)  # several chunks, one partial
    path.write_bytes(data)
    r = _app(path, delete_after_open=True, filename="fau-abc-rows.parquet").get("/f")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["content-disposition"] == 'attachment; filename="fau-abc-rows.parquet"'
    assert not path.exists()


def test_a_file_gone_before_it_is_opened_is_a_404(tmp_path):
    r = _app(tmp_path / "missing.html", delete_after_open=False).get("/f")
    assert r.status_code == 404 and r.json() == {"code": "not_found",
                                                 "detail": "the file is gone"}


def test_an_empty_file_downloads_as_empty(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    r = _app(path, delete_after_open=False).get("/f")
    assert r.status_code == 200 and r.content == b"" and "content-disposition" not in r.headers


def test_a_cut_off_upload_says_so(tmp_path):
    from pathlib import Path

    from fau.serve import Settings, create_app

    data = (Path(__file__).parent / "data" / "cremad_hap.jpg").read_bytes()
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n--b--\r\n")
    headers = {"content-type": "multipart/form-data; boundary=b"}
    settings = Settings(data_dir=tmp_path / "data", expression_model=None, analysis_threads=1)
    with TestClient(create_app(settings)) as c:
        for cut in (len(body) - 8, len(body) // 2, 40):
            r = c.post("/v1/images", content=body[:cut], headers=headers)
            assert r.status_code == 422 and r.json()["code"] == "invalid_request"
            assert r.json()["detail"] == ("file: field required; the multipart body held no "
                                          "complete part (was the upload cut off before its end?)")
        r = c.post("/v1/images", files={"photo": ("a.jpg", data)})
        assert r.json()["detail"] == ("file: field required; the multipart body's parts are "
                                      "named photo")
        assert c.post("/v1/images").json()["detail"] == "file: field required"
        assert c.post("/v1/images", content=body, headers=headers).status_code == 200
