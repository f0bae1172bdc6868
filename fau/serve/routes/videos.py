"""``POST /v1/videos``: store an uploaded video and queue its analysis job."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Optional

import pandas as pd
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ...errors import FauError
from ...files import write_table
from ...limits import MAX_VIDEO_PIXELS, MIN_SIDE
from ...video.reader import VideoTooLarge
from ..jobs import SEGMENTS_INPUT, new_job_id, probe, public_error, read_upload_segments
from ..auth import require_token
from ..errors import ApiError, check_form_fields, documented_errors
from ..schemas import JobCreated
from ..sniff import SNIFF_BYTES, VIDEO_KINDS, sniff, unsupported_detail
from ..state import Services, services

__all__ = ["router", "display_name", "more_than", "check_queue", "check_free_space",
           "QUEUE_RETRY_AFTER_S"]

router = APIRouter(tags=["videos"], dependencies=[Depends(require_token)])

#: Copy buffer (bytes) when saving an upload to disk.
COPY_BUFFER_BYTES = 1024 * 1024
#: ``Retry-After`` (seconds) of the 429 answered when the job queue is full: the queue
#: drains one job at a time per worker, and a client retrying once a minute adds no load.
QUEUE_RETRY_AFTER_S = 60
#: Bytes in a MiB.
MIB = 1024 * 1024


def display_name(name: str | None) -> str:
    """The client's file name for display only: last path part, printable, ≤ 200 chars."""
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable())[:200].strip()
    return clean or "upload"


def more_than(value: float, limit: float) -> str:
    """``value`` with as few decimals as show that it exceeds ``limit``.

    >>> more_than(600.03, 600), more_than(1.868, 1)
    ('600.03', '1.9')
    """
    for decimals in range(1, 7):
        text = f"{value:.{decimals}f}"
        if float(text) > limit:
            return text
    return repr(float(value))


def too_large(w: int, h: int) -> ApiError:
    """The 422 ``video_too_large`` answer for frames of ``w``×``h`` px (over
    `fau.limits.MAX_VIDEO_PIXELS`)."""
    return ApiError(422, "video_too_large",
                    f"the video's frames are {w}×{h} px ({w * h:,} pixels); fau accepts at most "
                    f"{MAX_VIDEO_PIXELS:,} pixels per frame (e.g. 4096×2160; downscale it first)")


def check_video(meta: dict[str, Any], max_video_s: float) -> None:
    """422 for a video whose header says it is too long, or whose frames are too large
    (over `fau.limits.MAX_VIDEO_PIXELS`) or too small (under `fau.limits.MIN_SIDE`).

    The duration limit is enforced again on what is decoded (the job passes it to
    `fau.video.detect_video` as ``max_duration_s``), so a header that lies gains nothing.
    """
    duration = meta.get("duration_s")
    if duration is not None and duration > max_video_s:
        raise ApiError(422, "video_too_long",
                       f"the video lasts {more_than(duration, max_video_s)} s; this server "
                       f"accepts at most {max_video_s:g} s (--max-video-s)")
    w, h = int(meta.get("width") or 0), int(meta.get("height") or 0)
    if w * h > MAX_VIDEO_PIXELS:
        raise too_large(w, h)
    if w and h and (w < MIN_SIDE or h < MIN_SIDE):
        raise ApiError(422, "invalid_video",
                       f"the video's frames are {w}×{h} px; fau needs at least {MIN_SIDE} px a side "
                       "to find a face")


def check_queue(queued: int, limit: int) -> None:
    """429 ``queue_full`` (with ``Retry-After``) when ``queued`` jobs already wait and the
    limit (`Settings.max_queued_jobs`) is ``limit``."""
    if queued >= limit:
        raise ApiError(429, "queue_full",
                       f"{queued} video jobs are waiting, the most this server queues "
                       f"(FAU_MAX_QUEUED_JOBS={limit}); try again in {QUEUE_RETRY_AFTER_S} s, "
                       "or once one of your jobs has finished",
                       headers={"Retry-After": str(QUEUE_RETRY_AFTER_S)})


def check_free_space(folder: Path, upload_bytes: int, min_free_mb: float) -> None:
    """507 ``insufficient_storage`` unless the disk of ``folder`` has room for an upload of
    ``upload_bytes`` plus `Settings.min_free_mb`. The message names sizes, not the path."""
    free = shutil.disk_usage(folder).free
    need = upload_bytes + int(min_free_mb * MIB)
    if free < need:
        raise ApiError(507, "insufficient_storage",
                       f"the server's data folder has {free / MIB:,.0f} MiB free; storing this "
                       f"{upload_bytes / MIB:,.1f} MiB upload needs {need / MIB:,.0f} MiB: the "
                       "upload "
                       f"plus a margin of {min_free_mb:,.0f} MiB (FAU_MIN_FREE_MB) for "
                       "results; try again later "
                       "or ask the administrator to free space")


