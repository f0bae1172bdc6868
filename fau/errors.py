"""The one exception type fau raises for bad input or unusable models."""

from __future__ import annotations

import math
import numbers
from decimal import Decimal

__all__ = ["FauError", "ModelFileError", "check_flags", "check_number"]


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


def check_number(
    name: str, value: object, *, unit: str = "", gt: float | None = None,
    ge: float | None = None, none_ok: bool = False, inf_ok: bool = False,
) -> float | None:
    """``value`` as a float, or `FauError` naming ``name`` and the value: the one check that
    an argument is a (finite) number, e.g. of seconds.

    Accepted: real numbers (``int``, ``float``, numpy's integer and float scalars,
    ``fractions.Fraction``) and ``decimal.Decimal``; not ``bool`` (True is not 1 s), not
    strings (``"5"``), not arrays.

    Parameters
    ----------
    name : str
        The argument as the message names it (``"max_s"``, ``"FilterParams: beta"``).
    value : object
        What the caller gave.
    unit : str
        Unit for the message (``"seconds"`` → "a finite number of seconds"); "" for none.
    gt, ge : float or None
        ``value`` must be greater than ``gt`` / at least ``ge`` (None: no bound).
    none_ok : bool
        None is accepted (and returned).
    inf_ok : bool
        ``+inf`` and ``-inf`` are accepted (subject to ``gt``/``ge``); NaN never is.

    Returns
    -------
    float or None
        ``float(value)``; None for None with ``none_ok``.

    Raises
    ------
    FauError
        "``name`` must be [None or ]a [finite ]number[ of ``unit``][ > ``gt``][ >= ``ge``],
        got ``value!r``".

    Examples
    --------
    >>> check_number("max_s", 2, unit="seconds", ge=0)
    2.0
    >>> check_number("max_s", float("nan"), unit="seconds", ge=0)
    Traceback (most recent call last):
    ...
    fau.errors.FauError: max_s must be a finite number of seconds >= 0, got nan
    """
    if value is None and none_ok:
        return None
    f = math.nan
    if (isinstance(value, (numbers.Real, Decimal)) and not isinstance(value, bool)):
        try:
            f = float(value)
        except (ValueError, OverflowError):  # Decimal("sNaN"); an int beyond float's range
            f = math.nan if isinstance(value, Decimal) else (math.inf if value > 0 else -math.inf)
    ok = (not math.isnan(f) and (inf_ok or math.isfinite(f))
          and (gt is None or f > gt) and (ge is None or f >= ge))
    if not ok:
        rule = "".join(f" {op} {bound:g}" for op, bound in ((">", gt), (">=", ge))
                       if bound is not None)
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."  # a 400-digit int
        raise FauError(f"{name} must be {'None or ' if none_ok else ''}a "
                       f"{'' if inf_ok else 'finite '}number{' of ' + unit if unit else ''}"
                       f"{rule}, got {shown}")
    return f
