"""Configuration of the web service (`Settings`), from arguments or ``FAU_*`` variables."""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from ..errors import FauError, check_number
from ..resources import EXPRESSION_MODELS

__all__ = ["Settings", "DEFAULT_DATA_DIR", "cors_origin", "check_token"]

#: Default folder for the job database, uploaded videos and results (relative to the
#: working directory of the server process).
DEFAULT_DATA_DIR = "fau-data"
#: Default largest request body (MiB): an upload plus its multipart framing.
DEFAULT_MAX_UPLOAD_MB = 100.0
#: Default longest accepted video (seconds of media time).
DEFAULT_MAX_VIDEO_S = 600.0
#: Default time (hours) after which finished jobs, their uploads and results are deleted.
DEFAULT_RETENTION_H = 24.0
#: Largest WebSocket frame (bytes): a 1920×1080 JPEG at quality 95 is about 1 MB.
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024
#: A running job whose worker has not written a heartbeat for this long (seconds) is
#: treated as interrupted (the worker writes one at least every `HEARTBEAT_S`).
DEFAULT_STALE_AFTER_S = 30.0
#: How many times a job is started before an interruption marks it failed (1 = no
#: retry; 2 = one retry after a crash).
DEFAULT_MAX_ATTEMPTS = 2
#: Host names (``Host`` header, without port) answered by default: loopback names, and
#: ``testserver`` (Starlette's TestClient). The address a connection arrived on is
#: always accepted too (e.g. the bind host of ``fau serve --host 192.0.2.7``). Anything
#: else gets 400 unless listed (DNS-rebinding protection; docs/deploy.md).
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1", "testserver")
#: Seconds a client has to send a request's complete headers (slow-header clients are
#: disconnected); Apache's mod_reqtimeout allows 20-40 s, we answer a local API faster.
DEFAULT_HEADER_TIMEOUT_S = 10.0
#: Seconds a request body may stall (no bytes arriving) before the request is answered
#: 408 and the connection closed.
DEFAULT_BODY_TIMEOUT_S = 10.0
#: Most WebSocket streams at once; each holds its own detector (~19 MB, measured) and
#: tracking state. More connections are closed with code 1013 (try again later).
DEFAULT_MAX_STREAMS = 8
#: Seconds a WebSocket stream may go without a frame before the server closes it (code
#: `fau.serve.live.CLOSE_IDLE`), so that clients that connect and send nothing cannot
#: hold every stream slot. The page sends ~15 frames/s; Chrome throttles the timers of a
#: tab hidden for over 5 minutes to one wake-up a minute ("intensive wake-up throttling",
#: developer.chrome.com/blog/timer-throttling-in-chrome-88), so a hidden page still
#: sends a frame a minute: the limit is twice that.
DEFAULT_STREAM_IDLE_S = 120.0
#: Images over `LARGE_IMAGE_PIXELS` (read from the file header) decoded at once: each
#: costs up to ~3 bytes per pixel and more while it is analysed (a 100 MP PNG: ~1 GB).
DEFAULT_MAX_LARGE_DECODES = 1
#: Most video jobs waiting in the queue (``queued``, not yet running); more uploads are
#: answered 429. Each waiting job keeps its upload on disk (up to ``max_upload_mb``), so
#: the default holds at most 20 × 100 MiB ≈ 2 GiB of waiting uploads.
DEFAULT_MAX_QUEUED_JOBS = 20
#: Most ``POST /v1/images`` requests waiting for a detector thread (besides the
#: ``analysis_threads`` being analysed); more → 503. An image takes ~0.1 s of one thread
#: (fau's benchmarks), so the last one waits ~32 × 0.1 s ÷ threads, and the waiting
#: bodies, in memory, are at most 32 × ``max_upload_mb``.
DEFAULT_MAX_WAITING_IMAGES = 32
#: Free space (MiB) the data folder's disk must keep besides an upload before it is
#: stored (else 507): room for the results and reports of running jobs (a 600 s video's
#: results, events and report are a few MiB) and for the job database.
DEFAULT_MIN_FREE_MB = 1024.0


