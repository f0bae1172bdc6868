"""A long interview-like test video, with segments and stretches of poor data, for the report.

Built from the six committed CREMA-D clips (tests/data/cremad/*.flv, 480×360, actor 1001;
ODbL/DbCL): the video is cut into segments of ``--segment`` seconds labelled
``question 1`` … ``question 12`` (question ``k`` of segment ``i`` is ``i * 5 mod 12 + 1``, so
every label comes back several times: "all answers to question 3"). In each segment the clip
of question ``k``'s emotion (``CLIPS[k mod 6]``) plays twice, then the neutral clip once,
looped. Poor-data stretches, so that the report's quality strip has something to mark:

* every 240 s, 6 s of an empty grey frame (no face);
* every 240 s from 120 s, 8 s with the picture shrunk to 40% (a face box about 38 px wide);
* every 240 s from 180 s, 5 s with the picture rotated by 50° (strong head roll).

Frames are timed at exactly 30 fps and encoded with libx264 (preset ultrafast, CRF 26,
yuv420p) by PyAV; the segments go to a ``start,end,label`` CSV beside the video.

    python benchmarks/make_interview_video.py cache/interview_30min.mp4 --seconds 1800
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
FPS = 30  # frames/s of the output video
SIZE = (480, 360)  # the CREMA-D frame size (px)
GAP_EVERY_S = 240.0  # period of the poor-data stretches (s)


def load_clips() -> dict[str, list[np.ndarray]]:
    """Every frame of each committed CREMA-D clip, RGB uint8 (360, 480, 3)."""
    import av

    out = {}
    for c in CLIPS:
        with av.open(str(ROOT / f"tests/data/cremad/1001_DFA_{c}_XX.flv")) as src:
            out[c] = [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]
    return out


def segments(seconds: float, length: float) -> list[tuple[float, float, str]]:
    """``(start, end, label)`` of each segment (see module docs)."""
    rows, i, t = [], 0, 0.0
    while t < seconds:
        rows.append((t, min(t + length, seconds), f"question {(i * 5) % 12 + 1}"))
        t += length
        i += 1
    return rows


def degrade(rgb: np.ndarray, t: float) -> np.ndarray:
    """The frame at ``t`` s with the poor-data stretch of that moment applied, if any."""
    import cv2

    phase = t % GAP_EVERY_S
    if 60.0 <= phase < 66.0:
        return np.full_like(rgb, 128)
    if 120.0 <= phase < 128.0:
        small = cv2.resize(rgb, (SIZE[0] * 2 // 5, SIZE[1] * 2 // 5), interpolation=cv2.INTER_AREA)
        canvas = np.full_like(rgb, 40)
        canvas[100:100 + small.shape[0], 140:140 + small.shape[1]] = small
        return canvas
    if 180.0 <= phase < 185.0:
        m = cv2.getRotationMatrix2D((SIZE[0] / 2, SIZE[1] / 2), 50.0, 1.0)
        return cv2.warpAffine(rgb, m, SIZE)
    return rgb


def frame_source(clips: dict[str, list[np.ndarray]], segs, seconds: float):
    """Yield the RGB frames of the whole video in order."""
    n_total = int(round(seconds * FPS))
    i = 0
    for start, end, label in segs:
        k = int(label.split()[-1])
        order = [clips[CLIPS[k % 6]], clips[CLIPS[k % 6]], clips["NEU"]]
        playlist = [f for clip in order for f in clip]
        j = 0
        while i < n_total and i / FPS < end:
            yield degrade(playlist[j % len(playlist)], i / FPS)
            i += 1
            j += 1


def main() -> None:
    import av

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="output .mp4")
    ap.add_argument("--seconds", type=float, default=1800.0, help="length (s)")
    ap.add_argument("--segment", type=float, default=40.0, help="segment length (s)")
    a = ap.parse_args()
    if a.out.exists():
        raise SystemExit(f"{a.out} exists")
    clips = load_clips()
    segs = segments(a.seconds, a.segment)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        st = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "26"})
        st.width, st.height, st.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for n, rgb in enumerate(frame_source(clips, segs, a.seconds)):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf.pts = n
            for pkt in st.encode(vf):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    tmp.replace(a.out)
    with open(a.out.with_suffix(".segments.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["start", "end", "label"])
        w.writerows((f"{s:g}", f"{e:g}", lab) for s, e, lab in segs)
    print(a.out, f"{n + 1} frames", f"{len(segs)} segments")


if __name__ == "__main__":
    main()
