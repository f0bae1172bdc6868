"""fau: facial action units and explainable expression scores from a face mesh.

>>> import fau
>>> det = fau.Detector()                          # doctest: +SKIP
>>> det.detect_image("photo.jpg")                 # doctest: +SKIP

fau measures visible facial movements and scores how an expression would likely be
read by people; it does not know what anyone feels. See docs/responsible-use.md.

The names below are imported on first use (``import fau`` itself loads no model, no
pandas and no OpenCV; see docs/architecture.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import FauError

__version__ = "0.1.0"

#: Public name → the module that defines it (imported when the name is first used).
_LAZY: dict[str, str] = {
    "Detector": "fau.detector",
    "AU_NAMES": "fau.au.geometry",
    "EXPRESSIONS": "fau.expression.labels",
    "EXPRESSION_MODELS": "fau.resources",
    "load_image": "fau.io",
    "run_batch": "fau.batch.runner",
    "run_video_job": "fau.job",
    "JobOutputs": "fau.job",
    "Pipeline": "fau.pipeline",
}

#: Subpackages and modules reachable as ``fau.<name>`` after a plain ``import fau`` (the
#: documented ``fau.video.read_segments``, ``fau.files.write_table``, ...), imported on
#: first use like the names above.
_SUBMODULES = frozenset({"au", "audio", "batch", "export", "expression", "files", "io", "job",
                         "landmarks", "limits", "pipeline", "plot", "report", "resources",
                         "serve", "video"})

__all__ = ["Detector", "FauError", "AU_NAMES", "EXPRESSIONS", "EXPRESSION_MODELS",
           "load_image", "run_batch", "run_video_job", "JobOutputs", "Pipeline",
           "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .au.geometry import AU_NAMES
    from .batch.runner import run_batch
    from .detector import Detector
    from .expression.labels import EXPRESSIONS
    from .io import load_image
    from .job import JobOutputs, run_video_job
    from .pipeline import Pipeline
    from .resources import EXPRESSION_MODELS


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")  # binds fau.<name> itself
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fau' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
