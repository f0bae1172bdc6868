"""ASGI middleware of the web service: allowed hosts, the token gate, request-body limits
(size and stalls) and security headers. Each runs before any route reads a byte of the
body."""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import OPEN_PATHS, UNAUTHORIZED_DETAIL, bearer_token, token_ok
from .errors import error_response
from .hosts import host_allowed

__all__ = ["HostCheck", "TokenGate", "BodyGuard", "SecurityHeaders", "PAGE_CSP", "DOCS_CSP", "REPORT_CSP"]

#: Content-Security-Policy of the live page: only this server's own scripts, images and
#: WebSocket; camera frames stay in the page as blobs. Inline styles are allowed because a
#: report the page opens as a blob: URL (to send the bearer token) inherits this policy
#: and carries its CSS inline.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
#: Content-Security-Policy of ``/docs`` and ``/redoc``: the page policy, plus the web
#: workers ReDoc starts from blob: URLs.
DOCS_CSP = PAGE_CSP + "; worker-src 'self' blob:"
#: Content-Security-Policy of an HTML report: self-contained (inline CSS and SVG written by
#: `fau.report`), may load nothing from anywhere.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k == name:
            return v.decode("latin-1")
    return None


class HostCheck:
    """Refuse requests whose ``Host`` is not this server (400 ``invalid_host``; a
    WebSocket handshake is refused with 403) — see `fau.serve.hosts.host_allowed`."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app, self.allowed = app, allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = _header(scope, b"host")
        server = scope.get("server")
        if host_allowed(host, self.allowed, server[0] if server else None):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "host not allowed"})
            return
        detail = (f"the Host header {host[:100]!r} is not one this server answers; start it with "
                  "FAU_ALLOWED_HOSTS=<name> to allow it (docs/deploy.md)")
        await error_response(400, "invalid_host", detail, {"Connection": "close"})(scope, receive, send)


class TokenGate:
    """401 for a ``/v1`` HTTP request without the right bearer token, answered from the
    headers alone: an upload with a wrong token is never read by the application, let
    alone stored.

    The connection stays open: the HTTP server discards the rest of the body it is sent
    (uvicorn does, chunk by chunk) and the client reads its 401. Closing at once would
    reset the connection while the client is still sending, and the client would see a
    broken connection instead of the answer (measured by ``bench_serve.py --phases
    hostile``). The header deadline of `fau.serve.server` bounds how long that takes.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (self.token and scope["type"] == "http" and scope.get("method") != "OPTIONS"
                and path.startswith("/v1/") and path not in OPEN_PATHS
                and not token_ok(self.token, bearer_token(scope.get("headers", [])))):
            headers = {"WWW-Authenticate": "Bearer"}
            await error_response(401, "unauthorized", UNAUTHORIZED_DETAIL, headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyGuard:
    """Refuse HTTP bodies over ``limit`` bytes (413) and bodies that stall (408).

    ``Content-Length`` is checked before anything is read; streamed (chunked) bodies are
    counted as they arrive, so an oversized upload is never stored whole. Each wait for
    the next body chunk may last at most ``timeout_s`` seconds.
    """

    def __init__(self, app: ASGIApp, limit: int, limit_mb: float, timeout_s: float) -> None:
        self.app, self.limit, self.limit_mb, self.timeout_s = app, limit, limit_mb, timeout_s

    def _too_large(self) -> str:
        return f"the request body is larger than the {self.limit_mb:g} MiB limit (--max-upload-mb)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.limit:
            await error_response(413, "too_large", self._too_large(), {"Connection": "close"})(
                scope, receive, send)
            return
        state = {"seen": 0, "done": False, "started": False}

        async def guarded_receive() -> Message:
            if state["done"]:  # body complete: wait for the disconnect as long as it takes
                return await receive()
            try:
                msg = await asyncio.wait_for(receive(), self.timeout_s)
            except asyncio.TimeoutError:
                raise StarletteHTTPException(
                    408, f"the request body stalled for more than {self.timeout_s:g} s") from None
            if msg["type"] == "http.request":
                state["seen"] += len(msg.get("body", b""))
                state["done"] = not msg.get("more_body", False)
                if state["seen"] > self.limit:
                    raise StarletteHTTPException(413, self._too_large())
            else:
                state["done"] = True
            return msg

        async def tracking_send(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                state["started"] = True
            await send(msg)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except StarletteHTTPException as exc:  # raised outside FastAPI's handlers
            if exc.status_code not in (408, 413) or state["started"]:
                raise
            code = "too_large" if exc.status_code == 413 else "timeout"
            await error_response(exc.status_code, code, str(exc.detail), {"Connection": "close"})(
                scope, receive, send)


class SecurityHeaders:
    """Add ``nosniff``, ``no-referrer`` and a Content-Security-Policy to HTTP answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.endswith("/report"):
            csp = REPORT_CSP
        elif path in ("/docs", "/redoc"):
            csp = DOCS_CSP
        else:
            csp = PAGE_CSP

        async def add(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", csp.encode()))
                msg["headers"] = headers
            await send(msg)

        await self.app(scope, receive, add)