def cors_origin(value: str) -> str:
    """A ``--cors`` origin as browsers send it in the ``Origin`` header, or `FauError`.

    ``scheme://host[:port]``, lower case, without a trailing ``/`` or the scheme's default
    port (``HTTPS://App.example:443/`` → ``https://app.example``); ``*`` (any origin) is
    kept. CORS compares the header with each origin letter by letter, so a path, a
    missing scheme or a trailing ``/`` would match no request.

    >>> cors_origin("HTTPS://App.example:443/"), cors_origin("http://localhost:3000")
    ('https://app.example', 'http://localhost:3000')
    """
    text = str(value).strip()
    if text == "*":
        return text
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or parts.path not in ("", "/") or parts.query or parts.fragment
            or parts.username is not None or port == -1):
        raise FauError(f"CORS origin {text!r} is not scheme://host[:port] (e.g. "
                       "https://app.example or http://localhost:3000, no path), as a browser "
                       "sends it in the Origin header")
    scheme = parts.scheme.lower()
    host = parts.hostname
    if ":" in host:  # IPv6
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def check_token(token: object) -> str | None:
    """``token`` without surrounding white space (None when nothing is left), or `FauError`
    unless it is a string of printable ASCII.

    A client's ``Authorization`` header loses such white space (`fau.serve.auth.bearer_token`
    strips it), and HTTP carries header values as bytes that servers read as Latin-1, so a
    token with spaces around it, or with a letter outside ASCII (``ä``), matched no request:
    every call was 401. The message does not repeat the token (a secret).
    """
    if not isinstance(token, str):
        raise FauError(f"token must be a string, got {type(token).__name__}")
    text = token.strip()
    bad = sorted({c for c in text if not " " <= c <= "~"})
    if bad:
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad[:5])
        raise FauError(f"token must be printable ASCII (letters, digits, punctuation) so that "
                       f"an Authorization header can carry it; it holds {shown}")
    return text or None


