"""Speech-aware events on an interview-like clip: events per minute, agreement with the audio.

Runs `fau.Detector.detect_video` (every frame, default model) on the CREMA-D speech loop
made by ``benchmarks/make_speech_loop.py`` (88 s, 640×480 H.264 + AAC; made here into
``cache/`` when missing) and on the same video without its audio track, then reports:

* events per minute (``fau.video.find_events``) before the speech rule (round 1: no
  ``speaking`` column) and after it (default ``speech_aus="exclude"``), by AU;
* frame-level agreement of ``speaking`` with the audio's own voice activity: Silero VAD's
  speech runs (the reference fau itself uses), the raw Silero probability ≥ 0.5, and an
  independent detector, WebRTC's VAD (``webrtcvad-wheels``, the ``bench`` extra; mode 2,
  30-ms frames); for the video with audio and for the copy without audio (lip motion
  alone);
* the load average (1 min) at the start and the end.

    python benchmarks/speech_events.py [--loop cache/speech_loop.mp4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def webrtc_speech(path: Path, times: np.ndarray) -> np.ndarray:
    """WebRTC VAD (mode 2, 30-ms frames) at ``times``: a reference independent of Silero."""
    import webrtcvad

    from fau.audio import iter_audio

    blocks = list(iter_audio(path))
    t0 = blocks[0][0]
    pcm = (np.clip(np.concatenate([b for _, b in blocks]), -1, 1) * 32767).astype("<i2").tobytes()
    vad = webrtcvad.Vad(2)
    n = len(pcm) // 960  # 480 samples of 2 bytes = 30 ms at 16 kHz
    on = np.array([vad.is_speech(pcm[i * 960:(i + 1) * 960], 16000) for i in range(n)])
    k = np.clip(((times - t0) / 0.03).astype(int), 0, n - 1)
    return on[k]


def analyse(path: Path) -> pd.DataFrame:
    import fau
    from fau.audio import voice_activity
    from fau.video.speech import add_speech

    with fau.Detector() as det:
        df = det.detect_video(str(path))
    if "speaking" not in df.columns:  # before the video table had the speech columns
        df = add_speech(df, voice_activity(str(path)))
    return df


def per_minute(ev: pd.DataFrame, minutes: float) -> str:
    au = ev[ev["kind"] == "au"]
    top = au.groupby("name").size().sort_values(ascending=False)
    parts = ", ".join(f"{n} {c / minutes:.1f}" for n, c in top.items())
    return f"{len(ev) / minutes:.1f}/min (AU {len(au) / minutes:.1f}/min: {parts})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loop", type=Path, default=ROOT / "cache/speech_loop.mp4")
    args = ap.parse_args()
    mute = args.loop.with_name(args.loop.stem + "_noaudio.mp4")
    for out, extra in ((args.loop, []), (mute, ["--no-audio"])):
        if not out.exists():
            subprocess.run([sys.executable, str(ROOT / "benchmarks/make_speech_loop.py"),
                            str(out), *extra], check=True)
    load0 = os.getloadavg()[0]
    from fau.audio import voice_activity
    from fau.video import find_events

    t, c = time.perf_counter(), time.process_time()
    va = voice_activity(str(args.loop))
    t_vad, c_vad = time.perf_counter() - t, time.process_time() - c
    df = analyse(args.loop)
    minutes = (df["timestamp"].max() - df["timestamp"].min()) / 60.0
    before = find_events(df.drop(columns=["speaking"]))
    after = find_events(df)
    keep = find_events(df, speech_aus="keep")
    print(f"clip: {args.loop.name}, {len(df)} rows, {df['track_id'].nunique()} track(s), "
          f"{minutes * 60:.1f} s; Silero VAD over its audio: {t_vad:.2f} s wall, {c_vad:.2f} s CPU "
          f"({len(va.prob)} chunks, {c_vad / max(len(va.prob), 1) * 1e3:.3f} ms CPU each)")
    print(f"events before the speech rule: {per_minute(before, minutes)}")
    print(f"events after  (default):       {per_minute(after, minutes)}")
    print(f"  of which during speech: {int(after['during_speech'].fillna(False).sum())}; "
          f"speech_aus='keep': {len(keep) / minutes:.1f}/min")
    ka = keep[keep["kind"] == "au"]
    share = ka.groupby("name")["during_speech"].agg(lambda s: f"{int(s.sum())}/{len(s)}")
    print("  AU events during speech / all (speech_aus='keep'): "
          + ", ".join(f"{n} {v}" for n, v in share.items()))
    t_all = df["timestamp"].to_numpy()
    refs = {
        "Silero runs": va.speech_at(t_all),
        "Silero prob>=0.5": va.prob_at(t_all) >= 0.5,
        "WebRTC VAD": webrtc_speech(args.loop, t_all),
    }
    spk = df["speaking"].to_numpy(bool)
    print("share of frames speaking: %.3f" % spk.mean())
    for name, ref in refs.items():
        print(f"agreement with audio ({name}): {(spk == ref).mean():.3f}")
    dm = analyse(mute)
    by_frame = pd.Series(refs["Silero runs"], index=df["frame"].to_numpy())
    ok = dm["frame"].isin(by_frame.index).to_numpy()
    mref = by_frame.loc[dm["frame"].to_numpy()[ok]].to_numpy()
    mspk = dm["speaking"].to_numpy(bool)[ok]
    eref = pd.Series(refs["WebRTC VAD"], index=df["frame"].to_numpy()).loc[dm["frame"].to_numpy()[ok]].to_numpy()
    print(f"no audio track ({mute.name}): {dm['track_id'].nunique()} track(s); agreement of "
          f"lip-only speaking with the original audio: Silero runs {(mspk == mref).mean():.3f}, "
          f"WebRTC VAD {(mspk == eref).mean():.3f}")
    mafter = find_events(dm)
    print(f"no audio: events before {per_minute(find_events(dm.drop(columns=['speaking'])), minutes)}")
    print(f"no audio: events after  {per_minute(mafter, minutes)}")
    print(f"load average (1 min): {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
