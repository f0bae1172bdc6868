"""The people's side of the service: the live page ``/``, its static files, and the API
documentation ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with no internet.

Swagger UI and ReDoc come from the PyPI package ``fastapi-offline`` (MIT; it vendors the
two projects' dist files, both MIT/Apache-2.0): fau serves those files at
``/static/vendor`` and its own two small pages that load them, so the pages keep the
strict Content-Security-Policy (no inline script, nothing from a CDN).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ..errors import ApiError

__all__ = ["router", "static_dir", "vendor_dir", "mount_static"]

router = APIRouter(include_in_schema=False)


def static_dir() -> Path:
    """fau's own static files (``fau/serve/static``)."""
    return Path(str(resources.files("fau.serve") / "static"))


def vendor_dir() -> Path | None:
    """The Swagger UI / ReDoc files of ``fastapi-offline``, or None when it is missing."""
    try:
        path = Path(str(resources.files("fastapi_offline") / "static"))
    except ModuleNotFoundError:
        return None
    return path if (path / "swagger-ui-bundle.js").is_file() else None


def _page(name: str) -> FileResponse:
    return FileResponse(static_dir() / name, media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


def _docs_page(name: str) -> FileResponse:
    if vendor_dir() is None:
        raise ApiError(501, "docs_unavailable",
                       "the API documentation pages need the fastapi-offline package "
                       "(pip install 'fau[serve]'); the schema is at /openapi.json")
    return _page(name)


@router.get("/")
async def index() -> FileResponse:
    """The live camera page."""
    return _page("index.html")


@router.get("/docs")
async def swagger_ui() -> FileResponse:
    """Swagger UI over ``/openapi.json``."""
    return _docs_page("docs.html")


@router.get("/redoc")
async def redoc() -> FileResponse:
    """ReDoc over ``/openapi.json``."""
    return _docs_page("redoc.html")


def mount_static(app: FastAPI) -> None:
    """Serve ``/static/vendor`` (Swagger UI, ReDoc) and ``/static`` (fau's files)."""
    vendor = vendor_dir()
    if vendor is not None:
        app.mount("/static/vendor", StaticFiles(directory=vendor), name="vendor")
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
