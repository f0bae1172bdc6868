"""The OpenAPI schema of the service, with the WebSocket messages added (OpenAPI has no
WebSocket operations; they go into the ``x-websocket`` extension)."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import FastAPI

from .schemas import StreamError, StreamResult

__all__ = ["document_websocket", "WEBSOCKET_DESCRIPTION"]

#: What ``x-websocket`` says about ``/v1/stream``.
WEBSOCKET_DESCRIPTION = (
    "Send JPEG frames as binary messages; receive one StreamResult (or StreamError) JSON "
    "text message per analysed frame. Only the newest waiting frame is analysed: older "
    "waiting frames are dropped and counted in 'dropped'. Each face is tracked (track_id), "
    "smoothed, and given relative to the person's running neutral baseline (aus_rel). "
    "Auth: Authorization header or ?token=. Pages of other origins than the server's own "
    "(or --cors) are refused. Close codes: 1008 wrong token or foreign origin, 1009 frame "
    "too large, 1013 all streams busy, 4408 no frame for the idle limit (FAU_STREAM_IDLE_S, "
    "default 120 s)."
)


def document_websocket(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """An ``app.openapi`` replacement: FastAPI's schema plus the stream's messages."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base()
        comps = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (StreamResult, StreamError):
            comps[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in comps[model.__name__].pop("$defs", {}).items():
                comps.setdefault(name, sub)
        schema["x-websocket"] = {
            "/v1/stream": {
                "description": WEBSOCKET_DESCRIPTION,
                "receive": {"$ref": "#/components/schemas/StreamResult"},
                "error": {"$ref": "#/components/schemas/StreamError"},
            }
        }
        app.openapi_schema = schema
        return schema

    return openapi
