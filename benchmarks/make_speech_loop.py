"""An interview-like clip with speech: the six CREMA-D clips looped, video and audio.

The six committed CREMA-D clips (tests/data/cremad/*.flv, actor 1001 saying "Don't
forget a jacket" six ways; ODbL/DbCL) are played one after the other, in file order,
until ``--seconds`` is reached (88 s: seven rounds), each clip's frames scaled from
480×360 to 640×480 and re-timed at exactly 30 frames/s, its audio (MP3, 44.1 kHz mono)
placed at the clip's start and cut or padded with silence to the clip's video length.
Written with PyAV as H.264 (libx264, CRF 23, yuv420p) + AAC (44.1 kHz mono) in MP4.
``--no-audio`` writes the same video without an audio track (for the lip-only check).
A CSV beside it (``<out>.clips.csv``: start,end,label) gives each clip's time span.

    python benchmarks/make_speech_loop.py cache/speech_loop.mp4 [--seconds 88] [--no-audio]
"""

from __future__ import annotations

import argparse
import csv
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
FPS = 30  # frames/s written
SIZE = (640, 480)  # output frame size (px)
RATE = 44100  # audio samples/s written (the clips' own rate)


def load(label: str) -> tuple[list[np.ndarray], np.ndarray]:
    """RGB frames (resized to `SIZE`) and mono float32 audio at `RATE` of one clip."""
    import av
    import cv2

    path = ROOT / f"tests/data/cremad/1001_DFA_{label}_XX.flv"
    with av.open(str(path)) as c:
        frames = [cv2.resize(f.to_ndarray(format="rgb24"), SIZE, interpolation=cv2.INTER_LINEAR)
                  for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        rs = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        parts = [o.to_ndarray().reshape(-1) for f in c.decode(audio=0) for o in rs.resample(f)]
        parts += [o.to_ndarray().reshape(-1) for o in rs.resample(None)]
    return frames, np.concatenate(parts).astype(np.float32)


def main() -> None:
    import av

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seconds", type=float, default=88.0)
    ap.add_argument("--no-audio", action="store_true")
    args = ap.parse_args()
    clips = {c: load(c) for c in CLIPS}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    spans = []
    with av.open(str(args.out), mode="w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        vs.options = {"crf": "23", "preset": "veryfast"}
        aus = None
        if not args.no_audio:
            aus = out.add_stream("aac", rate=RATE)
            aus.layout = "mono"
        n_frames, n_samples, k = 0, 0, 0
        while n_frames / FPS < args.seconds:
            label = CLIPS[k % len(CLIPS)]
            frames, audio = clips[label]
            spans.append((n_frames / FPS, (n_frames + len(frames)) / FPS, label))
            for rgb in frames:
                vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                vf.pts, vf.time_base = n_frames, Fraction(1, FPS)
                for pkt in vs.encode(vf):
                    out.mux(pkt)
                n_frames += 1
            if aus is not None:
                want = round(n_frames / FPS * RATE) - n_samples
                a = np.zeros(want, np.float32)
                a[: min(want, len(audio))] = audio[:want]
                for i in range(0, want, 1024):
                    piece = a[i:i + 1024][None, :]
                    af = av.AudioFrame.from_ndarray(np.ascontiguousarray(piece), format="flt", layout="mono")
                    af.sample_rate, af.pts, af.time_base = RATE, n_samples + i, Fraction(1, RATE)
                    for pkt in aus.encode(af):
                        out.mux(pkt)
                n_samples += want
            k += 1
        for s in (vs, aus):
            if s is not None:
                for pkt in s.encode(None):
                    out.mux(pkt)
    with open(str(args.out) + ".clips.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["start", "end", "label"])
        w.writerows((f"{a:.4f}", f"{b:.4f}", c) for a, b, c in spans)
    print(f"{args.out}: {n_frames} frames ({n_frames / FPS:.1f} s), {len(spans)} clips, "
          f"audio {'none' if args.no_audio else f'{n_samples} samples'}")


if __name__ == "__main__":
    main()
