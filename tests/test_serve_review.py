"""Review tests of `fau serve`: query parameters past the database's range, result tables
deleted while they are read, and file fields sent as plain form values."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="fau[serve] extra (fastapi) not installed")
pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx (fau[serve] extra)")
pytest.importorskip("multipart", reason="fau[serve] extra (python-multipart) not installed")

from fastapi.testclient import TestClient  # noqa: E402

from fau.serve import Settings, create_app  # noqa: E402
from fau.serve.jobs import new_job_id  # noqa: E402
from fau.serve.routes import jobs as job_routes  # noqa: E402

DATA = Path(__file__).parent / "data"
HAP_JPG = (DATA / "cremad_hap.jpg").read_bytes()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    s = Settings(expression_model=None, analysis_threads=1, job_workers=1,
                 data_dir=tmp_path_factory.mktemp("review") / "data")
    with TestClient(create_app(s), raise_server_exceptions=False) as c:
        yield c


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert "Traceback" not in body["detail"] and "/" not in body["detail"].split(":")[0]
    return body


def done_job(client: TestClient) -> str:
    """A finished job made directly in the store (no analysis needed), with a frames table."""
    svc = client.app.state.services
    job_id = new_job_id()
    folder = svc.jobs.job_dir(job_id)
    folder.mkdir(parents=True)
    frames = pd.DataFrame({"frame": [0, 1], "AU12": [0.1, float("nan")]})
    frames.to_parquet(folder / "results.parquet")
    now = time.time()
    svc.store.create(id=job_id, kind="mp4", filename="a.mp4", size_bytes=1, state="done",
                     progress=1.0, attempts=1, started_at=now, finished_at=now)
    return job_id


def test_list_jobs_offset_past_bigint_is_422_not_500(client):
    assert client.get("/v1/jobs", params={"offset": 2**63 - 1}).json()["jobs"] == []
    for offset in (2**63, 10**20):
        r = client.get("/v1/jobs", params={"offset": offset})
        body = assert_error(r, 422, "invalid_request")
        assert body["detail"].startswith("offset:")


def test_results_of_a_job_deleted_while_they_are_read_are_404_not_500(client, monkeypatch):
    job_id = done_job(client)
    assert client.get(f"/v1/jobs/{job_id}/results").json()["rows"][1]["AU12"] is None
    real = pd.read_parquet

    def deleted_meanwhile(path, *a, **k):  # DELETE or the retention sweep wins the race
        client.app.state.services.jobs.remove_files(job_id)
        return real(path, *a, **k)

    monkeypatch.setattr(job_routes.pd, "read_parquet", deleted_meanwhile)
    body = assert_error(client.get(f"/v1/jobs/{job_id}/results", params={"format": "csv"}),
                        404, "not_found")
    assert "gone" in body["detail"]


@pytest.mark.parametrize("route", ["/v1/images", "/v1/videos"])
def test_a_file_field_sent_as_a_plain_value_gets_a_clear_message(client, route):
    # curl -F file=photo.jpg (no @): the part has no file name, so it is a form value
    r = client.post(route, data={"file": "photo.jpg"})
    body = assert_error(r, 422, "invalid_request")
    assert body["detail"].startswith("file: expected a file"), body
    assert "class" not in body["detail"] and "UploadFile" not in body["detail"]
