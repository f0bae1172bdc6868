"""``/v1/stream``: the WebSocket live stream (protocol in docs/api.md)."""

from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Depends, Query, WebSocket

from ..auth import bearer_token, token_ok
from ..hosts import origin_allowed
from ..live import CLOSE_POLICY, CLOSE_TRY_LATER, serve_stream
from ..state import Services, services

__all__ = ["router"]

router = APIRouter()


async def _refuse(ws: WebSocket, code: int, reason: str) -> None:
    """Open and at once close with ``code``: browsers see the close code and reason
    (a refused handshake would only show as a failed connection)."""
    await ws.accept()
    await ws.close(code=code, reason=reason)


@router.websocket("/v1/stream")
async def stream(ws: WebSocket, token: Optional[str] = Query(None),
                 svc: Services = Depends(services)) -> None:
    """Camera frames in, one analysis per newest frame out."""
    s = svc.settings
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host"), s.cors_origins):
        await _refuse(ws, CLOSE_POLICY, "origin not allowed (same-origin pages or --cors origins only)")
        return
    if not token_ok(s.token, bearer_token(ws.scope.get("headers", [])) or token):
        await _refuse(ws, CLOSE_POLICY, "missing or wrong token")
        return
    if not svc.streams.reserve():
        await _refuse(ws, CLOSE_TRY_LATER, f"all {s.max_streams} live streams are in use; try again later")
        return
    await serve_stream(ws, pool=svc.pool, streams=svc.streams, gate=svc.gate,
                       max_frame_bytes=s.max_frame_bytes, idle_s=s.stream_idle_s)
