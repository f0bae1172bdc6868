"""``POST /v1/images``: analyse one uploaded image."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from ...errors import FauError, ModelFileError
from ..analysis import analyse_image
from ..auth import require_token
from ..errors import ApiError, check_form_fields, documented_errors
from ..schemas import ImageResult
from ..sniff import IMAGE_KINDS, SNIFF_BYTES, sniff, unsupported_detail
from ..state import Services, services

__all__ = ["router", "read_upload", "BUSY_RETRY_AFTER_S"]

router = APIRouter(tags=["images"], dependencies=[Depends(require_token)])

#: ``Retry-After`` (seconds) of the 503 answered when too many images wait: an image
#: takes ~0.1 s of a detector thread, so the waiting line moves within a second.
BUSY_RETRY_AFTER_S = 1


async def read_upload(upload: UploadFile) -> bytes:
    """The whole uploaded file (422 when it is empty)."""
    data = await upload.read()
    if not data:
        raise ApiError(422, "invalid_request", "file: the uploaded file is empty (0 bytes)")
    return data


@router.post(
    "/v1/images", response_model=ImageResult,
    responses=documented_errors(401, 413, 415, 422, 500, 503),
    summary="Analyse one image (multipart field 'file'): faces, AUs, expression scores",
)
async def post_image(
    request: Request,
    file: UploadFile = File(..., description="JPEG, PNG, GIF, BMP, TIFF or WebP; "
                            "the type is read from the bytes, not the name"),
    explain: bool = Query(False, description="add per-face explanations (TreeSHAP contributions)"),
    blendshapes: bool = Query(False, description="add MediaPipe's 52 blendshape scores per face"),
    explain_form: Optional[bool] = Form(None, alias="explain", description="same as the query parameter"),
    blendshapes_form: Optional[bool] = Form(None, alias="blendshapes",
                                            description="same as the query parameter"),
    svc: Services = Depends(services),
) -> JSONResponse:
    """Faces, AUs and expression scores of one image; nothing is stored."""
    check_form_fields((k for k, _ in (await request.form()).multi_items()),
                      ("file", "explain", "blendshapes"))
    data = await read_upload(file)
    kind = sniff(data[:SNIFF_BYTES])
    if kind not in IMAGE_KINDS:
        raise ApiError(415, "unsupported_type", unsupported_detail(kind, wanted="image"))
    want_explain = bool(explain or explain_form)
    if want_explain and not svc.pool.has_model:
        raise ApiError(422, "invalid_request",
                       "explain=true needs an expression model; this server runs without one")
    if not svc.images.admit():
        s = svc.settings
        raise ApiError(503, "busy",
                       f"{s.max_waiting_images} images are already waiting for this server's "
                       f"{s.analysis_threads} detector thread(s) (FAU_MAX_WAITING_IMAGES="
                       f"{s.max_waiting_images}); try again in {BUSY_RETRY_AFTER_S} s",
                       headers={"Retry-After": str(BUSY_RETRY_AFTER_S)})
    try:
        async with svc.gate.slot(data):
            result = await svc.pool.run(lambda det: analyse_image(
                det, data, explain=want_explain, blendshapes=bool(blendshapes or blendshapes_form)))
    except ModelFileError as exc:  # fau's own installation, not the request
        raise ApiError(500, "internal_error", str(exc)) from None
    except FauError as exc:
        raise ApiError(422, "invalid_image", str(exc)) from None
    finally:
        svc.images.leave()
    result["model"] = svc.pool.model_name
    return JSONResponse(result)
