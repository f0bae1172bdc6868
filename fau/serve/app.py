"""The FastAPI application: REST API, WebSocket stream and the live page (`create_app`)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import shutil
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import pandas as pd
from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect, WebSocketState

from .. import __version__
from ..au.geometry import AU_DEFINITIONS
from ..detector import Detector
from ..errors import FauError
from . import jobs as jobs_mod
from .analysis import DetectorPool, analyse_image
from .schemas import (
    NOTICE, ErrorBody, ImageResult, Info, Job, JobCreated, JobList, StreamError,
    StreamResult,
)
from .settings import Settings
from .sniff import IMAGE_KINDS, SNIFF_BYTES, VIDEO_KINDS, sniff
from .store import JobStore

__all__ = ["create_app", "ApiError"]

log = logging.getLogger(__name__)

#: Content-Security-Policy of the live page: only this server's own scripts, images and
#: WebSocket; camera frames stay in the page as blobs. Inline styles are allowed because a
#: report the page opens as a blob: URL (to send the bearer token) inherits this policy
#: and carries its CSS inline.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
#: Content-Security-Policy of an HTML report: self-contained (inline CSS and SVG written by
#: `fau.report`, no scripts), may load nothing from anywhere.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
#: Copy buffer (bytes) when saving an upload to disk.
_COPY_BUF = 1024 * 1024


class ApiError(Exception):
    """An error answered as `ErrorBody` JSON with ``status``."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None,
           errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


# Error responses for the OpenAPI schema, per route.
def _errs(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        401: "missing or wrong bearer token (code unauthorized)",
        404: "unknown job (code not_found) or no report (report_unavailable)",
        409: "results not ready: the job is queued, running or failed (code not_ready)",
        413: "request body over --max-upload-mb (code too_large)",
        415: "the bytes are not a supported image/video format (code unsupported_type)",
        422: "missing/invalid field (invalid_request), undecodable or out-of-range image "
             "(invalid_image), unreadable video (invalid_video), video over --max-video-s "
             "(video_too_long), bad segments CSV (invalid_segments)",
        501: "this installation cannot analyse videos (code video_unavailable)",
    }
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}


