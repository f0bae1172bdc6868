"""The FastAPI application of ``fau serve`` (`create_app`): it only assembles the routers,
middleware, error handlers and lifespan defined in the other modules of `fau.serve`."""

from __future__ import annotations

from fastapi import FastAPI

from .. import __version__
from .errors import ApiError, install_error_handlers
from .middleware import BodyGuard, HostCheck, SecurityHeaders, TokenGate
from .openapi import document_websocket
from .routes import images, info, jobs, pages, stream, videos
from .schemas import NOTICE
from .settings import Settings
from .state import make_lifespan

__all__ = ["create_app", "ApiError"]


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
    app = FastAPI(
        title="fau",
        version=__version__,
        summary="Facial action units and expression scores from images, videos and a live camera.",
        description=NOTICE + "\n\nAll error responses share the `ErrorBody` shape. "
        "See docs/api.md for the WebSocket protocol of `/v1/stream`.",
        lifespan=make_lifespan(s),
        docs_url=None,  # served offline by routes.pages
        redoc_url=None,
    )
    app.state.settings = s
    install_error_handlers(app)
    for module in (pages, info, images, videos, jobs, stream):
        app.include_router(module.router)
    pages.mount_static(app)
    app.openapi = document_websocket(app)  # type: ignore[method-assign]
    # Middleware, innermost first: the body is guarded (size, stalls); the token, CORS and
    # the Host are checked before any byte of a body is read; every answer, refusals
    # included, gets the security headers.
    app.add_middleware(BodyGuard, limit=s.max_upload_bytes, limit_mb=float(s.max_upload_mb),
                       timeout_s=float(s.body_timeout_s))
    app.add_middleware(TokenGate, token=s.token)
    if s.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(s.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    app.add_middleware(HostCheck, allowed=s.allowed_hosts)
    app.add_middleware(SecurityHeaders)
    return app
