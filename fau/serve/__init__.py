"""fau's web service: REST API, WebSocket live stream and a browser page (``fau serve``).

Needs the optional dependencies: ``pip install 'fau[serve]'``.

>>> from fau.serve import Settings, create_app          # doctest: +SKIP
>>> app = create_app(Settings(data_dir="fau-data"))    # doctest: +SKIP

Run it with ``fau serve`` (`fau.serve.server.run_server`: uvicorn with fau's connection
timeouts) or any ASGI server, e.g. ``uvicorn --factory fau.serve:create_app`` (settings
from ``FAU_*`` variables).

Modules: `app` assembles the application from `routes` (``pages``: ``/``, ``/docs``,
``/redoc``; ``info``, ``images``, ``videos``, ``jobs``, ``stream``), `middleware` (Host
check, token gate, body limits, security headers), `errors`, `auth`, `openapi` and `state`
(the lifespan). The work is in `analysis` (detector pool, large-image gate, face JSON),
`live` (one `fau.video.LiveAnalyzer` per WebSocket), `jobs` (video jobs on
`fau.job.run_video_job`) and `store` (the job table); `settings`, `schemas`, `sniff` and
`hosts` describe the inputs and outputs.
"""

from .app import ApiError, create_app
from .settings import Settings

__all__ = ["create_app", "Settings", "ApiError"]
