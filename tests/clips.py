"""Generated test videos made from the committed CREMA-D clips (PyAV): with or without
audio, faces side by side, faces that leave and come back (tests of speech and tracking)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Sequence

import av
import numpy as np

CREMAD = Path(__file__).parent / "data" / "cremad"
FPS = 30  # frames/s of generated videos
RATE = 44100  # audio samples/s of generated videos


def clip_path(emotion: str) -> Path:
    return CREMAD / f"1001_DFA_{emotion}_XX.flv"


def clip_frames(emotion: str) -> list[np.ndarray]:
    """RGB frames (360, 480, 3) of one CREMA-D clip."""
    with av.open(str(clip_path(emotion))) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def clip_audio(emotion: str) -> np.ndarray:
    """Mono float32 audio of one CREMA-D clip at `RATE`."""
    with av.open(str(clip_path(emotion))) as c:
        rs = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        parts = [o.to_ndarray().reshape(-1) for f in c.decode(audio=0) for o in rs.resample(f)]
        parts += [o.to_ndarray().reshape(-1) for o in rs.resample(None)]
    return np.concatenate(parts).astype(np.float32)


def write_clip(path: Path, frames: Sequence[np.ndarray], audio: np.ndarray | None = None) -> Path:
    """H.264 (+ AAC when ``audio`` is given) MP4 at `FPS`; audio is cut/padded to the video."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "20"}
        aus = None
        if audio is not None:
            aus = out.add_stream("aac", rate=RATE)
            aus.layout = "mono"
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, FPS)
            for pkt in vs.encode(vf):
                out.mux(pkt)
        if aus is not None:
            n = round(len(frames) / FPS * RATE)
            a = np.zeros(n, np.float32)
            a[: min(n, len(audio))] = audio[:n]
            for i in range(0, n, 1024):
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(a[None, i:i + 1024]),
                                                format="flt", layout="mono")
                af.sample_rate, af.pts, af.time_base = RATE, i, Fraction(1, RATE)
                for pkt in aus.encode(af):
                    out.mux(pkt)
        for s in (vs, aus):
            if s is not None:
                for pkt in s.encode(None):
                    out.mux(pkt)
    return path


def side_by_side(left: Sequence[np.ndarray], right: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Frames of two clips placed next to each other (the shorter one holds its last frame)."""
    n = max(len(left), len(right))
    return [np.concatenate([left[min(i, len(left) - 1)], right[min(i, len(right) - 1)]], axis=1)
            for i in range(n)]
