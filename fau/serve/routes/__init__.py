"""The routers of the web service, one module per group of routes; `fau.serve.app`
includes them all."""

from . import images, info, jobs, pages, stream, videos

__all__ = ["images", "info", "jobs", "pages", "stream", "videos"]
