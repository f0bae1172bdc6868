"""Who is speaking when: the audio's voice activity combined with each face's lip motion.

The audio (`fau.audio.voice_activity`: Silero VAD on the container's first audio track)
says *when* someone speaks; the lips say *who*. Per track, on the rows of a
`detect_video` table:

Lip motion
----------
``lip_motion`` (fraction of the inter-ocular distance, IOD): the lips' opening
(``AU25``, the inner-lip gap) minus its centred running mean over `LIP_DETREND_S`
(which removes slow changes: a smile, a held open mouth), then the root mean square
of that over a centred window of `LIP_RMS_S`. Speech opens and closes the lips several
times a second (syllables at ~4-5 Hz), so ``lip_motion`` rises while a person talks;
jitter of a still face is a few thousandths of an IOD. The windows are in seconds (the
same at any frame rate; below ~10 analysed frames/s syllables are not resolved).

Combination
-----------
With an audio track (``voice_prob`` = Silero's speech probability of the 32-ms chunk
holding the frame's timestamp):

- ``speech_prob`` = ``voice_prob`` × *lip gate*, where the lip gate is a logistic of the
  largest ``lip_motion`` within ±`LIP_GATE_S`/2 around the frame (midpoint
  `LIP_GATE_IOD`, scale `LIP_GATE_SCALE_IOD`): a face whose lips did not move while
  the voice was heard (someone else speaking, off camera or beside them) is not
  speaking.
- ``speaking`` = the frame lies in one of the audio's speech runs (`fau.audio.speech_runs`:
  Silero's own hysteresis and minimum durations) **and** the lip gate is ≥ 0.5. Inside a
  run a frame may thus be ``speaking`` during a short dip of ``voice_prob``.

Without audio (no audio track, or ``audio=False``): ``speech_prob`` is a logistic of
``lip_motion`` alone (midpoint `LIP_SPEECH_IOD`, scale `LIP_SPEECH_SCALE_IOD`) and
``speaking`` = ``speech_prob`` ≥ 0.5; ``voice_prob`` is NaN.

The thresholds are fractions of the IOD (0.01 IOD ≈ 0.6 mm). `LIP_SPEECH_IOD` was
chosen on the CREMA-D loop (one actor, ``benchmarks/speech_events.py``), where it agrees
with the audio on 91% of frames; the lip gate's midpoint is a third of that, so that
talking faces pass it with a wide margin (all speech frames of the loop did). The
windows are centred, i.e. the rule looks 0.5 s ahead: it is for files, not live video.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..audio.vad import VoiceActivity
from ..errors import FauError
from .temporal import check_times, check_video_table

__all__ = [
    "SPEECH_COLUMNS",
    "LIP_DETREND_S",
    "LIP_RMS_S",
    "LIP_GATE_S",
    "LIP_GATE_IOD",
    "LIP_GATE_SCALE_IOD",
    "LIP_SPEECH_IOD",
    "LIP_SPEECH_SCALE_IOD",
    "lip_motion",
    "add_speech",
]

log = logging.getLogger(__name__)

#: Columns `add_speech` adds, in order.
SPEECH_COLUMNS: tuple[str, ...] = ("voice_prob", "lip_motion", "speech_prob", "speaking")
#: Window (s) of the running mean subtracted from the lip opening (removes < ~2 Hz).
LIP_DETREND_S = 0.5
#: Window (s) of the root mean square of the detrended lip opening.
LIP_RMS_S = 0.8
#: Window (s) over which the lip gate takes the largest ``lip_motion`` (centred).
LIP_GATE_S = 1.0
#: Lip gate midpoint (IOD): lip motion below it while the voice is heard = not this face.
LIP_GATE_IOD = 0.02
#: Lip gate logistic scale (IOD).
LIP_GATE_SCALE_IOD = 0.004
#: Without audio: lip motion (IOD) at which speech_prob = 0.5.
LIP_SPEECH_IOD = 0.06
#: Without audio: logistic scale (IOD) of speech_prob around `LIP_SPEECH_IOD`.
LIP_SPEECH_SCALE_IOD = 0.01
#: The lip-opening column (inner-lip gap, IOD; `fau.au.AU_DEFINITIONS`).
_LIP_COLUMN = "AU25"


def _logistic(x: np.ndarray, mid: float, scale: float) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-(x - mid) / scale))


def _centred(values: np.ndarray, times: np.ndarray, window_s: float, how: str) -> np.ndarray:
    """Centred rolling ``mean``/``max`` over ``window_s`` seconds of irregular samples."""
    if len(values) == 0:
        return np.zeros(0)
    idx = pd.to_timedelta(np.asarray(times, dtype=np.float64), unit="s")
    s = pd.Series(np.asarray(values, dtype=np.float64), index=idx)
    if not s.index.is_monotonic_increasing:
        raise FauError("lip motion needs increasing timestamps (s)")
    r = s.rolling(pd.Timedelta(seconds=window_s), center=True, min_periods=1)
    return getattr(r, how)().to_numpy()


def lip_motion(opening: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Lip motion (IOD) of one track: RMS of the detrended lip opening (module docs).

    Parameters
    ----------
    opening : ndarray (n,)
        Lip opening per analysed frame (``AU25``, fraction of the IOD); NaN allowed.
    times : ndarray (n,)
        Timestamps (s), strictly increasing.

    Returns
    -------
    ndarray (n,)

    Raises
    ------
    FauError
        Not one finite timestamp per opening, or timestamps that decrease.
    """
    x = np.asarray(opening, dtype=np.float64)
    t = np.asarray(times, dtype=np.float64)
    if x.shape != t.shape or x.ndim != 1:
        raise FauError(f"lip_motion needs one timestamp per lip opening: openings of shape "
                       f"{x.shape}, times of shape {t.shape}")
    check_times(t, "lip_motion")
    if len(x) == 0:
        return np.zeros(0)
    ok = np.isfinite(x)
    if not ok.any():
        return np.full(len(x), np.nan)
    # frames without an opening (NaN) take it interpolated in time from the nearest
    # measured ones (held at the ends): by time, not by row, at a variable frame rate
    fill = np.interp(t, t[ok], x[ok])
    hp = fill - _centred(fill, t, LIP_DETREND_S, "mean")
    return np.sqrt(_centred(hp**2, t, LIP_RMS_S, "mean"))


