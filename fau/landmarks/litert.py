"""Small helpers for running TFLite models with LiteRT (``ai_edge_litert``)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

__all__ = ["native_stderr_silenced"]


class _Silencer:
    """Reference-counted redirection of file descriptor 2 to /dev/null.

    The descriptor is the process's, so this state is necessarily process-wide: the
    first thread in redirects it, the last one out restores it (a plain save/restore
    per call let two threads restore each other's /dev/null, and stderr stayed silent).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: int | None = None
        self._fd: int | None = None

    def enter(self) -> bool:
        try:
            fd = sys.stderr.fileno()
        except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured)
            return False
        with self._lock:
            if self._depth == 0:
                sys.stderr.flush()
                self._fd, self._saved = fd, os.dup(fd)
                null = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(null, fd)
                finally:
                    os.close(null)
            self._depth += 1
        return True

    def exit(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._saved is not None and self._fd is not None:
                os.dup2(self._saved, self._fd)
                os.close(self._saved)
                self._saved = None


_SILENCER = _Silencer()


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Silence C-level writes to stderr (file descriptor 2) for the duration.

    LiteRT writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." to the
    process's stderr when an interpreter allocates its tensors; fau's command line
    promises one line on stderr for an error and nothing else. Safe to use from several
    threads at once (stderr is restored when the last of them leaves); while any thread
    is inside, every write to descriptor 2 is discarded, so keep the block short.
    """
    entered = _SILENCER.enter()
    try:
        yield
    finally:
        if entered:
            _SILENCER.exit()
