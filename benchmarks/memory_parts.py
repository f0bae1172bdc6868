"""Where `detect_video`'s memory goes before its first row: each part's resident memory.

Loads what ``fau.Detector().detect_video`` loads, one part at a time and in the order it
does, and prints the process's resident memory (``VmRSS``, MB) after each part and the
growth, split into anonymous memory (heap, model weights) and file pages (shared
libraries): ``import fau`` (numpy, pandas — which imports pyarrow itself —, OpenCV,
PyAV), ``fau.Detector()``, the video decoder (first frame, then the next 30), the face
detector and landmark model on the first frame, ``import xgboost`` (which imports
scikit-learn and scipy.stats), onnxruntime, the expression model (its XGBoost booster)
with the appearance CNN's session, the first row, and the voice-activity model. Linux
only.

    python benchmarks/memory_parts.py [VIDEO]    # default: bench_video.py's 10-minute video
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VIDEO = ROOT / "cache" / "bench_video_640x480_30fps_600s_av.mp4"  # bench_video.py makes it


def _status() -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) / 1024.0  # kB -> MB
    return out


def main() -> None:
    video = Path(sys.argv[1]) if len(sys.argv) > 1 else VIDEO
    if not video.exists():
        raise SystemExit(f"{video} is missing: python benchmarks/bench_video.py --seconds 1 "
                         "builds it")
    prev = _status()
    print("| part | VmRSS after (MB) | growth (MB) | anonymous | file pages |")
    print("|---|---:|---:|---:|---:|")

    def mark(name: str) -> None:
        nonlocal prev
        now = _status()
        print(f"| {name} | {now['VmRSS']:.0f} | {now['VmRSS'] - prev['VmRSS']:+.1f} "
              f"| {now['RssAnon'] - prev['RssAnon']:+.1f} "
              f"| {now['RssFile'] - prev['RssFile']:+.1f} |", flush=True)
        prev = now

    import numpy as np

    import fau
    from fau.video.reader import iter_frames
    from fau.video.tracking import Tracker

    mark("`import fau` (numpy, pandas + pyarrow, OpenCV, PyAV)")
    with fau.Detector() as det:
        mark("`fau.Detector()`")
        frames = iter_frames(video)
        vf = next(frames)
        mark("video decoder: first frame")
        for _ in range(30):
            vf = next(frames)
        mark("video decoder: 30 more frames")
        tracker = Tracker(det.backend, max_faces=det.max_faces,
                          min_face_score=det.min_face_score)
        faces = tracker.update(vf.rgb, vf.timestamp)
        mark("face detector + landmark model, first frame")
        import xgboost  # noqa: F401

        mark("`import xgboost` (imports scikit-learn, scipy.stats)")
        import onnxruntime  # noqa: F401

        mark("`import onnxruntime`")
        _ = det.pipeline.appearance  # loads the expression model, then the CNN's session
        mark("expression model (XGBoost booster) + appearance CNN session")
        det.pipeline.table(det.pipeline.features(vf.rgb, [m for _, m in faces]))
        mark("first row (CNN + booster run)")
        from fau.audio.vad import SileroVad

        vad = SileroVad()
        vad(np.zeros(16000 * 10, np.float32))
        mark("voice-activity model, 10 s of audio")
        frames.close()


if __name__ == "__main__":
    main()
