"""The unit of each AU column, for axis labels, legends and captions.

fau's geometric AUs are fractions of the inter-ocular distance (IOD), except the eye
closures (AU45 blink, AU43 eyes closed), which are fractions of the neutral eye opening;
the unit of each AU comes from `fau.au`'s registry ``AU_UNITS``.
"""

from __future__ import annotations

__all__ = ["au_unit", "au_unit_short"]


def _base(name: str) -> str:
    """``"AU12_rel"`` → ``"AU12"``; ``"AU12_L"`` stays (a side has the AU's unit)."""
    for suffix in ("_rel", "_smooth", "_mean", "_peak"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def au_unit(name: str) -> str:
    """The unit of an AU column (``"AU45"``, ``"AU45_rel"``, ``"AU12_mean"`` …).

    Parameters
    ----------
    name : str
        An AU name, optionally with a ``_rel``/``_smooth``/``_mean``/``_peak`` suffix.

    Returns
    -------
    str
        ``fau.au.AU_UNITS`` of the AU: ``"IOD"`` (fraction of the inter-ocular distance)
        or ``"neutral eye openings"``; IOD for a name the registry does not know.
    """
    from ..au import AU_UNITS, IOD_UNIT

    return str(AU_UNITS.get(_base(name), IOD_UNIT))


def au_unit_short(name: str) -> str:
    """A short form of `au_unit` for tight labels: ``"IOD"`` or ``"eye op."`` (eye openings)."""
    unit = au_unit(name)
    return "eye op." if "eye" in unit.lower() else unit
