"""Hover texts for figures that become SVG (the HTML report).

A plotting function given a ``tooltips`` dict gives each artist with a hover text a
group id (``gid``, written by matplotlib's SVG backend as ``<g id=...>``) and records the
text under that id; `fau.report.svg.figure_svg` turns the groups into SVG ``<title>``
elements, which browsers show on hover. In a notebook the dict is simply not passed.
"""

from __future__ import annotations

__all__ = ["add_tip", "TIP_PREFIX"]

#: Prefix of the group ids that carry a hover text.
TIP_PREFIX = "fautip"


def add_tip(tooltips: dict[str, str] | None, artist, text: str) -> None:
    """Attach hover ``text`` to ``artist`` (a matplotlib Artist) when ``tooltips`` is given."""
    if tooltips is None or artist is None:
        return
    key = f"{TIP_PREFIX}{len(tooltips)}"
    artist.set_gid(key)
    tooltips[key] = text
