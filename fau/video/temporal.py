"""Temporal processing of per-frame results: smoothing, neutral baseline, events.

Smoothing
---------
A **One-Euro filter** (Casiez, Roussel & Vogel, CHI 2012): an exponential smoother whose
cut-off frequency rises with the signal's speed, so jitter at rest is damped while fast
movements pass with little lag. It is *causal* (each output uses only the current and
earlier frames) and uses the real time between frames, so it is the same offline and
live, and right for variable frame rates. Parameters: `AU_FILTER` for AU intensities
(units: AU values are fractions of the inter-ocular distance, IOD, so ``beta`` is per
IOD/s); expression probabilities use the same filter with ``beta = 0`` — a plain
exponential smoother with a 1 Hz cut-off (time constant 0.16 s) — so the smoothed
probabilities still sum to 1.

Neutral baseline
----------------
Geometric AUs are 0 on MediaPipe's canonical face, not on a given person's relaxed
face. Each track gets its own baseline from its smoothed AUs: for every AU, the
person's 10th percentile is "the least of that movement they show"; a frame's
*activity* is the sum, over the 17 bilateral AUs, of how far each AU rises above that
low end (in IOD; values below it count 0), so frames with any clear movement (a smile,
a blink, an open mouth) are active and frames where every AU is near its low end are
not. The `BASELINE_QUANTILE`
(20%) least active frames (at least `MIN_BASELINE_FRAMES`) are the person's neutral
frames, and the baseline is their per-AU median. ``AUxx_rel`` =
smoothed AU − baseline, so a small movement of one person stands out from their own
resting face. Offline the rule sees the whole track (it looks ahead); live
(`RunningBaseline`) it uses the last `LIVE_BASELINE_WINDOW_S` seconds seen so far and
gives None until `LIVE_BASELINE_MIN_S` seconds are in (after a gap longer than the
window it keeps the last baseline until the new frames span that long). A person who never relaxes
(e.g. smiles throughout a 2-second clip) gets that expression as baseline: pass
``baseline=(start, end)`` seconds of a known-neutral stretch to override.

Events
------
An episode of one AU is a run of frames where ``AUxx_rel`` stays above a low threshold
and reaches a high one (hysteresis). Thresholds per track and AU: high = max(
`EVENT_MIN_IOD` — `EVENT_MIN_EYE_OPENING` for AU43/AU45 —, `EVENT_K` × noise),
low = high / 2, where noise is the robust spread
(1.4826 × median absolute deviation) of ``AUxx_rel`` over the baseline frames.
Expression episodes use the smoothed probability with fixed thresholds
(`EXPRESSION_HIGH`, `EXPRESSION_LOW`). Each event has ``onset`` (first frame above low),
``apex`` (frame of the maximum), ``offset`` (last frame above low), ``peak`` (the
maximum) and ``duration`` = offset − onset + one frame interval. A gap in the track's
frames longer than `GAP_INTERVALS` frame intervals and than 0.5 s (the face out of view,
e.g. a cut-away: a person keeps their ``track_id`` across it) ends an episode; one that
goes on after the gap is a new event. Rows whose value is NaN (a frame without a
face, or masked) count as frames that are not there: NaN in, NaN out of the filter,
and for events only the gap rule decides. Episodes need at least
`MIN_EVENT_SAMPLES` analysed frames; brief ones (≤ 0.5 s) are kept and flagged
``brief``. AU43 (eyes closed) episodes must stay at or above their high threshold
longer than a blink (`EVENT_MIN_DURATION_S`): shorter closures are the AU45 blink events,
also when the lids stay partly lowered (between low and high) after them.

Speech
------
Talking moves the mouth: without a rule, lips part (AU25), mouth stretch (AU27), lower
lip depressor (AU16), jaw drop (AU26) and chin raiser (AU17) episodes follow the
syllables and flood the event list (docs/benchmarks.md, "Speech-aware events"). When
the table has a ``speaking`` column (`fau.video.speech.add_speech`), every event gets
``during_speech``: True when at least half of its frames (onset to offset) are
``speaking``. By default (``speech_aus="exclude"``) episodes of the articulation AUs
`SPEECH_AUS` (AU16, and FACS's AU17, AU18, AU22-AU28; those fau measures) that are
``during_speech`` are left out; other AUs and expression episodes are kept and flagged.
``speech_aus="keep"`` keeps them all.

What 25-30 fps can show: an analysed frame every 33-40 ms resolves movements lasting
a few frames (≥ ~0.1 s): blinks, brief smiles, brow flashes. Micro-expressions in the
research sense (1/25 to 1/5 s) are studied on 100-200 fps recordings; at 30 fps their
onset and apex fall into one or two frames, and the events here are not validated
micro-expression detection.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd
from ..au import AU_NAMES, AU_UNITS, EYE_OPENING_UNIT
from ..errors import FauError, check_number
from ..expression.labels import EXPRESSIONS
from ..pipeline import TEXT_DTYPE

log = logging.getLogger(__name__)

__all__ = [
    "OneEuro",
    "FilterParams",
    "AU_FILTER",
    "EXPRESSION_FILTER",
    "BILATERAL_AUS",
    "smooth",
    "neutral_baseline",
    "add_temporal",
    "check_baseline",
    "find_events",
    "RunningBaseline",
    "EVENT_COLUMNS",
    "SPEECH_AUS",
    "GAP_INTERVALS",
    "check_video_table",
]

#: AUs measured on both sides at once (the _L/_R columns are left out of activity
#: and events; they still get smoothed and baseline-relative columns).
BILATERAL_AUS: tuple[str, ...] = tuple(a for a in AU_NAMES if "_" not in a)


@dataclass(frozen=True)
class FilterParams:
    """One-Euro parameters: ``min_cutoff`` (Hz), ``beta`` (Hz per unit/s), ``d_cutoff`` (Hz).

    The cut-offs must be finite numbers > 0 and ``beta`` a finite number >= 0 (a
    `FauError` otherwise).
    """

    min_cutoff: float = 1.0
    beta: float = 0.0
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        for name in ("min_cutoff", "beta", "d_cutoff"):
            bound = {"ge": 0.0} if name == "beta" else {"gt": 0.0}
            check_number(f"FilterParams: {name}", getattr(self, name), **bound)


#: AU filter: 1 Hz cut-off at rest (time constant 0.16 s), +10 Hz per IOD/s of speed
#: (a smile onset moves AU12 by ~0.1 IOD in 0.2-0.3 s ≈ 0.4 IOD/s → ~5 Hz, 0.03 s).
#: Chosen by eye on the CREMA-D clips, not fitted.
AU_FILTER = FilterParams(min_cutoff=1.0, beta=10.0, d_cutoff=1.0)
#: Expression probabilities: exponential smoothing with a 1 Hz cut-off (beta = 0).
EXPRESSION_FILTER = FilterParams(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)

#: Fraction of a track's frames taken as its neutral frames (least active first).
BASELINE_QUANTILE = 0.2
#: Percentile of each AU taken as the person's "least of this movement" (activity rule).
ACTIVITY_LOW_PERCENTILE = 10.0
#: At least this many frames form a baseline (all the track's frames if fewer).
MIN_BASELINE_FRAMES = 5
#: Live baseline: the window of past frames it is estimated from (s) ...
LIVE_BASELINE_WINDOW_S = 60.0
#: ... the minimum history before it is given (s) ...
LIVE_BASELINE_MIN_S = 2.0
#: ... and how often it is re-estimated (s).
LIVE_BASELINE_EVERY_S = 1.0

#: Smallest AU event height (fraction of the IOD; 0.02 IOD ≈ 1.3 mm on an adult face).
EVENT_MIN_IOD = 0.02
#: Smallest event height of the eye-closure AUs (AU43, AU45), in neutral eye openings
#: (`fau.au.EYE_OPENING_UNIT`: MediaPipe's canonical face's opening, not the person's):
#: the lids close by a third of the canonical opening, about a quarter of a person's
#: resting one (AU45 at rest is −0.37 on the London neutral photos, docs/action_units.md:
#: an opening of 1.37 canonical ones; 1.29-1.54 for the CREMA-D actor, so 21-26% of his).
#: Blink detectors on the eye aspect ratio put their threshold near 0.2 against ~0.3 for
#: open eyes (Soukupová & Čech 2016, "Real-time eye blink detection using facial
#: landmarks"), a closure of a quarter to a third; 0.02 of an eye opening is lid jitter,
#: not a movement. The low threshold (half of it) is about an eighth of a resting opening.
EVENT_MIN_EYE_OPENING = 0.33
#: Event height in multiples of the track's AU noise (robust SD over baseline frames).
EVENT_K = 4.0
#: Expression episode thresholds on the smoothed probability (0-1).
EXPRESSION_HIGH, EXPRESSION_LOW = 0.5, 0.35
#: Fewest analysed frames in an event.
MIN_EVENT_SAMPLES = 2
#: Events up to this long (s) are flagged ``brief``.
BRIEF_S = 0.5
#: A time gap between two analysed frames of a track longer than this many sampling
#: intervals, and longer than `BRIEF_S`, ends an episode: the face was out of view (a
#: cut-away; `detect_video` keeps a person's ``track_id`` across it) or not found, long
#: enough for a whole brief expression to pass unseen. The ELAN export's speaking runs use
#: the same number of intervals.
GAP_INTERVALS = 2.5
#: Shortest time (s), per AU, that an episode must stay at or above its high threshold
#: without a break to be an event (the rest of the episode, between low and high, does not
#: count). AU43 (eyes closed) is a held closure; a spontaneous blink (AU45) lasts about
#: 0.1-0.4 s (Caffier, Erdmann & Ullsperger 2003, Eur J Appl Physiol 89:319), so shorter
#: AU43 closures are blinks, already reported as AU45 events, and are not listed twice.
EVENT_MIN_DURATION_S: dict[str, float] = {"AU43": 0.5}
_MAD_TO_SD = 1.4826  # normal-consistent scale of the median absolute deviation

#: AUs that speaking moves by itself: the articulation AUs of FACS (chin raiser AU17,
#: lip pucker AU18, funneler AU22, tightener AU23, pressor AU24, lips part AU25, jaw drop
#: AU26, mouth stretch AU27, lip suck AU28; Ekman, Friesen & Hager 2002, FACS manual)
#: and the lower lip depressor AU16, which fau measures as the lower lip's drop relative
#: to the chin and which follows every opening of the jaw in speech. Their episodes
#: during speech are not events by default (module docs).
SPEECH_AUS: tuple[str, ...] = (
    "AU16", "AU17", "AU18", "AU22", "AU23", "AU24", "AU25", "AU26", "AU27", "AU28",
)
#: Share of an event's frames that must be ``speaking`` for it to be ``during_speech``.
DURING_SPEECH_SHARE = 0.5

EVENT_COLUMNS = [
    "track_id", "kind", "name", "onset", "apex", "offset", "duration", "peak",
    "onset_frame", "apex_frame", "offset_frame", "brief", "during_speech",
]


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    """Causal One-Euro filter over a vector of signals sampled at irregular times.

    Each component is filtered on its own: a non-finite value (NaN: the signal was not
    measured in that frame) gives NaN in the output and leaves that component's state as
    it was, and its next value is filtered with the time since its last measured value;
    a component's first measured value starts it. A missing value is thus the same as a
    frame that is not there. A timestamp at or before the previous one holds the
    estimate.

    Parameters
    ----------
    params : FilterParams

    Examples
    --------
    >>> f = OneEuro(AU_FILTER)
    >>> y0 = f(np.array([0.1, 0.0]), 0.0)
    >>> y1 = f(np.array([0.2, 0.0]), 1 / 30)
    """

    def __init__(self, params: FilterParams = AU_FILTER) -> None:
        if not isinstance(params, FilterParams):
            raise FauError(f"params must be a fau.video.FilterParams, got {type(params).__name__}")
        self.p = params
        self.t: float | None = None
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        #: per component, the time (s) of its last measured value (NaN: none yet)
        self._tk: np.ndarray | None = None
        #: every component was measured at the last sample (`_tk` all equal to `t`)
        self._dense = False

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """Filter one sample ``x`` (k,) taken at time ``t`` (s); returns the estimate
        (NaN where ``x`` is).

        Raises
        ------
        FauError
            ``t`` is not a finite number of seconds.
        """
        x = np.asarray(x, dtype=np.float64)
        t = float(t)
        if not math.isfinite(t):
            raise FauError(f"a filter sample needs a finite timestamp (s), got {t!r}")
        have = np.isfinite(x)
        if self.x is None or self.t is None or self._tk is None or self.dx is None:
            self.t = t
            self.x = np.where(have, x, np.nan)
            self.dx = np.zeros_like(self.x)
            self._tk = np.where(have, t, np.nan)
            self._dense = bool(have.all())
            return self.x.copy()
        if t <= self.t:  # repeated/out-of-order timestamp: hold
            return np.where(have, self.x, np.nan)
        if self._dense and have.all():
            # every component measured now and at the last sample (a face in both frames:
            # the usual case): one time step for all, the same filter as below
            dt = t - self.t
            self.dx = self.dx + _alpha(self.p.d_cutoff, dt) * ((x - self.x) / dt - self.dx)
            est = self.x + _alpha(self.p.min_cutoff + self.p.beta * np.abs(self.dx), dt) * (
                x - self.x)
            self.x = np.where(np.isfinite(est), est, x)
            self._tk[:] = t
            self.t = t
            return self.x.copy()
        start = have & ~np.isfinite(self.x)  # a component's first value
        upd = have & ~start
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # dt > 0 where upd (its last value came at or before self.t < t); 1 elsewhere,
            # where the result is not used
            dt = np.where(upd, t - self._tk, 1.0)
            xin = np.where(upd, x, self.x)
            dx = self.dx + _alpha(self.p.d_cutoff, dt) * ((xin - self.x) / dt - self.dx)
            cutoff = self.p.min_cutoff + self.p.beta * np.abs(dx)
            est = self.x + _alpha(cutoff, dt) * (xin - self.x)
        est = np.where(np.isfinite(est), est, xin)
        self.dx = np.where(upd, dx, np.where(start, 0.0, self.dx))
        self.x = np.where(upd, est, np.where(start, x, self.x))
        self._tk = np.where(have, t, self._tk)
        self.t = t
        self._dense = bool(have.all())
        return np.where(have, self.x, np.nan)


def smooth(values: np.ndarray, times: np.ndarray, params: FilterParams = AU_FILTER, *,
           out: np.ndarray | None = None) -> np.ndarray:
    """One-Euro-filter the rows of ``values`` (n, k) taken at ``times`` (n,) seconds.

    The filter runs in float64 whatever the dtype of ``values``; ``out`` (n, k), if
    given, receives the result (rounded to its dtype, e.g. a float32 column block of
    the table) and is returned; otherwise a new float64 array is. NaN values stay NaN
    and are skipped by the filter (`OneEuro`).

    Parameters
    ----------
    values : ndarray, (n, k)
        The signals, one column each (e.g. AU values of one track).
    times : ndarray, (n,)
        Seconds of each row, finite and non-decreasing.
    params : FilterParams
        The filter's parameters (Hz; `AU_FILTER`, `EXPRESSION_FILTER`).
    out : ndarray or None
        Array of the shape of ``values`` that receives the result.

    Returns
    -------
    ndarray, (n, k)
        The smoothed values (``out`` when given, else float64).

    Raises
    ------
    FauError
        ``values`` is not 2-D, ``times`` is not one finite time per row of ``values``,
        ``params`` is not a `FilterParams`.
    ValueError
        ``out`` has another shape than ``values``.
    """
    if np.ndim(values) != 2:
        raise FauError(f"smooth takes values of shape (n, k), one row per time, got shape "
                       f"{np.shape(values)}")
    if out is None:
        out = np.empty(np.shape(values), dtype=np.float64)
    elif out.shape != np.shape(values):
        raise ValueError(f"out has shape {out.shape}, values {np.shape(values)}")
    times = np.asarray(times, dtype=np.float64)
    if times.shape != (len(out),):
        raise FauError(f"smooth needs one timestamp per row: {len(out)} rows, times of "
                       f"shape {times.shape}")
    check_times(times, "smooth")
    f = OneEuro(params)
    for i in range(len(out)):
        out[i] = f(values[i], float(times[i]))
    return out


def check_times(times: np.ndarray, what: str) -> None:
    """`FauError` unless every timestamp is a finite number of seconds (``what`` names
    the function in the message)."""
    bad = ~np.isfinite(np.asarray(times, dtype=np.float64))
    if bad.any():
        i = int(np.argmax(bad))
        raise FauError(f"{what}: {int(bad.sum())} timestamp(s) are not finite seconds "
                       f"(the first at row {i}: {float(times[i])})")


def _activity(au: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
    """Per-frame activity: summed rise of every AU above the person's own low end.

    Activity = Σ over columns of max(0, x − p10), where ``p10`` is the column's 10th
    percentile over the frames (the least of that movement the person shows); in the
    AUs' own unit (fractions of the IOD), so large movements weigh more than jitter.
    ``columns``: the column indices summed (default: all).
    """
    au = np.asarray(au)
    act = np.zeros(len(au))
    if len(au) == 0:
        return act
    # one column at a time, in float64 whatever the table's dtype: an hour of rows
    # needs a few 1-MB columns, not several copies of the whole (n, k) block
    for j in range(au.shape[1]) if columns is None else columns:
        x = au[:, j].astype(np.float64)
        if not np.isfinite(x).any():
            continue  # an all-NaN column adds nothing (nanpercentile would warn)
        x -= np.nanpercentile(x, ACTIVITY_LOW_PERCENTILE)
        np.clip(x, 0.0, None, out=x)
        act += np.nan_to_num(x, nan=0.0, copy=False)
    return act


def neutral_baseline(
    au: np.ndarray, *, bilateral: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A track's neutral AU baseline (see module docs).

    Parameters
    ----------
    au : ndarray (n, k)
        Smoothed AU intensities of one track, one row per analysed frame.
    bilateral : ndarray of bool (k,) or None
        Columns used for the activity score (default: all).

    Returns
    -------
    baseline : ndarray (k,)
        Per-AU median over the neutral frames.
    neutral : ndarray of bool (n,)
        Which frames were taken as neutral.

    Raises
    ------
    FauError
        ``au`` is not 2-D.
    """
    if np.ndim(au) != 2:
        raise FauError(f"neutral_baseline takes AU values of shape (n, k), one row per frame, "
                       f"got shape {np.shape(au)}")
    au = np.asarray(au)
    n = len(au)
    neutral = np.zeros(n, dtype=bool)
    if n == 0:
        return np.full(au.shape[1], np.nan), neutral
    cols = None if bilateral is None else np.flatnonzero(bilateral)
    act = _activity(au, cols)
    # a frame whose AUs are missing (NaN: e.g. masked by the user) is not a resting face:
    # it ranks after every measured frame instead of counting as no movement. An AU with
    # no value in any frame of the track is left out of this (as of the activity): else
    # every frame would rank last and the baseline be the track's first frames.
    used = np.asarray(au) if cols is None else np.asarray(au)[:, cols]
    finite = np.isfinite(used)
    measured = finite.any(axis=0)
    act[~finite[:, measured].all(axis=1)] = np.inf
    k = min(n, max(MIN_BASELINE_FRAMES, int(math.ceil(BASELINE_QUANTILE * n))))
    neutral[np.argsort(act, kind="stable")[:k]] = True
    with warnings.catch_warnings():  # an AU with no value in any neutral frame: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(au[neutral], axis=0), neutral


