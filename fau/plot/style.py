"""Shared look of fau's figures: palette, time axis, figure sizes (matplotlib Figure API).

Figures are built with ``matplotlib.figure.Figure`` directly — never pyplot — so nothing
touches matplotlib's global figure manager or needs a GUI backend; in a notebook a returned
Figure displays itself. Sizes are given in pixels at `DPI`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

__all__ = ["PALETTE", "DPI", "new_figure", "format_time", "span_step", "time_axis",
           "label_colors", "DIVERGING", "check_width", "check_t_range", "au_names",
           "check_faces"]

#: Pixels per inch of fau's figures (72: one SVG user unit per pixel).
DPI = 72
#: Colour-blind-safe categorical palette (Okabe & Ito 2008), then extra distinct colours.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
           "#F0E442", "#000000", "#999999", "#7F3C8D", "#11A579", "#3969AC")
#: Diverging colour map for baseline-relative values (blue below, red above; matplotlib's
#: ColorBrewer "RdBu" reversed, Harrower & Brewer 2003).
DIVERGING = "RdBu_r"
#: Candidate tick steps of a time axis (s): 1 s … 2 h.
_TIME_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


def check_width(width_px: float, least: float, what: str) -> float:
    """``width_px`` as a float, or `FauError` unless it is a finite number of at least
    ``least`` pixels (the figure's fixed margins and labels need that much)."""
    from ..errors import FauError

    try:
        w = float(width_px)
    except (TypeError, ValueError):
        raise FauError(f"{what}: width_px must be a number of pixels, got {width_px!r}") from None
    if not np.isfinite(w) or w < least:
        raise FauError(f"{what}: width_px must be at least {least:g} px (its margins and "
                       f"labels), got {width_px!r}")
    return w


def check_faces(n_rows: int, what: str) -> None:
    """`FauError` when a chart's table has no face rows (``n_rows`` == 0): nothing to draw,
    and an empty chart reads as "no movement" (a video with no face found gives that)."""
    from ..errors import FauError

    if int(n_rows) == 0:
        raise FauError(f"{what}: the table has no face rows (no face was found in the "
                       "analysed frames): nothing to draw")


def au_names(aus) -> list[str] | None:
    """``aus`` as a list of AU names: one name given as a string is that AU (it was read
    letter by letter: "no column for A, U, 1, 2"); None stays None."""
    if aus is None:
        return None
    return [aus] if isinstance(aus, str) else list(aus)


def check_t_range(t_range, what: str) -> tuple[float, float] | None:
    """``t_range`` as ``(start, end)`` floats (None stays None), or `FauError` unless both
    are finite seconds with ``end > start``."""
    from ..errors import FauError

    if t_range is None:
        return None
    a, b = t_range_numbers(t_range, what)
    if b <= a:
        raise FauError(f"{what}: t_range must be finite seconds with end > start, "
                       f"got {t_range!r}")
    return a, b


def t_range_numbers(t_range: object, what: str) -> tuple[float, float]:
    """``t_range`` as two floats, or `FauError` unless it is two finite numbers of seconds
    (`fau.errors.check_number`: not strings or bools); their order is not checked."""
    from ..errors import FauError, check_number

    try:
        if isinstance(t_range, (str, bytes)):
            raise TypeError
        start, end = t_range  # type: ignore[misc]
    except (TypeError, ValueError):
        raise FauError(f"{what}: t_range must be (start, end) in seconds, "
                       f"got {t_range!r}") from None
    return (check_number(f"{what}: t_range start", start, unit="seconds"),  # type: ignore
            check_number(f"{what}: t_range end", end, unit="seconds"))


def new_figure(width_px: float, height_px: float) -> Figure:
    """An empty Figure of the given size in pixels (`DPI`), not registered with pyplot."""
    return Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)


def format_time(s: float, step: float = 1.0) -> str:
    """Seconds as ``"42 s"``, ``"3:05"`` or ``"1:02:05"`` (decimals when ``step`` < 1 s)."""
    if not np.isfinite(s):
        return "?"
    sign = "−" if s < 0 else ""
    dec = 1 if step < 1 else 0
    s = round(abs(float(s)), dec)  # 59.8 s at whole seconds is 1:00, not 0:60
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    sec_txt = f"{sec:0{3 + dec if dec else 2}.{dec}f}"
    if h:
        return f"{sign}{int(h)}:{int(m):02d}:{sec_txt}"
    if m:
        return f"{sign}{int(m)}:{sec_txt}"
    return f"{sign}{s:.{dec}f} s"


def span_step(start: float, end: float) -> float:
    """The `format_time` step for the times of a stretch: tenths of a second when it is
    shorter than 10 s (a 0.6–1.4 s segment is "0.6 s – 1.4 s", not "1 s – 1 s"; an event
    at "3:05.2 (3:04.9 – 3:05.6)"), else whole seconds."""
    return 0.1 if abs(float(end) - float(start)) < 10 else 1.0


def time_axis(ax, t_range: tuple[float, float], *, max_ticks: int = 10,
              labels: bool = True) -> None:
    """Ticks at a round step (1 s … 2 h) with clock labels, on ``ax``'s x axis."""
    span = max(t_range[1] - t_range[0], 1e-9)
    step = next((s for s in _TIME_STEPS if span / s <= max_ticks), _TIME_STEPS[-1])
    ax.xaxis.set_major_locator(MultipleLocator(step))
    if labels:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_time(v, step)))
    else:
        ax.tick_params(axis="x", labelbottom=False)
    ax.set_xlim(*t_range)


def label_colors(labels) -> dict[str, str]:
    """A colour per distinct label (first appearance order): the palette while it lasts,
    grey beyond it."""
    out: dict[str, str] = {}
    for lab in labels:
        if lab not in out:
            out[lab] = PALETTE[len(out)] if len(out) < len(PALETTE) else "#BBBBBB"
    return out
