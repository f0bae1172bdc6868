"""The one exception type fau raises for bad input or unusable models."""

from __future__ import annotations

__all__ = ["FauError", "ModelFileError", "check_flags"]


class FauError(ValueError):
    """Raised when fau cannot use what it was given.

    Every error that comes from the caller's input (a missing, empty, truncated or
    undecodable file, an image too small or too large, a video without a video
    stream, an unknown option) is a ``FauError`` whose message says what was wrong
    and, where it helps, what would be accepted. The command-line interface prints
    the message on one line and exits with status 2.
    """


class ModelFileError(FauError):
    """A model file of fau's own installation is missing, unreadable or corrupt.

    Not the caller's input: the web service answers it as a server fault (500) rather
    than blaming the request; the command line still prints it on one line (exit 2).
    The remedy is to reinstall fau.
    """


def check_flags(**flags: object) -> None:
    """Raise `FauError` unless every value is True or False (``bool`` or ``numpy.bool_``).

    A flag given as a string such as ``"no"`` would otherwise count as True.
    """
    import numpy as np

    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise FauError(f"{name} must be True or False, got {value!r}")
