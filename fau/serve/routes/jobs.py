"""Video jobs: state, list, results tables, report, output files, deletion."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import pandas as pd
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ...files import table_csv, table_json
from ..auth import require_token
from ..errors import ApiError, documented_errors
from ..jobs import JOB_ID
from ..schemas import Job, JobList
from ..state import Services, services

__all__ = ["router", "job_json", "table_body", "decoding_facts", "MEDIA_TYPES", "download"]

router = APIRouter(tags=["videos"], dependencies=[Depends(require_token)])

#: Content type of each output file a job writes, by suffix (others: octet-stream).
MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8", ".parquet": "application/vnd.apache.parquet",
    ".html": "text/html; charset=utf-8", ".json": "application/json",
    ".eaf": "application/xml", ".xml": "application/xml", ".txt": "text/plain; charset=utf-8",
}
#: The media types of `MEDIA_TYPES` without parameters, and the fallback: what the schema
#: says ``GET /v1/jobs/{id}/files/{name}`` answers.
_FILE_TYPES = tuple(sorted({t.split(";")[0] for t in MEDIA_TYPES.values()}
                           | {"application/octet-stream"}))
#: Names of output files that may be asked for (job files are named by the server).
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
#: Largest ``offset`` of ``GET /v1/jobs``: the largest SQL BIGINT (2**63 - 1; SQLite
#: INTEGER and PostgreSQL OFFSET are 64-bit signed), past which the database driver
#: raises instead of answering an empty page.
MAX_OFFSET = 2**63 - 1
#: Bytes read per step of a download (`download`).
DOWNLOAD_CHUNK = 64 * 1024


def download(path: Path, media_type: str, gone: str, filename: str | None = None) -> Response:
    """A file as a streamed response, opened here, before the response starts.

    A file deleted (``DELETE``, retention) after this point still downloads in full (an
    open file keeps its data until closed); one already gone is a 404 saying ``gone``.
    (Starlette's FileResponse opens the path only while it sends, after the status line:
    a file deleted in between was a 500.) ``filename``: sent as an attachment.
    """
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise ApiError(404, "not_found", gone) from None
    size = os.fstat(f.fileno()).st_size

    def chunks():
        with f:
            while block := f.read(DOWNLOAD_CHUNK):
                yield block

    headers = {"content-length": str(size)}
    if filename is not None:  # a server-made name (_FILE_NAME): no quoting needed
        headers["content-disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def get_job(svc: Services, job_id: str) -> dict[str, Any]:
    """The job row, or 404 (also for ids that are not 32 hex digits: no lookup)."""
    if not JOB_ID.match(job_id):
        raise ApiError(404, "not_found", f"no job {job_id[:64]!r} (ids are 32 hex digits)")
    job = svc.store.get(job_id)
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id!r} (unknown, deleted or expired)")
    return job


def job_json(svc: Services, job: dict[str, Any]) -> dict[str, Any]:
    """The `Job` JSON of a job row, with a download link per output file it wrote."""
    s = svc.settings
    expires = None
    if job["finished_at"] is not None and s.retention_h > 0:
        expires = _iso(job["finished_at"] + s.retention_h * 3600.0)
    done = job["state"] == "done"
    base = f"/v1/jobs/{job['id']}"
    files = svc.jobs.output_files(job["id"]) if done else []
    return Job(
        id=job["id"], state=job["state"], progress=round(float(job["progress"] or 0.0), 4),
        filename=job["filename"], size_bytes=job["size_bytes"], duration_s=job["duration_s"],
        fps=job["fps"], segments=job["segments"], created_at=_iso(job["created_at"]) or "",
        started_at=_iso(job["started_at"]), finished_at=_iso(job["finished_at"]),
        attempts=job["attempts"], error=job["error"], n_frames=job["n_frames"],
        n_rows=job["n_rows"], has_report=done and svc.jobs.report_path(job["id"]).is_file(),
        expires_at=expires, downloads={p.name: f"{base}/files/{p.name}" for p in files},
        decoding=decoding_facts(svc.jobs.job_dir(job["id"]) / "summary.json") if done else None,
    ).model_dump()


#: Keys of a job's summary.json that are not decoding facts (they are its results).
_RESULT_KEYS = ("tracks", "segments", "events", "video", "filename", "faces")


def decoding_facts(summary: Path) -> dict[str, Any] | None:
    """The decoding facts of a job's JSON summary (`fau.job.summary_of`), or None."""
    try:
        data = json.loads(summary.read_text())
    except (OSError, ValueError):
        return None
    return {k: v for k, v in data.items() if k not in _RESULT_KEYS} if isinstance(data, dict) else None


@router.get("/v1/jobs", response_model=JobList, responses=documented_errors(401, 422),
            summary="List jobs, newest first")