def _upload_size(upload: UploadFile) -> int:
    """Bytes of an uploaded file (spooled by the multipart parser)."""
    if upload.size is not None:
        return int(upload.size)
    pos = upload.file.tell()
    upload.file.seek(0, 2)
    size = upload.file.tell()
    upload.file.seek(pos)
    return int(size)


def _save(upload: UploadFile, head: bytes, folder: Path, dest: Path) -> int:
    folder.mkdir(parents=True)
    with open(dest, "wb") as out:
        out.write(head)
        shutil.copyfileobj(upload.file, out, COPY_BUFFER_BYTES)
        return out.tell()


@router.post(
    "/v1/videos", response_model=JobCreated, status_code=202,
    responses=documented_errors(401, 413, 415, 422, 429, 501, 507),
    summary="Queue a video for analysis (multipart 'file', optional 'segments' CSV and 'fps')",
)
async def post_video(
    request: Request,
    file: UploadFile = File(..., description="MP4/MOV, WebM/MKV, FLV, AVI or MPEG-TS; "
                            "the type is read from the bytes"),
    segments: Optional[UploadFile] = File(
        None, description="CSV with columns start,end (seconds) and optional label; "
        "each segment is analysed and its rows carry a 'segment' column"),
    fps: Optional[float] = Form(None, gt=0, le=240, allow_inf_nan=False,
                                description="frames per second to analyse (default: every frame)"),
    fps_query: Optional[float] = Query(None, alias="fps", gt=0, le=240, allow_inf_nan=False,
                                       description="same as the form field"),
    svc: Services = Depends(services),
) -> JSONResponse:
    """Store the upload in a new job folder and queue it (202 with the job's links)."""
    check_form_fields((k for k, _ in (await request.form()).multi_items()),
                      ("file", "segments", "fps"))
    if not svc.video_available:
        raise ApiError(501, "video_unavailable",
                       "this fau installation cannot analyse videos (fau.video is missing)")
    # ?fps= as for /v1/images' ?explain= (it was ignored: every frame was analysed)
    if fps is not None and fps_query is not None and fps != fps_query:
        raise ApiError(422, "invalid_request",
                       f"fps: the form field says {fps:g} and the query {fps_query:g}; give one")
    fps = fps if fps is not None else fps_query
    manager = svc.jobs
    head = await file.read(SNIFF_BYTES)
    if not head:
        raise ApiError(422, "invalid_request", "file: the uploaded file is empty (0 bytes)")
    kind = sniff(head)
    if kind not in VIDEO_KINDS:
        raise ApiError(415, "unsupported_type", unsupported_detail(kind, wanted="video"))
    seg_bytes = await segments.read() if segments is not None else b""
    if segments is not None and not seg_bytes:
        raise ApiError(422, "invalid_segments", "segments: the uploaded CSV is empty")
    # capacity, before anything is written to the data folder
    check_queue(await run_in_threadpool(svc.store.count, "queued"), svc.settings.max_queued_jobs)
    check_free_space(manager.root, _upload_size(file), svc.settings.min_free_mb)
    job_id = new_job_id()
    folder = manager.job_dir(job_id)
    dest = manager.input_path({"id": job_id, "kind": kind})
    seg_df: pd.DataFrame | None = None
    try:
        size = await run_in_threadpool(_save, file, head, folder, dest)
        try:
            meta = await run_in_threadpool(probe, dest)
        except VideoTooLarge as exc:  # over FFmpeg's bound (jobs.probe), so over the video limit
            raise too_large(exc.width, exc.height) from None
        except FauError as exc:
            raise ApiError(422, "invalid_video", public_error(exc, folder, file.filename)) from None
        check_video(meta, svc.settings.max_video_s)
        if segments is not None:
            try:
                seg_df = read_upload_segments(seg_bytes, max_s=meta["duration_s"])
            except FauError as exc:
                raise ApiError(422, "invalid_segments", str(exc)) from None
            await run_in_threadpool(write_table, seg_df, folder / "segments.csv")
            # the analysis reads this lossless copy: the CSV's labels are quoted for
            # spreadsheets ("-5 is the topic" → "'-5 is the topic"), this one's are as given
            await run_in_threadpool(write_table, seg_df, folder / SEGMENTS_INPUT)
        row = dict(id=job_id, kind=kind, filename=display_name(file.filename), size_bytes=size,
                   duration_s=meta["duration_s"], fps=fps,
                   segments=None if seg_df is None else len(seg_df))
        await run_in_threadpool(lambda: svc.store.create(**row))
    except BaseException:
        manager.remove_files(job_id)
        raise
    manager.notify()
    base = f"/v1/jobs/{job_id}"
    body = JobCreated(id=job_id, state="queued", duration_s=meta["duration_s"],
                      links={"status": base, "results": f"{base}/results", "report": f"{base}/report"})
    return JSONResponse(body.model_dump(), status_code=202, headers={"Location": base})
