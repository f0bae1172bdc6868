"""Errors of the web service: `ApiError`, the `ErrorBody` JSON answer, and the handlers
that turn every exception into that answer."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .schemas import ErrorBody

__all__ = ["ApiError", "error_response", "install_error_handlers", "documented_errors", "validation_detail",
           "check_form_fields"]

log = logging.getLogger(__name__)

#: Code of each HTTP status that Starlette or FastAPI raise themselves.
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found",
               405: "method_not_allowed", 408: "timeout", 413: "too_large"}

#: What each documented error status means, for the OpenAPI schema.
_DESCRIPTIONS = {
    400: "Host header not allowed (code invalid_host)",
    401: "missing or wrong bearer token (code unauthorized)",
    404: "unknown job (code not_found) or no report (report_unavailable)",
    408: "the request body stalled longer than the body timeout (code timeout)",
    409: "results not ready: the job is queued, running or failed (code not_ready)",
    413: "request body over --max-upload-mb (code too_large)",
    415: "the bytes are not a supported image/video format (code unsupported_type)",
    422: "missing/invalid field (invalid_request), undecodable or out-of-range image "
         "(invalid_image), unreadable video (invalid_video), video over --max-video-s "
         "(video_too_long), frames over the pixel limit (video_too_large), bad segments "
         "CSV (invalid_segments)",
    429: "the job queue is full (code queue_full; FAU_MAX_QUEUED_JOBS); retry after the "
         "Retry-After header's seconds",
    500: "a fault of the server, not of the request: a bug, or a model file of fau's "
         "installation missing or corrupt (code internal_error; reinstall fau)",
    503: "too many images wait for a detector thread (code busy; FAU_MAX_WAITING_IMAGES); "
         "retry after the Retry-After header's seconds",
    501: "this installation cannot analyse videos (code video_unavailable)",
    507: "the data folder's disk lacks room for the upload plus FAU_MIN_FREE_MB (code "
         "insufficient_storage)",
}

#: Start of FastAPI's message for a file field that arrived as a plain form value
#: (``fastapi.datastructures.UploadFile._validate``: "Expected UploadFile, received: ...").
_NOT_A_FILE = "Expected UploadFile"


def check_form_fields(names: Iterable[str], accepted: Iterable[str]) -> None:
    """Refuse (422 ``invalid_request``) a multipart field an endpoint does not read, and
    one given more than once.

    FastAPI reads the fields an endpoint declares and ignores the rest, so a misspelt
    ``segment`` CSV was dropped without a word, and of ``fps=5`` and ``fps=6`` the last
    one was used.

    Parameters
    ----------
    names : iterable of str
        The request's field names, repeats included (``[k for k, _ in
        form.multi_items()]``).
    accepted : iterable of str
        The fields the endpoint reads.
    """
    names, accepted = list(names), sorted(set(accepted))
    unknown = sorted(set(names) - set(accepted))
    if unknown:
        raise ApiError(422, "invalid_request",
                       f"unknown form field(s) {', '.join(map(repr, unknown))}; this endpoint "
                       f"reads {', '.join(map(repr, accepted))}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ApiError(422, "invalid_request",
                       f"form field(s) {', '.join(map(repr, twice))} given more than once; "
                       "give each once")


class ApiError(Exception):
    """An error answered as `ErrorBody` JSON with HTTP ``status``.

    Parameters
    ----------
    status : int
        HTTP status code.
    code : str
        Machine-readable reason (see `ErrorBody.code`).
    detail : str
        Human-readable explanation.
    headers : dict or None
        Extra response headers.
    """

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None,
                   errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    """The `ErrorBody` answer (also usable as a plain ASGI app by middleware)."""
    body: dict[str, Any] = {"code": code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def documented_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries of a route for the given error statuses."""
    return {c: {"model": ErrorBody, "description": _DESCRIPTIONS[c]} for c in codes}


def validation_detail(errors: list[dict[str, Any]]) -> str:
    """One line from FastAPI's validation errors: ``field: message; ...``.

    ``fps=nan`` and ``fps=inf`` are named as such: pydantic reports them as
    ``finite_number`` errors ("Input should be a finite number"). A file field sent as
    a plain form value (a part without a file name, e.g. ``curl -F file=photo.jpg``
    instead of ``-F file=@photo.jpg``) is named as such, not by the Python class it was
    parsed to.
    """
    parts = []
    for e in errors:
        where = ".".join(str(x) for x in e["loc"][1:]) or "request"
        if e["type"] == "missing":
            msg = "field required"
        elif e["type"] == "value_error" and _NOT_A_FILE in e["msg"]:
            msg = "expected a file (a multipart part with a file name), got a plain form value"
        else:
            msg = e["msg"]
        parts.append(f"{where}: {msg}")
    return "; ".join(parts) or "invalid request"


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.detail, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code in (408, 413):
        headers["Connection"] = "close"
    return error_response(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"),
                          str(exc.detail), headers or None)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errs = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()]
    detail = validation_detail(errs)
    if (request.headers.get("content-type", "").lower().startswith("multipart/form-data")
            and any(e["type"] == "missing" and e["loc"][:1] == ["body"] for e in errs)):
        hint = await _multipart_parts(request)
        detail += f"; {hint}" if hint else ""
    return error_response(422, "invalid_request", detail, errors=errs)


async def _multipart_parts(request: Request) -> str | None:
    """What a multipart body that lacks a required part held (a missing field's hint):
    a part sent under another name, or none at all (an upload cut off before its end).
    None when the parsed form is not at hand."""
    try:
        names = sorted({str(k) for k in (await request.form()).keys()})  # parsed: cached
    except Exception:  # not parseable again: no hint rather than a wrong one
        return None
    if names:
        return f"the multipart body's parts are named {', '.join(names)[:200]}"
    return ("the multipart body held no complete part (was the upload cut off before its "
            "end?)")


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error",
                          f"internal error ({exc.__class__.__name__}); see the server log")


def install_error_handlers(app: FastAPI) -> None:
    """Answer `ApiError`, HTTP errors, validation errors and bugs with `ErrorBody`."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _internal)