def add_speech(df: pd.DataFrame, voice: VoiceActivity | None) -> pd.DataFrame:
    """Add ``voice_prob``, ``lip_motion``, ``speech_prob`` and ``speaking`` (module docs).

    Parameters
    ----------
    df : DataFrame
        A `detect_video` table (``track_id``, ``timestamp``, ``AU25``).
    voice : VoiceActivity or None
        The file's voice activity (`fau.audio.voice_activity`), or None for lip motion
        alone.

    Returns
    -------
    DataFrame
        A new table, rows in the input order: ``voice_prob`` (0-1, NaN without audio or
        outside it), ``lip_motion`` (IOD), ``speech_prob`` (0-1) and ``speaking`` (bool).
        The float columns have the dtype of ``AU25`` (float32 in a `detect_video`
        table; computed in float64).

    Raises
    ------
    FauError
        ``df`` is not a DataFrame, lacks ``track_id``, ``timestamp`` or ``AU25`` (and
        has rows), or has a timestamp that is not finite; ``voice`` is neither a
        `VoiceActivity` nor None.
    """
    check_video_table(df, "add_speech", ("track_id", "timestamp", _LIP_COLUMN))
    if voice is not None and not isinstance(voice, VoiceActivity):
        raise FauError(f"add_speech: voice must be a fau.audio.VoiceActivity "
                       f"(fau.audio.voice_activity) or None, got {type(voice).__name__}")
    # A shallow copy: pandas' copy-on-write keeps ``df`` unchanged, and an hour of rows
    # (~80 MB) is not duplicated to add a few columns.
    out = df.copy(deep=False)
    n = len(df)
    dtype = (np.float32 if _LIP_COLUMN in df.columns and df[_LIP_COLUMN].dtype == np.float32
             else np.float64)
    voice_p = np.full(n, np.nan)
    lip = np.full(n, np.nan)
    prob = np.zeros(n)
    speaking = np.zeros(n, dtype=bool)
    if n:
        t_all = df["timestamp"].to_numpy(dtype=np.float64)
        check_times(t_all, "add_speech")
        if voice is not None:
            voice_p = voice.prob_at(t_all)
        for _, idx in df.groupby("track_id", sort=True).indices.items():
            idx = idx[np.argsort(t_all[idx], kind="stable")]
            t = t_all[idx]
            keep = np.concatenate([[True], np.diff(t) > 0])  # repeated timestamps: first
            m = np.full(len(idx), np.nan)
            m[keep] = lip_motion(df[_LIP_COLUMN].to_numpy(dtype=np.float64)[idx][keep], t[keep])
            m = pd.Series(m).ffill().to_numpy()
            lip[idx] = m
            if voice is None:
                p = _logistic(np.nan_to_num(m, nan=0.0), LIP_SPEECH_IOD, LIP_SPEECH_SCALE_IOD)
                prob[idx] = p
                speaking[idx] = p >= 0.5
                continue
            wide = np.full(len(idx), np.nan)
            wide[keep] = _centred(np.nan_to_num(m[keep], nan=0.0), t[keep], LIP_GATE_S, "max")
            gate = _logistic(pd.Series(wide).ffill().to_numpy(), LIP_GATE_IOD, LIP_GATE_SCALE_IOD)
            vp = np.nan_to_num(voice_p[idx], nan=0.0)
            prob[idx] = vp * gate
            speaking[idx] = voice.speech_at(t) & (gate >= 0.5)
    out["voice_prob"] = voice_p.astype(dtype, copy=False)
    out["lip_motion"] = lip.astype(dtype, copy=False)
    out["speech_prob"] = prob.astype(dtype, copy=False)
    out["speaking"] = speaking
    return out
