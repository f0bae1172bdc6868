"""fau's web service: REST API, WebSocket live stream and a browser page (``fau serve``).

Needs the optional dependencies: ``pip install 'fau[serve]'``.

>>> from fau.serve import Settings, create_app          # doctest: +SKIP
>>> app = create_app(Settings(data_dir="fau-data"))    # doctest: +SKIP

Run it with ``fau serve`` or any ASGI server, e.g.
``uvicorn --factory fau.serve:create_app`` (settings from ``FAU_*`` variables).
"""

from .app import ApiError, create_app
from .settings import Settings

__all__ = ["create_app", "Settings", "ApiError"]
