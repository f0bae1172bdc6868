"""Helpers the tests share: is a model file present, the committed clips, video writers.

One place for what several test modules need (import with ``from helpers import ...``;
pytest puts ``tests/`` on ``sys.path``). Nothing here runs a model.
"""

from __future__ import annotations

from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
#: The committed CREMA-D clips (2 s, 480×360, 30 frames/s, FLV/VP6 with MP3 audio).
CREMAD = DATA / "cremad"
#: Emotion codes of the committed clips.
CLIP_CODES = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")


def model_available(name: str = "ferplus") -> bool:
    """Whether the expression model file ``fau/models/expression_<name>.npz`` is present."""
    return (resources.files("fau") / "models" / f"expression_{name}.npz").is_file()


#: The first bundled expression model whose file is present (None: none is).
MODEL = next((m for m in ("ferplus", "fer2013") if model_available(m)), None)

needs_model = pytest.mark.skipif(
    not model_available(), reason="expression model file fau/models/expression_ferplus.npz absent"
)


def clip(emotion: str) -> Path:
    """Path of the committed CREMA-D clip of one emotion code (`CLIP_CODES`)."""
    return CREMAD / f"1001_DFA_{emotion}_XX.flv"


def clip_frames(emotion: str = "HAP") -> list[np.ndarray]:
    """RGB frames (360, 480, 3) uint8 of one committed clip (56 frames)."""
    import av

    with av.open(str(clip(emotion))) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def write_video(path: Path, frames: Iterable[np.ndarray], *, codec: str = "libx264",
                rate: int = 30, pts: Sequence[int] | None = None,
                time_base: Fraction | None = None, options: dict | None = None,
                container_options: dict | None = None, rotation: int | None = None,
                pix_fmt: str = "yuv420p", fmt: str | None = None,
                metadata: dict[str, str] | None = None) -> Path:
    """Encode RGB frames with PyAV.

    ``pts`` are in ``time_base`` units (default: frame ``i`` at ``i / rate`` s);
    ``rotation`` sets a display matrix (degrees counter-clockwise); ``fmt`` forces the
    container format (default: from the file extension); ``metadata`` is written as the
    container's tags (e.g. ``{"title": ...}``).
    """
    import av

    frames = list(frames)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format=fmt, options=container_options or {}) as out:
        out.metadata.update(metadata or {})
        st = out.add_stream(codec, rate=rate, options=options or {})
        st.width, st.height, st.pix_fmt = w, h, pix_fmt
        if time_base is not None:
            st.codec_context.time_base = time_base
            st.time_base = time_base
        if rotation is not None:
            st.set_display_rotation(rotation)
        for i, img in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            vf.pts = i if pts is None else pts[i]
            if time_base is not None:
                vf.time_base = time_base
            for pkt in st.encode(vf):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def write_tiny_video(path: Path, side: int = 64, frames: int = 6) -> Path:
    """A valid MPEG-4 video of ``side``×``side`` grey frames (no face), 10 frames/s."""
    imgs = [np.full((side, side, 3), 40 + 20 * i, np.uint8) for i in range(frames)]
    return write_video(path, imgs, codec="mpeg4", rate=10)


def write_corrupt(path: Path) -> Path:
    """A file with a video extension whose content is not a video."""
    path.write_bytes(b"this is not a video\x00" * 64)
    return path