class BodyLimit:
    """ASGI middleware: refuse HTTP bodies over ``limit`` bytes with 413.

    Checks ``Content-Length`` before reading anything, and counts streamed (chunked)
    bodies as they arrive, so an oversized upload is never stored whole.
    """

    def __init__(self, app: ASGIApp, limit: int, limit_mb: float) -> None:
        self.app, self.limit, self.limit_mb = app, limit, limit_mb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"the request body is larger than the {self.limit_mb:g} MiB limit (--max-upload-mb)"
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too_big = int(v) > self.limit
                except ValueError:
                    too_big = False
                if too_big:
                    await _error(413, "too_large", detail, {"Connection": "close"})(scope, receive, send)
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise StarletteHTTPException(413, detail)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except StarletteHTTPException as exc:  # raised outside FastAPI's handlers
            if exc.status_code != 413 or started:
                raise
            await _error(413, "too_large", detail, {"Connection": "close"})(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware adding ``nosniff``, ``no-referrer`` and a CSP to HTTP answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def add(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if b"content-security-policy" not in names:
                    csp = REPORT_CSP if path.endswith("/report") else PAGE_CSP
                    headers.append((b"content-security-policy", csp.encode()))
                msg["headers"] = headers
            await send(msg)

        await self.app(scope, receive, add)


def _static_dir() -> Path:
    return Path(str(resources.files("fau.serve") / "static"))


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application.

    Parameters
    ----------
    settings : Settings or None
        Configuration; None reads ``FAU_*`` environment variables (`Settings.from_env`),
        which is what ``uvicorn 'fau.serve:create_app' --factory`` uses.

    Returns
    -------
    fastapi.FastAPI
        Detectors, job database and workers start with the application's lifespan
        (``with TestClient(app)``, or any ASGI server) and stop with it.

    Raises
    ------
    FauError
        Unusable settings; a missing expression model or database driver is reported
        when the application starts.
    """
    s = settings if settings is not None else Settings.from_env()
    static = _static_dir()
    bearer = HTTPBearer(auto_error=False, description="Needed only when the server runs with --token.")

    def make_detector() -> Detector:
        return Detector(expression_model=s.expression_model, max_faces=s.max_faces, num_threads=1)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        s.data_dir.mkdir(parents=True, exist_ok=True)
        store = JobStore(s.database_url)
        pool: DetectorPool | None = None
        manager: jobs_mod.JobManager | None = None
        try:
            pool = await asyncio.get_running_loop().run_in_executor(
                None, lambda: DetectorPool(s.analysis_threads, make_detector))
            manager = jobs_mod.JobManager(s, store, make_detector)
            manager.start()
            app.state.store, app.state.pool, app.state.jobs = store, pool, manager
            log.info("fau serve: %d detector threads, %d job workers, data in %s",
                     s.analysis_threads, s.job_workers, s.data_dir)
            yield
        finally:
            if manager is not None:
                await asyncio.get_running_loop().run_in_executor(None, manager.stop)
            if pool is not None:
                pool.close()
            store.close()

    app = FastAPI(
        title="fau",
        version=__version__,
        summary="Facial action units and expression scores from images, videos and a live camera.",
        description=NOTICE + "\n\nAll error responses share the `ErrorBody` shape. "
        "See docs/api.md for the WebSocket protocol of `/v1/stream`.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = s

    # -- errors ------------------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
                413: "too_large"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 413:
            headers["Connection"] = "close"
        return _error(exc.status_code, code, str(exc.detail), headers or None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                for e in exc.errors()]
        parts = []
        for e in errs:
            where = ".".join(str(x) for x in e["loc"][1:]) or "request"
            parts.append(f"{where}: {'field required' if e['type'] == 'missing' else e['msg']}")
        return _error(422, "invalid_request", "; ".join(parts) or "invalid request", errors=errs)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", f"internal error ({exc.__class__.__name__}); see the server log")

    # -- auth --------------------------------------------------------------------------
    def _token_ok(given: str | None) -> bool:
        if not s.token:
            return True
        return given is not None and hmac.compare_digest(given.encode(), s.token.encode())

    async def auth(cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
        if s.token and not (cred and cred.scheme.lower() == "bearer" and _token_ok(cred.credentials)):
            raise ApiError(401, "unauthorized",
                           "this server needs 'Authorization: Bearer <token>' (missing or wrong token)",
                           {"WWW-Authenticate": "Bearer"})

    def _job(request: Request, job_id: str) -> dict[str, Any]:
        if not jobs_mod.JOB_ID.match(job_id):
            raise ApiError(404, "not_found", f"no job {job_id[:64]!r} (ids are 32 hex digits)")
        job = request.app.state.store.get(job_id)
        if job is None:
            raise ApiError(404, "not_found", f"no job {job_id!r} (unknown, deleted or expired)")
        return job

    def _job_json(request: Request, job: dict[str, Any]) -> dict[str, Any]:
        manager: jobs_mod.JobManager = request.app.state.jobs
        expires = None
        if job["finished_at"] is not None and s.retention_h > 0:
            expires = _iso(job["finished_at"] + s.retention_h * 3600.0)
        return Job(
            id=job["id"], state=job["state"], progress=round(float(job["progress"] or 0.0), 4),
            filename=job["filename"], size_bytes=job["size_bytes"], duration_s=job["duration_s"],
            fps=job["fps"], segments=job["segments"], created_at=_iso(job["created_at"]) or "",
            started_at=_iso(job["started_at"]), finished_at=_iso(job["finished_at"]),
            attempts=job["attempts"], error=job["error"], n_frames=job["n_frames"],
            n_rows=job["n_rows"],
            has_report=job["state"] == "done" and manager.report_path(job["id"]).is_file(),
            expires_at=expires,
        ).model_dump()

    async def _read_upload(upload: UploadFile) -> bytes:
        data = await upload.read()
        if not data:
            raise ApiError(422, "invalid_request", "file: the uploaded file is empty (0 bytes)")
        return data

    # -- page --------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(static / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=static), name="static")

    # -- API ---------------------------------------------------------------------------
    @app.get("/v1/info", response_model=Info, tags=["service"],
             summary="Version, model, limits and the responsible-use notice (no token needed)")
    async def info() -> dict[str, Any]:
        return Info(
            version=__version__, model=s.expression_model, auth_required=bool(s.token),
            video_available=jobs_mod.video_available(),
            report_available=jobs_mod.report_available(), max_upload_mb=s.max_upload_mb,
            max_video_s=s.max_video_s, max_frame_bytes=s.max_frame_bytes,
            retention_h=s.retention_h, notice=NOTICE,
            aus={k: v.split(":", 1)[0] for k, v in AU_DEFINITIONS.items()},
        ).model_dump()

    @app.post(
        "/v1/images", response_model=ImageResult, tags=["images"],
        dependencies=[Depends(auth)], responses=_errs(401, 413, 415, 422),
        summary="Analyse one image (multipart field 'file'): faces, AUs, expression scores",
    )
    async def post_image(
        request: Request,
        file: UploadFile = File(..., description="JPEG, PNG, GIF, BMP, TIFF or WebP; "
                                "the type is read from the bytes, not the name"),
        explain: bool = Query(False, description="add per-face explanations (TreeSHAP contributions)"),
        blendshapes: bool = Query(False, description="add MediaPipe's 52 blendshape scores per face"),
        explain_form: Optional[bool] = Form(None, alias="explain", description="same as the query parameter"),
    ) -> Response:
        data = await _read_upload(file)
        kind = sniff(data[:SNIFF_BYTES])
        if kind not in IMAGE_KINDS:
            hint = " (this is a video: POST it to /v1/videos)" if kind in VIDEO_KINDS else ""
            raise ApiError(415, "unsupported_type",
                           f"file is not a supported image (JPEG, PNG, GIF, BMP, TIFF, WebP){hint}")
        want_explain = bool(explain or explain_form)
        pool: DetectorPool = request.app.state.pool
        if want_explain and not pool.has_model:
            raise ApiError(422, "invalid_request",
                           "explain=true needs an expression model; this server runs without one")
        try:
            result = await pool.run(lambda det: analyse_image(
                det, data, explain=want_explain, blendshapes=blendshapes))
        except FauError as exc:
            raise ApiError(422, "invalid_image", str(exc)) from None
        result["model"] = pool.model_name
        return JSONResponse(result)

    @app.post(
        "/v1/videos", response_model=JobCreated, status_code=202, tags=["videos"],
        dependencies=[Depends(auth)], responses=_errs(401, 413, 415, 422, 501),
        summary="Queue a video for analysis (multipart 'file', optional 'segments' CSV and 'fps')",
    )
    async def post_video(
        request: Request,
        file: UploadFile = File(..., description="MP4/MOV, WebM/MKV, FLV, AVI or MPEG-TS; "
                                "the type is read from the bytes"),
        segments: Optional[UploadFile] = File(
            None, description="CSV with columns start,end (seconds) and optional label; "
            "each segment is analysed and its rows carry a 'segment' column"),
        fps: Optional[float] = Form(None, gt=0, le=240,
                                    description="frames per second to analyse (default: every frame)"),
    ) -> JSONResponse:
        if not jobs_mod.video_available():
            raise ApiError(501, "video_unavailable",
                           "this fau installation cannot analyse videos (fau.video is missing)")
        manager: jobs_mod.JobManager = request.app.state.jobs
        head = await file.read(SNIFF_BYTES)
        if not head:
            raise ApiError(422, "invalid_request", "file: the uploaded file is empty (0 bytes)")
        kind = sniff(head)
        if kind not in VIDEO_KINDS:
            hint = " (this is an image: POST it to /v1/images)" if kind in IMAGE_KINDS else ""
            raise ApiError(415, "unsupported_type",
                           f"file is not a supported video (MP4/MOV, WebM/MKV, FLV, AVI, MPEG-TS){hint}")
        seg_df: pd.DataFrame | None = None
        seg_bytes = await segments.read() if segments is not None else b""
        if segments is not None and not seg_bytes:
            raise ApiError(422, "invalid_segments", "segments: the uploaded CSV is empty")
        job_id = jobs_mod.new_job_id()
        folder = manager.job_dir(job_id)
        job = {"id": job_id, "kind": kind}
        dest = manager.input_path(job)
        loop = asyncio.get_running_loop()

        def save() -> int:
            folder.mkdir(parents=True)
            with open(dest, "wb") as out:
                out.write(head)
                shutil.copyfileobj(file.file, out, _COPY_BUF)
                return out.tell()

        try:
            size = await loop.run_in_executor(None, save)
            try:
                meta = await loop.run_in_executor(None, jobs_mod.probe_video, dest)
            except FauError as exc:
                raise ApiError(422, "invalid_video", str(exc)) from None
            if meta["duration_s"] > s.max_video_s:
                raise ApiError(422, "video_too_long",
                               f"the video lasts {meta['duration_s']:.1f} s; this server accepts at most "
                               f"{s.max_video_s:g} s (--max-video-s)")
            if segments is not None:
                try:
                    seg_df = jobs_mod.parse_segments(seg_bytes, max_s=meta["duration_s"])
                except FauError as exc:
                    raise ApiError(422, "invalid_segments", str(exc)) from None
                seg_df.to_csv(folder / "segments.csv", index=False)
            row = dict(id=job_id, kind=kind, filename=_display_name(file.filename), size_bytes=size,
                       duration_s=meta["duration_s"], fps=fps,
                       segments=None if seg_df is None else len(seg_df))
            await loop.run_in_executor(None, lambda: request.app.state.store.create(**row))
        except BaseException:
            manager.remove_files(job_id)
            raise
        manager.notify()
        base = f"/v1/jobs/{job_id}"
        body = JobCreated(id=job_id, state="queued", duration_s=meta["duration_s"],
                          links={"status": base, "results": f"{base}/results", "report": f"{base}/report"})
        return JSONResponse(body.model_dump(), status_code=202, headers={"Location": base})

    @app.get("/v1/jobs", response_model=JobList, tags=["videos"], dependencies=[Depends(auth)],
             responses=_errs(401, 422), summary="List jobs, newest first")
    def list_jobs(  # plain def: FastAPI runs it in its thread pool (database calls)
        request: Request,
        state: Optional[str] = Query(None, pattern="^(queued|running|done|failed)$"),
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        store: JobStore = request.app.state.store
        rows = store.list(limit=limit, offset=offset, state=state)
        return {"jobs": [_job_json(request, j) for j in rows], "total": store.count(state)}

    @app.get("/v1/jobs/{job_id}", response_model=Job, tags=["videos"], dependencies=[Depends(auth)],
             responses=_errs(401, 404), summary="Job state (queued|running|done|failed) and progress")
    def get_job(request: Request, job_id: str) -> dict[str, Any]:
        return _job_json(request, _job(request, job_id))

    @app.get(
        "/v1/jobs/{job_id}/results", tags=["videos"], dependencies=[Depends(auth)],
        responses={200: {"description": "format=json: {id, table, columns, rows: [{column: value}]} "
                         "(NaN → null); format=csv: text/csv",
                         "content": {"text/csv": {}}},
                   **_errs(401, 404, 409, 422)},
        summary="Results of a finished job as JSON or CSV",
    )
    async def get_results(
        request: Request, job_id: str,
        format: str = Query("json", pattern="^(json|csv)$", description="json or csv"),
        table: str = Query("frames", pattern="^(frames|events|segments)$",
                           description="frames: one row per face per analysed frame; events: "
                           "AU and expression episodes (fau.video.find_events); segments: "
                           "per-segment summary (jobs submitted with segments)"),
    ) -> Response:
        job = _job(request, job_id)
        if job["state"] != "done":
            why = f": {job['error']}" if job["state"] == "failed" else ""
            raise ApiError(409, "not_ready", f"job {job_id} is {job['state']}{why}; results exist once it is done")
        path = request.app.state.jobs.table_path(job_id, table)
        if not path.is_file():
            if table == "segments" and not job["segments"]:
                raise ApiError(404, "not_found", f"job {job_id} was submitted without segments")
            raise ApiError(404, "not_found", f"the {table} table of job {job_id} is gone (deleted or expired)")
        df = await asyncio.get_running_loop().run_in_executor(None, pd.read_parquet, path)
        if format == "csv":
            name = f"fau-{job_id}" + ("" if table == "frames" else f"-{table}") + ".csv"
            return Response(df.to_csv(index=False), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        text = df.to_json(orient="records", date_format="iso", double_precision=10)
        body = '{"id":%s,"table":%s,"columns":%s,"rows":%s}' % (
            json.dumps(job_id), json.dumps(table), json.dumps(list(map(str, df.columns))), text)
        return Response(body, media_type="application/json")

    @app.get(
        "/v1/jobs/{job_id}/report", tags=["videos"], dependencies=[Depends(auth)],
        responses={200: {"description": "self-contained HTML report", "content": {"text/html": {}}},
                   **_errs(401, 404, 409)},
        summary="The HTML report of a finished job",
    )
    async def get_report(request: Request, job_id: str) -> Response:
        job = _job(request, job_id)
        if job["state"] != "done":
            raise ApiError(409, "not_ready", f"job {job_id} is {job['state']}; the report exists once it is done")
        path = request.app.state.jobs.report_path(job_id)
        if not path.is_file():
            raise ApiError(404, "report_unavailable",
                           f"job {job_id} has no HTML report (fau.report is not installed on this server)")
        return FileResponse(path, media_type="text/html; charset=utf-8")

    @app.delete("/v1/jobs/{job_id}", status_code=204, tags=["videos"], dependencies=[Depends(auth)],
                responses=_errs(401, 404), summary="Delete a job and all its files (a running job is stopped)")
    def delete_job(request: Request, job_id: str) -> Response:
        _job(request, job_id)
        manager: jobs_mod.JobManager = request.app.state.jobs
        request.app.state.store.delete(job_id)
        manager.remove_files(job_id)
        return Response(status_code=204)

    # -- live stream -------------------------------------------------------------------
    @app.websocket("/v1/stream")
    async def stream(ws: WebSocket, token: Optional[str] = Query(None)) -> None:
        header = ws.headers.get("authorization", "")
        given = header[7:].strip() if header.lower().startswith("bearer ") else token
        if not _token_ok(given):
            await ws.close(code=1008, reason="missing or wrong token")
            return
        await ws.accept()
        pool: DetectorPool = ws.app.state.pool
        send_lock = asyncio.Lock()
        fresh = asyncio.Event()
        st: dict[str, Any] = {"slot": None, "received": 0, "dropped": 0, "dropped_total": 0, "closed": False}

        async def send(obj: dict[str, Any]) -> None:
            async with send_lock:
                if ws.application_state == WebSocketState.CONNECTED:
                    await ws.send_text(json.dumps(obj, allow_nan=False))

        async def receiver() -> None:
            try:
                while True:
                    msg = await ws.receive()
                    if msg["type"] == "websocket.disconnect":
                        return
                    data = msg.get("bytes")
                    if data is None:
                        await send(StreamError(seq=None, code="binary_expected",
                                               detail="send each frame as one binary message (JPEG bytes)").model_dump())
                        continue
                    st["received"] += 1
                    if len(data) > s.max_frame_bytes:
                        await ws.close(code=1009, reason=f"frame over {s.max_frame_bytes} bytes")
                        return
                    if st["slot"] is not None:  # a newer frame replaces the waiting one
                        st["dropped"] += 1
                        st["dropped_total"] += 1
                    st["slot"] = (st["received"], data, time.perf_counter())
                    fresh.set()
            except (WebSocketDisconnect, RuntimeError):
                return
            finally:
                st["closed"] = True
                fresh.set()

        recv_task = asyncio.create_task(receiver())
        try:
            while True:
                await fresh.wait()
                fresh.clear()
                if st["closed"]:
                    break
                if st["slot"] is None:
                    continue
                seq, data, t_recv = st["slot"]
                st["slot"] = None
                dropped, st["dropped"] = st["dropped"], 0
                try:
                    if sniff(data[:SNIFF_BYTES]) not in IMAGE_KINDS:
                        raise FauError("frame is not a JPEG/PNG/WebP image")
                    res = await pool.run(lambda det: analyse_image(det, data))
                except FauError as exc:
                    await send(StreamError(seq=seq, code="invalid_image", detail=str(exc)).model_dump())
                    continue
                await send({
                    "type": "result", "seq": seq, "received": st["received"], "dropped": dropped,
                    "dropped_total": st["dropped_total"],
                    "latency_ms": round((time.perf_counter() - t_recv) * 1000.0, 2),
                    "analysis_ms": res["analysis_ms"], "width": res["width"],
                    "height": res["height"], "faces": res["faces"],
                })
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            recv_task.cancel()

    # Document the WebSocket messages in the OpenAPI schema (WebSockets have no operation).
    _openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = _openapi()
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (StreamResult, StreamError):
            comps[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in comps[model.__name__].pop("$defs", {}).items():
                comps.setdefault(name, sub)
        schema["x-websocket"] = {
            "/v1/stream": {
                "description": "Send JPEG frames as binary messages; receive one StreamResult "
                "(or StreamError) JSON text message per analysed frame. Only the newest "
                "waiting frame is analysed: older waiting frames are dropped and counted in "
                "'dropped'. Auth: Authorization header or ?token=. Close codes: 1008 wrong "
                "token, 1009 frame too large.",
                "receive": {"$ref": "#/components/schemas/StreamResult"},
                "error": {"$ref": "#/components/schemas/StreamError"},
            }
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    # Middleware (outermost last): security headers, body limit, optional CORS.
    app.add_middleware(BodyLimit, limit=s.max_upload_bytes, limit_mb=float(s.max_upload_mb))
    app.add_middleware(SecurityHeaders)
    if s.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(s.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    return app


def _display_name(name: str | None) -> str:
    """The client's file name for display only: last path part, printable, ≤ 200 chars."""
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable())[:200].strip()
    return clean or "upload"
