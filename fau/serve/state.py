"""What a running service holds (`Services`) and its lifespan: the job database, the
detector pool, stream detectors and the job workers start with the application and
stop with it."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from fastapi import FastAPI
from starlette.requests import HTTPConnection

from ..detector import Detector
from .analysis import Admission, DecodeGate, DetectorPool
from .jobs import JobManager, report_available, video_available
from .live import StreamDetectors
from .settings import Settings
from .store import JobStore

__all__ = ["Services", "services", "make_lifespan", "detector_factory"]

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The parts of a running service (``app.state.services``)."""

    settings: Settings
    store: JobStore
    pool: DetectorPool
    jobs: JobManager
    streams: StreamDetectors
    gate: DecodeGate
    #: ``POST /v1/images`` requests in analysis or waiting for it (at most
    #: ``analysis_threads + max_waiting_images``; more → 503).
    images: Admission
    #: Whether this installation analyses videos and writes HTML reports (found once at
    #: start: finding out imports `fau.report`, which takes ~1.5 s).
    video_available: bool = False
    report_available: bool = False


def services(conn: HTTPConnection) -> Services:
    """Route dependency: the running service of a request or WebSocket."""
    return conn.app.state.services


def detector_factory(s: Settings) -> Callable[[], Detector]:
    """Makes the detectors of every part of the service (one thread each)."""

    def make() -> Detector:
        return Detector(expression_model=s.expression_model, max_faces=s.max_faces, num_threads=1)

    return make


def make_lifespan(s: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The application's lifespan: open everything at start, close it at shutdown."""
    make = detector_factory(s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        s.data_dir.mkdir(parents=True, exist_ok=True)
        store = JobStore(s.database_url)
        pool: DetectorPool | None = None
        manager: JobManager | None = None
        streams = StreamDetectors(s.max_streams, make)
        try:
            pool = await loop.run_in_executor(None, lambda: DetectorPool(s.analysis_threads, make))
            manager = JobManager(s, store, make)
            manager.start()
            video, report = await loop.run_in_executor(
                None, lambda: (video_available(), report_available()))
            images = Admission(s.analysis_threads + s.max_waiting_images)
            app.state.services = Services(s, store, pool, manager, streams,
                                          DecodeGate(s.max_large_decodes), images,
                                          video_available=video, report_available=report)
            log.info("fau serve: %d detector threads, %d job workers, data in %s",
                     s.analysis_threads, s.job_workers, s.data_dir)
            yield
        finally:
            if manager is not None:
                await loop.run_in_executor(None, manager.stop)
            if pool is not None:
                pool.close()
            streams.close()
            store.close()

    return lifespan
