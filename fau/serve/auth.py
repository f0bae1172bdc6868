"""Bearer-token check of the web service: one comparison used by the ASGI gate (before a
body is read), the route dependency (which also documents the scheme in OpenAPI) and
the WebSocket."""

from __future__ import annotations

import hmac
from typing import Iterable, Optional

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError

__all__ = ["token_ok", "bearer_token", "require_token", "unauthorized", "UNAUTHORIZED_DETAIL",
           "OPEN_PATHS"]

#: Answer to a missing or wrong token.
UNAUTHORIZED_DETAIL = "this server needs 'Authorization: Bearer <token>' (missing or wrong token)"
#: ``/v1`` paths that never need the token (what the server is; the page asks for it).
OPEN_PATHS: frozenset[str] = frozenset({"/v1/info"})

_bearer = HTTPBearer(auto_error=False, description="Needed only when the server runs with --token.")


def token_ok(expected: str | None, given: str | None) -> bool:
    """True when no token is configured, or ``given`` equals it (constant-time compare)."""
    if not expected:
        return True
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header among raw ASGI headers."""
    for k, v in headers:
        if k == b"authorization":
            text = v.decode("latin-1").strip()
            if text[:7].lower() == "bearer ":
                return text[7:].strip()
            return None
    return None


def unauthorized() -> ApiError:
    """The 401 `ApiError` (with ``WWW-Authenticate: Bearer``)."""
    return ApiError(401, "unauthorized", UNAUTHORIZED_DETAIL, {"WWW-Authenticate": "Bearer"})


async def require_token(request: Request,
                        cred: Optional[HTTPAuthorizationCredentials] = Depends(_bearer)) -> None:
    """Route dependency: 401 unless the server has no token or the request carries it.

    `fau.serve.middleware.TokenGate` already refused wrong tokens before the body was
    read; this check is the route's own guarantee and puts the scheme into OpenAPI.
    """
    expected = request.app.state.settings.token
    given = cred.credentials if cred is not None and cred.scheme.lower() == "bearer" else None
    if not token_ok(expected, given):
        raise unauthorized()
