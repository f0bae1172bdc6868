"""Which ``Host`` and ``Origin`` a request may carry (DNS-rebinding and cross-site
protection of a server that may run without a token)."""

from __future__ import annotations

import ipaddress

from ..errors import FauError

__all__ = ["split_host", "host_allowed", "origin_allowed"]


def split_host(value: str) -> str:
    """The host name of a ``Host`` header value, lower case, without port or brackets.

    >>> split_host("[::1]:8000"), split_host("LocalHost:80"), split_host("a.example")
    ('::1', 'localhost', 'a.example')
    """
    v = value.strip().lower()
    if v.startswith("["):
        return v[1:v.find("]")] if "]" in v else v
    if v.count(":") == 1:
        return v.split(":", 1)[0]
    return v  # a bare IPv6 address or a name without port


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False


def host_allowed(host: str | None, allowed: tuple[str, ...], server_ip: str | None = None) -> bool:
    """True when a request's ``Host`` header names this server.

    Parameters
    ----------
    host : str or None
        The ``Host`` header value; None (an HTTP/1.0 request without one) is allowed,
        since browsers always send it and only a browser can be rebound.
    allowed : tuple of str
        Lower-case host names; ``*.example.org`` matches its sub-domains, ``*`` all.
    server_ip : str or None
        The address the connection arrived on (ASGI ``scope["server"][0]``): a client
        that names the server by that address is not being rebound.
    """
    if host is None:
        return True
    name = split_host(host)
    if not name:
        return False
    if "*" in allowed or name in allowed:
        return True
    if any(a.startswith("*.") and name.endswith(a[1:]) for a in allowed):
        return True
    return server_ip is not None and _same_ip(name, server_ip)


def origin_allowed(origin: str | None, host: str | None, allowed_origins: tuple[str, ...]) -> bool:
    """True when a WebSocket handshake's ``Origin`` may use this server.

    Same origin (the ``Origin``'s host and port equal the ``Host`` header), one of
    ``allowed_origins`` or any with ``*`` among them, or no ``Origin`` at all (non-browser
    clients; browsers always send it). ``allowed_origins`` are as
    `fau.serve.Settings.cors_origins` holds them, normalised by
    `fau.serve.settings.cors_origin`, which normalises ``origin`` (and the ``Host``) too.
    """
    if origin is None:
        return True
    o = _origin_or_none(origin)
    if o is None or o == "*":  # "null" (a sandboxed page or a file), a path, garbage
        return False
    if "*" in allowed_origins or o in allowed_origins:
        return True
    return host is not None and o == _origin_or_none(f"{o.split('://', 1)[0]}://{host.strip()}")


def _origin_or_none(value: str) -> str | None:
    """``value`` as `fau.serve.settings.cors_origin` writes an origin; None if it is none."""
    from .settings import cors_origin

    try:
        return cors_origin(value)
    except FauError:
        return None
