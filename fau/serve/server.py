"""Running the application under uvicorn with connection timeouts (``fau serve``).

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) but gives a client
unlimited time to send a request's headers, so slow clients can hold connections open
for as long as they like ("slowloris"). `header_timeout_protocol` adds that deadline to
uvicorn's h11 protocol; the body's stalls are bounded by
`fau.serve.middleware.BodyGuard`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import DEFAULT_ALLOWED_HOSTS, Settings

__all__ = ["header_timeout_protocol", "uvicorn_config", "run_server", "KEEP_ALIVE_S"]

log = logging.getLogger(__name__)

#: Seconds an idle keep-alive connection stays open (uvicorn's default).
KEEP_ALIVE_S = 5


def header_timeout_protocol(timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for each request's headers.

    The clock starts when the connection opens and again after each response; a
    connection whose next request's headers are not complete ``timeout_s`` seconds later
    is closed. Relies on `H11Protocol`'s ``handle_events``, ``on_response_complete`` and
    ``cycle`` (uvicorn 0.29-0.54); ``tests/test_serve_security.py`` checks the effect.
    """

    class HeaderTimeoutProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _seen_cycle: Any = None

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(timeout_s, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if self.cycle is self._seen_cycle and not self.transport.is_closing():
                log.info("closing a connection from %s: no complete request headers in %g s",
                         self.client, timeout_s)
                self.transport.close()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
            super().connection_made(transport)  # type: ignore[arg-type]
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not self._seen_cycle or self.transport.get_protocol() is not self:
                self._seen_cycle = self.cycle  # headers complete (or upgraded to WebSocket)
                self._disarm()

        def on_response_complete(self) -> None:
            finished = self.cycle
            super().on_response_complete()  # may start a pipelined request (handle_events)
            if self.cycle is finished and not self.transport.is_closing():
                self._seen_cycle = finished
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol


def uvicorn_config(app: Any, settings: Settings, *, host: str = "127.0.0.1", port: int = 8000,
                   log_level: str = "warning", proxy_headers: bool = True) -> uvicorn.Config:
    """The uvicorn configuration fau serves with: header deadline, keep-alive timeout,
    WebSocket message cap, ``websockets`` for the stream."""
    return uvicorn.Config(
        app, host=host, port=port, ws="auto", http=header_timeout_protocol(settings.header_timeout_s),
        ws_max_size=settings.max_frame_bytes + 1024,  # protocol-level cap; the app checks too
        timeout_keep_alive=KEEP_ALIVE_S, log_level=log_level, proxy_headers=proxy_headers,
    )


def run_server(app: Any, settings: Settings, *, host: str = "127.0.0.1", port: int = 8000,
               log_level: str = "warning") -> None:
    """Serve ``app`` until interrupted (what ``fau serve`` runs)."""
    if host in ("0.0.0.0", "::") and settings.allowed_hosts == DEFAULT_ALLOWED_HOSTS:
        log.warning("listening on all interfaces: requests must name this server by one of its "
                    "IP addresses or localhost; set FAU_ALLOWED_HOSTS=<name> to serve it under "
                    "a host name (docs/deploy.md)")
    uvicorn.Server(uvicorn_config(app, settings, host=host, port=port, log_level=log_level)).run()
