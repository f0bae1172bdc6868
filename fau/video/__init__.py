"""Video analysis: streamed decoding, face tracking, temporal processing, segments.

>>> import fau
>>> with fau.Detector() as det:                                   # doctest: +SKIP
...     df = det.detect_video("interview.mp4", fps=5)
...     events = fau.video.find_events(df)
...     summary = fau.video.summarize_segments(df, "questions.csv", events)

See ``docs/video.md`` for the tracking (one id per person), speaking, gaze, smoothing,
baseline and event rules.
"""

from .detect import CHUNK_ROWS, QUEUE_FRAMES, VIDEO_COLUMNS, VIDEO_FLOAT_DTYPE, detect_video
from .reader import VideoFrame, VideoInfo, iter_frames, probe
from .identity import link_tracks, signature_distance, signature_sample
from .segments import read_segments, summarize_segments
from .speech import SPEECH_COLUMNS, add_speech, lip_motion
from .temporal import (
    AU_FILTER,
    EXPRESSION_FILTER,
    FilterParams,
    OneEuro,
    RunningBaseline,
    SPEECH_AUS,
    add_temporal,
    check_video_table,
    find_events,
    neutral_baseline,
    smooth,
)
from .tracking import Tracker

__all__ = [
    "detect_video",
    "VIDEO_COLUMNS",
    "VIDEO_FLOAT_DTYPE",
    "QUEUE_FRAMES",
    "CHUNK_ROWS",
    "VideoFrame",
    "VideoInfo",
    "iter_frames",
    "probe",
    "Tracker",
    "OneEuro",
    "FilterParams",
    "AU_FILTER",
    "EXPRESSION_FILTER",
    "RunningBaseline",
    "smooth",
    "add_temporal",
    "neutral_baseline",
    "find_events",
    "check_video_table",
    "read_segments",
    "summarize_segments",
    "SPEECH_AUS",
    "SPEECH_COLUMNS",
    "add_speech",
    "lip_motion",
    "link_tracks",
    "signature_sample",
    "signature_distance",
]