def check_baseline(baseline: object) -> tuple[float, float] | None:
    """Validate a ``baseline=(start, end)`` window (seconds, 0 <= start < end, finite).

    Raises
    ------
    FauError
        Not two numbers, not finite, negative, or start >= end.
    """
    if baseline is None:
        return None
    try:
        if isinstance(baseline, (str, bytes)) or len(baseline) != 2:  # type: ignore[arg-type]
            raise TypeError
        start, end = baseline  # type: ignore[misc]
    except (TypeError, ValueError):
        raise FauError(f"baseline must be (start, end) in seconds, got {baseline!r}") from None
    # `check_number`: "0" and True were read as 0 s and 1 s
    lo = check_number("baseline start", start, unit="seconds")
    hi = check_number("baseline end", end, unit="seconds")
    assert lo is not None and hi is not None
    if lo < 0 or hi <= lo:
        raise FauError(f"baseline must be (start, end) seconds with 0 <= start < end, got "
                       f"({lo:g}, {hi:g})")
    return lo, hi


def check_video_table(df: object, what: str, needs: tuple[str, ...] = ("track_id", "timestamp"),
                      kind: str = "a detect_video table", empty_ok: bool = True) -> None:
    """`FauError` unless ``df`` is a DataFrame with the columns ``needs``, or (with
    ``empty_ok``) one without rows: the one check of the functions that take a
    `detect_video` table (or another of fau's tables, ``kind``). ``what`` names the function
    or argument in the message, so a wrong table gets one line, not a ``KeyError``.

    Parameters
    ----------
    df : object
        What was given as the table.
    what : str
        The function or argument named in the message.
    needs : tuple of str
        Columns the table must have.
    kind : str
        What the table should be, for the message.
    empty_ok : bool
        A DataFrame without rows passes whatever its columns.
    """
    if not isinstance(df, pd.DataFrame):
        raise FauError(f"{what} takes {kind} (a DataFrame), got {type(df).__name__}")
    missing = [c for c in needs if c not in df.columns]
    if missing and (len(df) or not empty_ok):
        hint = (" (an image table has no tracks or times)" if "timestamp" in missing
                and kind == "a detect_video table" else "")
        raise FauError(f"{what} needs {kind}; this one has no {', '.join(missing)} "
                       f"column{'s' if len(missing) > 1 else ''}{hint}")
    if "track_id" in needs and "track_id" in df.columns and len(df):
        _check_track_ids(df["track_id"], what)


