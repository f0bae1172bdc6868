"""Small helpers for running TFLite models with LiteRT (``ai_edge_litert``)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["native_stderr_silenced"]


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence C-level writes to stderr (file descriptor 2) for the duration.

    LiteRT writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to the
    process's stderr when an interpreter allocates its tensors; fau's command line
    promises one line on stderr for an error and nothing else.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
