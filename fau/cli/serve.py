"""``fau serve``: the web service (REST API, WebSocket stream, live page) under uvicorn.

Needs ``pip install 'fau[serve]'``. Every option also reads a ``FAU_*`` variable
(see `fau.serve.Settings.from_env`); options given on the command line win.
"""

from __future__ import annotations

import argparse
import errno
import logging

from ..errors import FauError
from .common import add_detector_options

__all__ = ["register", "run", "settings_from_args", "check_listen", "REQUIRES"]

log = logging.getLogger(__name__)

#: Packages this command needs (the ``serve`` extra); `fau.cli` checks they are
#: installed without importing them, so ``fau --help`` stays fast.
REQUIRES: tuple[str, ...] = ("fastapi", "uvicorn")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``serve`` sub-command to ``sub``."""
    p = sub.add_parser(
        "serve", help="run the web service and live page",
        description="Serve the REST API (/v1/...), the WebSocket live stream (/v1/stream) and "
        "the live camera page (/). Defaults come from FAU_* environment variables.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 for all interfaces)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--db", metavar="URL", default=None,
                   help="job database URL (default sqlite:///DATA_DIR/fau.db; e.g. "
                   "postgresql+psycopg://user:pw@host/db; env FAU_DB_URL or DATABASE_URL)")
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder for the database and job files (default ./fau-data; env FAU_DATA_DIR)")
    p.add_argument("--max-upload-mb", type=float, metavar="N", default=None,
                   help="largest upload in MiB (default 100; larger → 413)")
    p.add_argument("--max-video-s", type=float, metavar="N", default=None,
                   help="longest video in seconds (default 600; longer → 422)")
    p.add_argument("--retention-h", type=float, metavar="N", default=None,
                   help="hours to keep finished jobs and their files (default 24; 0 = keep)")
    p.add_argument("--token", default=None,
                   help="require 'Authorization: Bearer TOKEN' on /v1 (prefer env FAU_TOKEN: "
                   "command lines are visible to other users)")
    p.add_argument("--cors", metavar="ORIGIN", action="append", default=None,
                   help="allow this browser origin (repeatable; default: CORS off)")
    add_detector_options(p, default_model=None, default_max_faces=None)
    p.add_argument("--threads", type=int, default=None,
                   help="detector threads for images and live frames (default: cores, at most 4)")
    p.add_argument("--job-workers", type=int, default=None,
                   help="background video-job threads (default 1)")
    p.add_argument("--max-queued-jobs", type=int, metavar="N", default=None,
                   help="most video jobs waiting to run (default 20; more uploads → 429; "
                   "env FAU_MAX_QUEUED_JOBS)")
    p.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace):
    """`fau.serve.Settings` from parsed arguments over ``FAU_*`` variables."""
    from ..serve import Settings

    if args.token is not None and not args.token.strip():
        raise FauError("--token is empty (an unset variable in --token \"$VAR\"?); give a token, "
                       "or leave --token out to run without one")
    overrides = dict(
        db_url=args.db, data_dir=args.data_dir, max_upload_mb=args.max_upload_mb,
        max_video_s=args.max_video_s, retention_h=args.retention_h, token=args.token,
        cors_origins=tuple(args.cors) if args.cors else None, max_faces=args.max_faces,
        analysis_threads=args.threads, job_workers=args.job_workers,
        max_queued_jobs=args.max_queued_jobs,
    )
    settings = Settings.from_env(**overrides)
    if args.model is not None:
        settings = settings.with_(expression_model=None if args.model == "none" else args.model)
    return settings


def run(args: argparse.Namespace) -> int:
    """Run ``fau serve`` until interrupted; returns the exit status."""
    from ..serve import create_app
    from ..serve.server import run_server

    if not 0 < args.port < 65536:
        raise FauError(f"--port must be 1-65535, got {args.port}")
    settings = settings_from_args(args)
    if settings.expression_model is not None:
        from ..resources import expression_model_path

        try:  # fail now with a hint, not later inside the server's startup
            expression_model_path(settings.expression_model)
        except FauError as exc:
            raise FauError(f"{exc} (or serve action units only: --model none)") from None
    _check_storage(settings)
    check_listen(args.host, args.port)  # uvicorn would find out after the app's startup
    app = create_app(settings)
    log.warning("fau serve on http://%s:%d (data: %s, auth: %s, CORS: %s)", args.host, args.port,
                settings.data_dir, "token" if settings.token else "off",
                ", ".join(settings.cors_origins) or "off")
    # uvicorn with fau's connection timeouts (header deadline, keep-alive, WebSocket cap)
    run_server(app, settings, host=args.host, port=args.port,
               log_level="info" if args.verbose else "warning")
    return 0


def check_listen(host: str, port: int) -> None:
    """Fail now, in one line, if the server could not listen on ``host:port``.

    uvicorn starts the application (models, video-job threads) before it binds, and a
    port in use or a host that is no address of this machine then ended ``fau serve``
    with exit status 3 after the startup. Each address of ``host`` is bound and released
    here, as asyncio binds them (``SO_REUSEADDR``, IPv6 only on IPv6 sockets).

    Parameters
    ----------
    host : str
        ``--host``: a name or address of this machine.
    port : int
        ``--port``.

    Raises
    ------
    FauError
        ``host`` does not resolve, or one of its addresses cannot be bound (in use, not
        this machine's, a port under 1024 without the privilege).
    """
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise FauError(f"--host {host!r} is not an address of this machine "
                       f"({getattr(exc, 'strerror', None) or exc})") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == getattr(socket, "AF_INET6", None) and hasattr(socket, "IPV6_V6ONLY"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                hint = ("another server (fau serve?) listens there: choose another --port"
                        if exc.errno == errno.EADDRINUSE else "choose another --host or --port")
                raise FauError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                               f"{hint}") from None


def _check_storage(settings) -> None:
    """Fail now, in one line, on a data folder or job database the server could not open
    (inside the server's startup the same error is a long traceback and exit status 3)."""
    import os

    from ..serve.store import JobStore

    folder = settings.data_dir
    if folder.exists() and not folder.is_dir():
        raise FauError(f"--data-dir {str(folder)!r} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FauError(f"--data-dir {str(folder)!r} cannot be created: {exc.strerror or exc}"
                       ) from None
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise FauError(f"--data-dir {str(folder)!r} is not a writable folder")
    JobStore(settings.database_url).close()  # a bad URL, a missing driver: FauError
