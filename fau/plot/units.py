"""The unit of each AU column, for axis labels, legends and captions.

fau's geometric AUs are fractions of the inter-ocular distance (IOD), except the eye
closures (AU45 blink, AU43 eyes closed), which are fractions of the neutral eye opening
(``fau.au.AU_DEFINITIONS``). `fau.au`'s unit registry ``AU_UNITS`` (AU name → unit text)
is used when it names the AU; otherwise the rule above.
"""

from __future__ import annotations

__all__ = ["au_unit", "au_unit_short", "IOD", "EYE_OPENINGS"]

#: Unit text of the IOD-based AUs (0.01 IOD ≈ 0.6 mm on an adult face, ``fau.au.IOD_CM``).
IOD = "IOD"
#: Unit text of AU45 (1 = the eye fully closed, 0 = as open as the neutral face).
EYE_OPENINGS = "neutral eye openings"


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
        ``"IOD"`` (fraction of the inter-ocular distance) or ``"neutral eye openings"``
        (AU45), or the text of ``fau.au.AU_UNITS`` when that registry exists.
    """
    base = _base(name)
    from .. import au

    registry = getattr(au, "AU_UNITS", None)
    if isinstance(registry, dict) and base in registry:
        return str(registry[base])
    return EYE_OPENINGS if base.split("_")[0] in ("AU43", "AU45") else IOD


def au_unit_short(name: str) -> str:
    """A short form of `au_unit` for tight labels: ``"IOD"`` or ``"eye op."`` (eye openings)."""
    unit = au_unit(name)
    return "eye op." if "eye" in unit.lower() else unit