def _default_threads() -> int:
    """Detector threads for images and live frames: one per core, at most 4."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, n))


@dataclass(frozen=True)
class Settings:
    """Everything `fau.serve.create_app` needs.

    Parameters
    ----------
    data_dir : Path
        Folder for the SQLite database (when ``db_url`` is not given) and for each job's
        files (``<data_dir>/jobs/<job id>/``). Created when missing.
    db_url : str or None
        SQLAlchemy database URL for the job table; default
        ``sqlite:///<data_dir>/fau.db``. PostgreSQL: ``postgresql+psycopg://user:pw@host/db``
        (needs ``pip install 'psycopg[binary]'``); Heroku's ``postgres://`` form is
        accepted and rewritten.
    max_upload_mb : float
        Largest request body in MiB (images, videos and segment files); larger → 413.
    max_video_s : float
        Longest video in seconds of media time; longer → 422.
    retention_h : float
        Hours after a job finishes (or fails) before it and its files are deleted;
        0 keeps everything.
    token : str or None
        When set (printable ASCII, surrounding white space dropped; `check_token`), every
        ``/v1`` route needs ``Authorization: Bearer <token>`` (the
        WebSocket also accepts ``?token=<token>``, since browsers cannot set headers on it).
    cors_origins : tuple of str
        Origins allowed by CORS; empty (default) sends no CORS headers at all. The same
        origins may open the WebSocket from their pages (besides the server's own page).
        Each is ``scheme://host[:port]`` (`cors_origin` normalises it and refuses others).
    allowed_hosts : tuple of str
        ``Host`` header values (without port) the server answers; ``*.example.org``
        matches sub-domains, ``*`` anything. Default `DEFAULT_ALLOWED_HOSTS`, plus
        always the address the connection arrived on.
    header_timeout_s, body_timeout_s : float
        Seconds for a client to send its request headers (``fau serve``'s HTTP protocol
        enforces it) and longest pause in a request body (→ 408).
    max_streams : int
        Most concurrent WebSocket streams (more → close code 1013).
    stream_idle_s : float
        Seconds a stream may go without a frame (binary message) before the server
        closes it with code 4408 and frees its slot.
    max_queued_jobs : int
        Most video jobs waiting to run; another upload → 429 with ``Retry-After``.
    max_waiting_images : int
        Most image requests waiting for a detector thread; another → 503 with
        ``Retry-After``.
    min_free_mb : float
        MiB the data folder's disk must have free besides an upload (else 507); 0 only
        needs room for the upload itself.
    max_large_decodes : int
        Images over `fau.serve.analysis.LARGE_IMAGE_PIXELS` decoded and analysed at once.
    expression_model : {"ferplus", "fer2013", "geometric"} or None
        Expression model of every detector; None measures AUs only (scores are null).
    max_faces : int
        Most faces analysed per image or frame.
    analysis_threads : int
        Detectors (one per thread; a `fau.Detector` is not thread-safe) shared by
        ``POST /v1/images`` and the WebSocket stream.
    job_workers : int
        Background video-job threads, each with its own detector.
    max_frame_bytes : int
        Largest WebSocket message (bytes); larger closes the socket with code 1009.
    stale_after_s : float
        Seconds without a heartbeat after which a running job counts as interrupted.
    max_attempts : int
        Starts of a job before an interruption marks it failed (2 = retried once).
    """

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    db_url: str | None = None
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    max_video_s: float = DEFAULT_MAX_VIDEO_S
    retention_h: float = DEFAULT_RETENTION_H
    token: str | None = None
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    max_streams: int = DEFAULT_MAX_STREAMS
    stream_idle_s: float = DEFAULT_STREAM_IDLE_S
    max_large_decodes: int = DEFAULT_MAX_LARGE_DECODES
    max_queued_jobs: int = DEFAULT_MAX_QUEUED_JOBS
    min_free_mb: float = DEFAULT_MIN_FREE_MB
    max_waiting_images: int = DEFAULT_MAX_WAITING_IMAGES
    expression_model: str | None = "ferplus"
    max_faces: int = 32  # as fau.Detector: group photos (issue 10)
    analysis_threads: int = field(default_factory=_default_threads)
    job_workers: int = 1
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    stale_after_s: float = DEFAULT_STALE_AFTER_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "cors_origins",
                           tuple(dict.fromkeys(cors_origin(o) for o in self.cors_origins)))
        object.__setattr__(self, "allowed_hosts",
                           tuple(h.strip().lower() for h in self.allowed_hosts if h.strip()))
        if self.db_url and self.db_url.startswith("postgres://"):
            object.__setattr__(self, "db_url", "postgresql+psycopg://" + self.db_url[11:])
        if self.token is not None:
            object.__setattr__(self, "token", check_token(self.token))
        if self.expression_model is not None and self.expression_model not in EXPRESSION_MODELS:
            raise FauError(
                f"expression_model must be one of {EXPRESSION_MODELS} or None, "
                f"got {self.expression_model!r}"
            )
        # finite: an infinite max_upload_mb had no byte count (OverflowError in create_app),
        # a NaN retention_h kept every job (NaN > 0 is False) and broke /v1/info's JSON
        units = {"max_upload_mb": "MiB", "max_video_s": "seconds", "header_timeout_s": "seconds",
                 "body_timeout_s": "seconds", "stream_idle_s": "seconds"}
        for name, unit in units.items():
            check_number(name, getattr(self, name), unit=unit, gt=0.0)
        check_number("retention_h", self.retention_h, unit="hours (0 keeps every job)", ge=0.0)
        check_number("min_free_mb", self.min_free_mb, unit="MiB", ge=0.0)
        # > two heartbeats (jobs.HEARTBEAT_S = 1 s)
        check_number("stale_after_s", self.stale_after_s, unit="seconds", gt=2.0)
        least = {"max_faces": 1, "analysis_threads": 1, "job_workers": 1, "max_attempts": 1,
                 "max_streams": 1, "max_large_decodes": 1, "max_frame_bytes": 1024,
                 "max_queued_jobs": 1, "max_waiting_images": 0}
        for name, low in least.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise FauError(f"{name} must be a whole number of at least {low}, got {value!r}")

    @property
    def database_url(self) -> str:
        """The job database URL (``db_url`` or the SQLite file in ``data_dir``)."""
        return self.db_url or f"sqlite:///{(self.data_dir / 'fau.db').resolve()}"

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mb`` in bytes."""
        return int(float(self.max_upload_mb) * 1024 * 1024)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        """Settings from ``FAU_*`` environment variables, then ``overrides`` (not None).

        Variables: ``FAU_DATA_DIR``, ``FAU_DB_URL`` (or ``DATABASE_URL``),
        ``FAU_MAX_UPLOAD_MB``, ``FAU_MAX_VIDEO_S``, ``FAU_RETENTION_H``, ``FAU_TOKEN``,
        ``FAU_CORS`` (comma-separated origins), ``FAU_ALLOWED_HOSTS`` (comma-separated
        host names, replacing the default list), ``FAU_MODEL`` (``ferplus``, ``fer2013``,
        ``geometric`` or ``none``), ``FAU_MAX_FACES``, ``FAU_THREADS``, ``FAU_JOB_WORKERS``,
        ``FAU_STALE_AFTER_S``, ``FAU_HEADER_TIMEOUT_S``, ``FAU_BODY_TIMEOUT_S``,
        ``FAU_MAX_STREAMS``, ``FAU_STREAM_IDLE_S``, ``FAU_MAX_QUEUED_JOBS``,
        ``FAU_MIN_FREE_MB``, ``FAU_MAX_WAITING_IMAGES``.
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}

        def num(var: str, key: str, kind: type) -> None:
            if env.get(var):
                try:
                    values[key] = kind(env[var])
                except ValueError:
                    raise FauError(f"{var}={env[var]!r} is not a {kind.__name__}") from None

        if env.get("FAU_DATA_DIR"):
            values["data_dir"] = Path(env["FAU_DATA_DIR"])
        url = env.get("FAU_DB_URL") or env.get("DATABASE_URL")
        if url:
            values["db_url"] = url
        num("FAU_MAX_UPLOAD_MB", "max_upload_mb", float)
        num("FAU_MAX_VIDEO_S", "max_video_s", float)
        num("FAU_RETENTION_H", "retention_h", float)
        num("FAU_MAX_FACES", "max_faces", int)
        num("FAU_THREADS", "analysis_threads", int)
        num("FAU_JOB_WORKERS", "job_workers", int)
        num("FAU_STALE_AFTER_S", "stale_after_s", float)
        num("FAU_HEADER_TIMEOUT_S", "header_timeout_s", float)
        num("FAU_BODY_TIMEOUT_S", "body_timeout_s", float)
        num("FAU_MAX_STREAMS", "max_streams", int)
        num("FAU_STREAM_IDLE_S", "stream_idle_s", float)
        num("FAU_MAX_QUEUED_JOBS", "max_queued_jobs", int)
        num("FAU_MIN_FREE_MB", "min_free_mb", float)
        num("FAU_MAX_WAITING_IMAGES", "max_waiting_images", int)
        if env.get("FAU_TOKEN"):
            values["token"] = env["FAU_TOKEN"]
        if env.get("FAU_CORS"):
            values["cors_origins"] = tuple(o.strip() for o in env["FAU_CORS"].split(",") if o.strip())
        if env.get("FAU_ALLOWED_HOSTS"):
            values["allowed_hosts"] = tuple(h for h in env["FAU_ALLOWED_HOSTS"].split(",") if h.strip())
        if env.get("FAU_MODEL"):
            m = env["FAU_MODEL"].strip().lower()
            values["expression_model"] = None if m == "none" else m
        for key, value in overrides.items():
            if value is not None:
                values[key] = value
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> "Settings":
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
