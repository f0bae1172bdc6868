"""Time series reduced to the screen's resolution: min, mean and max per time bin.

A one-hour track at 30 frames/s has 108,000 samples; a chart 900 px wide shows at most a
few hundred distinct x positions. `bin_series` cuts the time axis into equal bins (at
least one sampling interval wide) and keeps each bin's minimum, mean and maximum, so a
brief peak stays visible as the top of a band instead of being averaged away. Series
with no more samples than bins are returned as they are (each sample its own bin).
Statistics are computed by `scipy.stats.binned_statistic`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Binned", "bin_series", "time_bins", "MAX_BINS"]

#: Default number of time bins across a chart (2 px each on a 900 px wide chart).
MAX_BINS = 450
#: A gap (s) longer than this many sampling intervals breaks a raw series' line.
GAP_INTERVALS = 3.0


@dataclass(frozen=True)
class Binned:
    """A series reduced per time bin.

    Attributes
    ----------
    x : ndarray (n,)
        Bin centres (s), or the sample times when the series was not reduced.
    lo, mean, hi : ndarray (n,)
        Minimum, mean and maximum of the finite samples of each bin; NaN where a bin
        has none (the line breaks there).
    count : ndarray (n,)
        Finite samples per bin.
    width : float
        Bin width (s); 0 when the series was not reduced.
    """

    x: np.ndarray
    lo: np.ndarray
    mean: np.ndarray
    hi: np.ndarray
    count: np.ndarray
    width: float

    @property
    def reduced(self) -> bool:
        """True when samples were grouped into bins."""
        return self.width > 0


def sampling_interval(t: np.ndarray) -> float:
    """Median time between distinct sample times (s); 0 when fewer than two."""
    u = np.unique(np.asarray(t, dtype=float)[np.isfinite(t)])
    return float(np.median(np.diff(u))) if len(u) > 1 else 0.0


def time_bins(t0: float, t1: float, *, n: int = MAX_BINS, min_width: float = 0.0) -> np.ndarray:
    """Edges (s) of at most ``n`` equal bins covering ``[t0, t1]``, each ≥ ``min_width`` s."""
    span = max(float(t1) - float(t0), 1e-9)
    width = max(span / max(int(n), 1), float(min_width), 1e-9)
    k = max(int(np.ceil(span / width - 1e-9)), 1)
    edges = float(t0) + width * np.arange(k + 1)
    # k * width can fall short of the span by rounding (13 bins over 14 samples at 30/s):
    # the last edge is t1 itself then, so the last sample keeps its bin
    edges[-1] = max(edges[-1], float(t1))
    return edges


def bin_series(
    t: np.ndarray,
    y: np.ndarray,
    *,
    t_range: tuple[float, float] | None = None,
    n: int = MAX_BINS,
    min_width: float | None = None,
    reduce: bool | None = None,
) -> Binned:
    """Min, mean and max of ``y`` per time bin (see module docs).

    Parameters
    ----------
    t : ndarray
        Sample times (s), any order.
    y : ndarray
        Values (any unit); NaN samples are ignored.
    t_range : (float, float) or None
        Time span to cover (default: the samples' span).
    n : int
        Most bins.
    min_width : float or None
        Narrowest bin (s); default: the samples' sampling interval.
    reduce : bool or None
        True: reduce to bins also a series with no more samples than bins; False: never;
        None (default): when it has more samples than bins. `fau.plot.timeline` reduces
        the tracks of one face alike.

    Returns
    -------
    Binned
    """
    from scipy.stats import binned_statistic

    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if t_range is None:
        t_range = (float(t.min()), float(t.max())) if len(t) else (0.0, 1.0)
    if not len(t) or (len(np.unique(t)) <= n if reduce is None else not reduce):
        order = np.argsort(t, kind="stable")
        t, y = t[order], y[order]
        step = sampling_interval(t)
        if step > 0 and len(t) > 1:
            gaps = np.flatnonzero(np.diff(t) > GAP_INTERVALS * step) + 1
            t = np.insert(t, gaps, t[gaps - 1] + step)
            y = np.insert(y, gaps, np.nan)
        return Binned(t, y, y, y, np.isfinite(y).astype(int), 0.0)
    edges = time_bins(*t_range, n=n,
                      min_width=sampling_interval(t) if min_width is None else min_width)
    stats = [binned_statistic(t, y, statistic=s, bins=edges)[0] for s in ("min", "mean", "max")]
    count = np.histogram(t, bins=edges)[0]
    lo, mean, hi = (np.where(count > 0, s, np.nan) for s in stats)
    return Binned((edges[:-1] + edges[1:]) / 2, lo, mean, hi, count, float(edges[1] - edges[0]))