def list_jobs(  # plain def: FastAPI runs it in its thread pool (database calls)
    state: Optional[str] = Query(None, pattern="^(queued|running|done|failed)$"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Jobs, newest first, and how many there are in all."""
    rows = svc.store.list(limit=limit, offset=offset, state=state)
    return {"jobs": [job_json(svc, j) for j in rows], "total": svc.store.count(state)}


@router.get("/v1/jobs/{job_id}", response_model=Job, responses=documented_errors(401, 404),
            summary="Job state (queued|running|done|failed) and progress")
def get_job_state(job_id: str, svc: Services = Depends(services)) -> dict[str, Any]:
    """One job's state, progress, counts and download links."""
    return job_json(svc, get_job(svc, job_id))


def table_body(path: Path, fmt: str, job_id: str, table: str) -> tuple[str, str, dict[str, str]]:
    """A stored result table as a response body: ``(text, media type, headers)``.

    Blocking (reads Parquet, writes CSV/JSON): the route runs it on a worker thread so
    that the event loop keeps answering other requests meanwhile.
    """
    df = pd.read_parquet(path)
    if fmt == "csv":
        name = f"fau-{job_id}" + ("" if table == "frames" else f"-{table}") + ".csv"
        # Parquet gives string columns back as Arrow strings, which neutralise_formulas
        # cannot fill when a column is all NA (expression without a model); as objects
        # the CSV is the same (NA: an empty cell)
        df = df.astype({c: object for c in df.columns if isinstance(df[c].dtype, pd.StringDtype)})
        return (table_csv(df), "text/csv; charset=utf-8",
                {"Content-Disposition": f'attachment; filename="{name}"'})
    text = table_json(df)
    body = '{"id":%s,"table":%s,"columns":%s,"rows":%s}' % (
        json.dumps(job_id), json.dumps(table), json.dumps(list(map(str, df.columns))), text)
    return body, "application/json", {}


def _done(job: dict[str, Any], what: str) -> None:
    if job["state"] != "done":
        why = f": {job['error']}" if job["state"] == "failed" and job["error"] else ""
        raise ApiError(409, "not_ready", f"job {job['id']} is {job['state']}{why}; {what} can be fetched once it is done")


@router.get(
    "/v1/jobs/{job_id}/results",
    responses={200: {"description": "format=json: {id, table, columns, rows: [{column: value}]} "
                     "(NaN → null); format=csv: text/csv",
                     "content": {"text/csv": {}}},
               **documented_errors(401, 404, 409, 422)},
    summary="Results of a finished job as JSON or CSV",
)
async def get_results(
    job_id: str,
    format: str = Query("json", pattern="^(json|csv)$", description="json or csv"),
    table: str = Query("frames", pattern="^(frames|events|segments)$",
                       description="frames: one row per face per analysed frame; events: "
                       "AU and expression episodes (fau.video.find_events); segments: "
                       "per-segment summary (jobs submitted with segments)"),
    svc: Services = Depends(services),
) -> Response:
    """A result table of a done job (409 before)."""
    job = await run_in_threadpool(get_job, svc, job_id)
    _done(job, "results")
    path = svc.jobs.table_path(job_id, table)
    gone = f"the {table} table of job {job_id} is gone (deleted or expired)"
    if not path.is_file():
        if table == "segments" and not job["segments"]:
            raise ApiError(404, "not_found", f"job {job_id} was submitted without segments")
        raise ApiError(404, "not_found", gone)
    try:
        body, media_type, headers = await run_in_threadpool(table_body, path, format, job_id, table)
    except FileNotFoundError:  # deleted (DELETE, retention) since it was found above
        raise ApiError(404, "not_found", gone) from None
    return Response(body, media_type=media_type, headers=headers)


@router.get(
    "/v1/jobs/{job_id}/report", response_class=HTMLResponse,  # the schema's 200: HTML only
    responses={200: {"description": "self-contained HTML report"},
               **documented_errors(401, 404, 409)},
    summary="The HTML report of a finished job",
)
def get_report(job_id: str, svc: Services = Depends(services)) -> Response:
    """The job's self-contained HTML report."""
    job = get_job(svc, job_id)
    _done(job, "the report")
    path = svc.jobs.report_path(job_id)
    if not path.is_file():
        raise ApiError(404, "report_unavailable",
                       f"job {job_id} has no HTML report (fau.report is not installed on this server)")
    return download(path, "text/html; charset=utf-8",
                    f"the report of job {job_id} is gone (deleted or expired)")


@router.get(
    "/v1/jobs/{job_id}/files/{name}", response_class=Response,  # no JSON by default
    responses={200: {"description": "an output file the job wrote (the job's 'downloads'), "
                     "typed by its suffix",
                     "content": {t: {} for t in _FILE_TYPES}},
               **documented_errors(401, 404, 409)},
    summary="Download one output file of a finished job (names from the job's 'downloads')",
)
def get_file(job_id: str, name: str, svc: Services = Depends(services)) -> Response:
    """One output file of a done job, as an attachment (HTML is shown, under a strict CSP)."""
    job = get_job(svc, job_id)
    _done(job, "its files")
    files = {p.name: p for p in svc.jobs.output_files(job_id)} if _FILE_NAME.match(name) else {}
    if name not in files:
        raise ApiError(404, "not_found", f"job {job_id} has no output file {name[:128]!r}")
    path = files[name]
    media_type = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    gone = f"output file {name!r} of job {job_id} is gone (deleted or expired)"
    if path.suffix.lower() == ".html":
        return download(path, media_type, gone)
    return download(path, media_type, gone, filename=f"fau-{job_id[:8]}-{name}")


@router.delete("/v1/jobs/{job_id}", status_code=204, responses=documented_errors(401, 404),
               summary="Delete a job and all its files (a running job is stopped)")
def delete_job(job_id: str, svc: Services = Depends(services)) -> Response:
    """Delete the job row and its folder; a worker running it stops at its next heartbeat."""
    get_job(svc, job_id)
    svc.store.delete(job_id)
    svc.jobs.remove_files(job_id)
    return Response(status_code=204)
