"""Audio of video files: decoding (PyAV) and voice activity (Silero VAD).

>>> from fau.audio import voice_activity
>>> va = voice_activity("interview.mp4")        # doctest: +SKIP
>>> va.prob_at([0.0, 1.5, 3.0])                  # doctest: +SKIP

See ``docs/video.md`` ("Speaking") for how fau combines it with lip motion.
"""

from .decode import SAMPLE_RATE, AudioInfo, audio_info, iter_audio
from .vad import (
    CHUNK_S,
    SPEECH_THRESHOLD,
    VoiceActivity,
    speech_runs,
    voice_activity,
)

__all__ = [
    "SAMPLE_RATE",
    "AudioInfo",
    "audio_info",
    "iter_audio",
    "CHUNK_S",
    "SPEECH_THRESHOLD",
    "VoiceActivity",
    "speech_runs",
    "voice_activity",
]