def _check_track_ids(ids: pd.Series, what: str) -> None:
    """`FauError` unless every track id is a whole number (any int dtype, or whole floats)."""
    if pd.api.types.is_integer_dtype(ids.dtype) and not pd.api.types.is_bool_dtype(ids.dtype):
        if not ids.isna().any():
            return
    elif pd.api.types.is_float_dtype(ids.dtype):
        v = ids.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isfinite(v).all() and (v == np.round(v)).all():
            return
    bad = [x for x in ids.drop_duplicates().head(50).tolist()
           if isinstance(x, bool) or not (isinstance(x, (int, np.integer)) or (
               isinstance(x, (float, np.floating)) and np.isfinite(x) and float(x).is_integer()))]
    raise FauError(f"{what}: the track_id column must hold whole numbers (fau's track ids), "
                   f"got {ids.dtype} values such as {bad[:3]!r}")


def add_temporal(
    df: pd.DataFrame,
    *,
    baseline: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Add smoothed, baseline-relative columns to a `detect_video` table (per track).

    Adds ``AUxx_smooth`` and ``AUxx_rel`` for every AU, ``<expression>_smooth`` for the
    eight expression probabilities, ``expression_smooth`` (the most probable smoothed
    class; `fau.pipeline.TEXT_DTYPE`, pd.NA without an expression model or a face) and
    ``neutral_frame`` (True where the frame was part of its track's baseline). See the
    module docs for the filter and rule.

    Parameters
    ----------
    df : DataFrame
        With ``track_id``, ``timestamp`` and the AU / expression columns.
    baseline : (start, end) or None
        Seconds of a known-neutral stretch to use as every track's baseline instead of
        the automatic rule (tracks with no frame in it fall back to the rule).

    Returns
    -------
    DataFrame
        A new table (rows in the input order). The new float columns have the dtype of
        the AU columns (float32 in a `detect_video` table, `fau.video.VIDEO_FLOAT_DTYPE`;
        the filter and the baseline rule compute in float64).
    """
    check_video_table(df, "add_temporal", empty_ok=False)
    baseline = check_baseline(baseline)
    # A shallow copy: pandas' copy-on-write keeps ``df`` unchanged, and an hour of rows
    # (~80 MB) is not duplicated to add a few columns.
    out = df.copy(deep=False)
    aus = [a for a in AU_NAMES if a in df.columns]
    exprs = [e for e in EXPRESSIONS if e in df.columns]
    bil = np.array([a in BILATERAL_AUS for a in aus])
    dtype = _float_dtype(df, aus + exprs)
    # The new float columns in one array, added without a copy (pd.concat under
    # copy-on-write): an hour of video is 26 MB of them in float32, not twice that.
    extra = np.full((len(df), 2 * len(aus) + len(exprs)), np.nan, dtype=dtype)
    au_s, au_rel = extra[:, : len(aus)], extra[:, len(aus) : 2 * len(aus)]
    ex_s = extra[:, 2 * len(aus) :]
    neutral = np.zeros(len(df), dtype=bool)
    times = df["timestamp"].to_numpy(dtype=np.float64)
    check_times(times, "add_temporal")
    au_all = df[aus].to_numpy(dtype=dtype)
    ex_all = df[exprs].to_numpy(dtype=dtype)
    for _, idx in df.groupby("track_id", sort=True).indices.items():
        idx = idx[np.argsort(times[idx], kind="stable")]
        t = times[idx]
        # one track in row order (one person): no copy of its rows, the filter writes
        # straight into the new columns
        whole = len(idx) == len(df) and bool((np.diff(idx) == 1).all())
        if whole:
            s = smooth(au_all, t, AU_FILTER, out=au_s)
            if exprs:
                smooth(ex_all, t, EXPRESSION_FILTER, out=ex_s)
        else:
            s = smooth(au_all[idx], t, AU_FILTER)
            au_s[idx] = s
            if exprs:
                ex_s[idx] = smooth(ex_all[idx], t, EXPRESSION_FILTER)
        base, neu = None, None
        if baseline is not None:
            # the window's frames with a measured AU (a NaN row is a frame without a face)
            sel = (t >= baseline[0]) & (t <= baseline[1]) & np.isfinite(s).any(axis=1)
            if sel.any():
                with warnings.catch_warnings():  # an AU with no value in the window: NaN
                    warnings.simplefilter("ignore", RuntimeWarning)
                    base, neu = np.nanmedian(s[sel], axis=0), sel
            else:
                log.warning("track %s has no frame in the baseline window %g-%g s (it is seen "
                            "%.2f-%.2f s): its automatic neutral baseline is used",
                            df["track_id"].iloc[idx[0]], baseline[0], baseline[1], t[0], t[-1])
        if base is None:
            base, neu = neutral_baseline(s, bilateral=bil)
        if whole:
            np.subtract(s, base, out=au_rel, casting="same_kind")
        else:
            s -= base  # in place: s is not used again
            au_rel[idx] = s
        neutral[idx] = neu
    names = ([f"{a}_smooth" for a in aus] + [f"{a}_rel" for a in aus]
             + [f"{e}_smooth" for e in exprs])
    out = pd.concat([out.drop(columns=[c for c in names if c in out.columns]),
                     pd.DataFrame(extra, columns=names, index=out.index, copy=False)], axis=1)
    label = np.full(len(df), None, dtype=object)
    if exprs and len(df):
        # None where a row's probabilities are missing (no expression model, or a frame
        # without a face), not in every row because some are
        ok = np.isfinite(ex_s).all(axis=1)
        label[ok] = np.asarray(exprs, dtype=object)[ex_s[ok].argmax(axis=1)]
    # the dtype of ``expression`` (`fau.pipeline.TEXT_DTYPE`; missing = pd.NA), not object
    out["expression_smooth"] = pd.array(label, dtype=TEXT_DTYPE)
    out["neutral_frame"] = neutral
    return out


def _float_dtype(df: pd.DataFrame, names: list[str]) -> np.dtype:
    """float32 when every column of ``names`` is float32 (a `detect_video` table), else
    float64."""
    if names and all(df[c].dtype == np.float32 for c in names):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _runs(values: np.ndarray, high: float, low: float,
          gap: np.ndarray) -> list[tuple[int, int, int]]:
    """(onset, apex, offset) index triples of hysteresis episodes in ``values``; ``gap``
    (bool, one fewer than ``values``): True where the time gap after a sample ends an
    episode (`GAP_INTERVALS`)."""
    out = []
    n = len(values)
    above = np.nan_to_num(values, nan=-np.inf) > low
    joined = ~np.asarray(gap, bool)
    i = 0
    while i < n:
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and above[j + 1] and joined[j]:
            j += 1
        seg = values[i : j + 1]
        apex = i + int(np.nanargmax(seg))
        if values[apex] >= high and (j - i + 1) >= MIN_EVENT_SAMPLES:
            out.append((i, apex, j))
        i = j + 1
    return out


def _held(t: np.ndarray, values: np.ndarray, high: float, gap: np.ndarray, i: int, j: int,
          step: float) -> float:
    """Longest time (s) that ``values[i:j + 1]`` (an episode) stays at or above ``high``
    without a gap: the run's span plus one frame interval ``step``, 0 when none is."""
    best, start = 0.0, None
    for m in range(i, j + 1):
        if not values[m] >= high:
            start = None
            continue
        if start is None or gap[m - 1]:
            start = m
        best = max(best, float(t[m] - t[start] + step))
    return best


def _interval(t: np.ndarray) -> float:
    d = np.diff(t)
    d = d[d > 0]
    return float(np.median(d)) if len(d) else 0.0


def find_events(
    df: pd.DataFrame, *, expressions: bool = True, speech_aus: str = "exclude"
) -> pd.DataFrame:
    """AU and expression episodes per track (see module docs for the rule).

    Parameters
    ----------
    df : DataFrame
        A `detect_video` table with the columns of `add_temporal` (and ``speaking``,
        from `fau.video.speech.add_speech`, for the speech rule).
    expressions : bool
        Also find expression episodes (skipped when the probabilities are NaN).
    speech_aus : {"exclude", "keep"}
        ``"exclude"`` (default) leaves out episodes of `SPEECH_AUS` that are
        ``during_speech``; ``"keep"`` keeps every episode.

    Returns
    -------
    DataFrame
        One row per event, columns `EVENT_COLUMNS`: ``kind`` ``"au"`` or
        ``"expression"``, ``name`` (AU or expression), times in seconds, ``peak`` in
        the series' units (fraction of IOD above baseline, or probability), frame
        indices, ``brief`` (duration ≤ 0.5 s), ``during_speech`` (nullable bool: at
        least half of the event's frames ``speaking``; NA when the table has no
        ``speaking`` column). Sorted by onset.
    """
    if speech_aus not in ("exclude", "keep"):
        raise FauError(f"speech_aus must be 'exclude' or 'keep', got {speech_aus!r}")
    check_video_table(df, "find_events")
    rows = []
    if df.empty:
        return _event_table(rows)
    has_speech = "speaking" in df.columns
    times = df["timestamp"].to_numpy(dtype=np.float64)
    check_times(times, "find_events")
    for tid, idx in df.groupby("track_id", sort=True).indices.items():
        # the track's rows by time, one column at a time: an hour of rows is never copied
        # whole (a group's DataFrame would be)
        idx = idx[np.argsort(times[idx], kind="stable")]

        def column(name: str, dtype=np.float64) -> np.ndarray:
            return df[name].to_numpy(dtype=dtype)[idx]

        t = times[idx]
        frames = column("frame", None) if "frame" in df.columns else np.arange(len(idx))
        talk = column("speaking", bool) if has_speech else None
        step = _interval(t)
        longest = max(GAP_INTERVALS * step, BRIEF_S)  # longest time step within an episode
        neutral = (column("neutral_frame", bool) if "neutral_frame" in df.columns
                   else np.ones(len(idx), bool))

        def series() -> Iterator[tuple[str, str, np.ndarray, float, float]]:
            """(kind, name, values, high, low) of each series, made as it is used."""
            for a in BILATERAL_AUS:
                col = f"{a}_rel"
                if col not in df.columns:
                    continue
                v = column(col)
                ref = v[neutral] if neutral.any() else v
                ref = ref[np.isfinite(ref)]
                noise = (_MAD_TO_SD * float(np.median(np.abs(ref - np.median(ref))))
                         if len(ref) else 0.0)
                floor = (EVENT_MIN_EYE_OPENING if AU_UNITS.get(a) == EYE_OPENING_UNIT
                         else EVENT_MIN_IOD)
                high = max(floor, EVENT_K * noise)
                yield "au", a, v, high, high / 2.0
            if expressions:
                for e in EXPRESSIONS:
                    col = f"{e}_smooth"
                    if e == "neutral" or col not in df.columns:
                        continue
                    v = column(col)
                    if not np.isfinite(v).any():
                        continue
                    yield "expression", e, v, EXPRESSION_HIGH, EXPRESSION_LOW

        for kind, name, v, high, low in series():
            # the frames where the series was measured: a NaN row (no face, or masked) is a
            # frame that is not there, so the gap rule, not the row, decides whether it
            # ends an episode
            pos = np.flatnonzero(np.isfinite(v))
            gap = np.diff(t[pos]) > longest
            for i, k, j in _runs(v[pos], high, low, gap):
                during = (
                    pd.NA if talk is None
                    else bool(talk[pos[i:j + 1]].mean() >= DURING_SPEECH_SHARE)
                )
                # AU43: the lids held closed (at event height) long enough, not the whole
                # episode: a blink followed by lowered lids is the AU45 event only
                if kind == "au" and name in EVENT_MIN_DURATION_S and _held(
                        t[pos], v[pos], high, gap, i, j, step) < EVENT_MIN_DURATION_S[name]:
                    continue
                i, k, j = int(pos[i]), int(pos[k]), int(pos[j])
                if (during is True and kind == "au" and name in SPEECH_AUS
                        and speech_aus == "exclude"):
                    continue
                dur = float(t[j] - t[i] + step)
                rows.append((
                    int(tid), kind, name, float(t[i]), float(t[k]), float(t[j]), dur,
                    float(v[k]), int(frames[i]), int(frames[k]), int(frames[j]),
                    dur <= BRIEF_S + 1e-9, during,
                ))
    ev = _event_table(rows)
    ev = ev.sort_values(["onset", "track_id", "kind", "name"], kind="stable")
    return ev.reset_index(drop=True)


def _event_table(rows: list[tuple]) -> pd.DataFrame:
    ev = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    ev["during_speech"] = ev["during_speech"].astype("boolean")
    return ev


class RunningBaseline:
    """Causal (live) neutral baseline of one track: the rule of `neutral_baseline`
    over the last `LIVE_BASELINE_WINDOW_S` seconds, re-estimated every
    `LIVE_BASELINE_EVERY_S` seconds; None until `LIVE_BASELINE_MIN_S` of history.

    After a gap longer than the window (the face left the camera, the stream paused), the
    history starts again; the last baseline is kept until the new history is
    `LIVE_BASELINE_MIN_S` long (it is the same track: the same person's resting face),
    then re-estimated from the frames after the gap.

    Parameters
    ----------
    base : array (len(AU_NAMES),) or None
        A baseline known before (the same person's, from an earlier stretch of the
        stream): given from the first frame, until the history is long enough.
    """

    def __init__(self, base: np.ndarray | None = None) -> None:
        self._hist: deque[tuple[float, np.ndarray]] = deque()
        self._base: np.ndarray | None = None
        self._when: float | None = None
        if base is not None:
            b = np.array(base, dtype=np.float64)
            if b.shape != (len(AU_NAMES),):
                raise FauError(f"base must hold one value per AU ({len(AU_NAMES)},), got "
                               f"shape {b.shape}")
            self._base, self._when = b, -math.inf
        bil = np.array([a in BILATERAL_AUS for a in AU_NAMES])
        self._bilateral = bil

    @property
    def baseline(self) -> np.ndarray | None:
        """The current baseline (None before the first)."""
        return self._base

    def update(self, au_smooth: np.ndarray, t: float) -> np.ndarray | None:
        """Add one smoothed AU vector (len(AU_NAMES),) at time ``t``; current baseline."""
        self._hist.append((t, np.asarray(au_smooth, dtype=np.float64)))
        while self._hist and t - self._hist[0][0] > LIVE_BASELINE_WINDOW_S:
            self._hist.popleft()
        span = t - self._hist[0][0]
        if span < LIVE_BASELINE_MIN_S:
            if self._when is not None:  # a gap emptied the history: due when it is long enough
                self._when = -math.inf
            return self._base
        if self._when is None or t - self._when >= LIVE_BASELINE_EVERY_S:
            au = np.stack([v for _, v in self._hist])
            self._base, _ = neutral_baseline(au, bilateral=self._bilateral)
            self._when = t
        return self._base
