"""Video speed benchmark: fau.detect_video vs the bare MediaPipe FaceLandmarker.

Builds (once, under the git-ignored ``cache/``) a 640×480, 30 fps, 10-minute H.264 video
with one face from the six committed CREMA-D clips (tests/data/cremad/*.flv, 480×360):
each frame is scaled by 1.2 to 576×432 (bilinear) and padded with a black border to
640×480 (32 px left/right, 24 px top/bottom); the clips are concatenated in the order
ANG, DIS, FEA, HAP, NEU, SAD and looped until 18,000 frames; frames are re-timed to
exactly 30 fps and encoded with libx264 (preset veryfast, CRF 23, yuv420p) by PyAV.

Then, in one run, each measurement in a fresh subprocess (so peak RSS is its own):

* decoding alone to RGB arrays: PyAV as fau does it (FFmpeg threads on; YUV→RGB by
  OpenCV), PyAV with one decoder thread, PyAV with FFmpeg's swscale RGB conversion,
  and OpenCV's VideoCapture (BGR→RGB);
* ``fau.Detector().detect_video(path)`` every frame, and with ``fps=5``, with the
  default ``num_threads=1`` per model and with ``num_threads=2``;
* the bare MediaPipe Tasks FaceLandmarker (VIDEO mode, ``fau/models/face_landmarker.task``,
  blendshapes and matrices on, ``num_faces=1``) on the same decoded frames (every frame,
  and the ``fps=5`` selection), decoding in the same thread; its time is reported both
  as landmarker calls alone and as wall time including decoding.

Prints a Markdown table (frames/s of analysed frames, × real time, CPU cores used =
process CPU time / wall time, peak RSS = VmHWM) and the load average before each
measurement; ``--json`` writes the raw results. The expression model is used when its
file is present (the result says which).

    python benchmarks/bench_video.py                   # full 10 minutes
    python benchmarks/bench_video.py --seconds 60      # first minute only (quick)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "cache"
VIDEO = CACHE / "bench_video_640x480_30fps_600s.mp4"
CLIPS = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
FPS = 30  # frames/s of the benchmark video
SECONDS = 600  # length of the benchmark video (s)
SCALE = 1.2  # CREMA-D 480×360 → 576×432
SIZE = (640, 480)  # output width, height (px)


def make_video(path: Path = VIDEO) -> Path:
    """Write the benchmark video (see module docs) unless it exists."""
    import av
    import cv2
    import numpy as np

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = []
    for c in CLIPS:
        with av.open(str(ROOT / f"tests/data/cremad/1001_DFA_{c}_XX.flv")) as src:
            for f in src.decode(video=0):
                rgb = f.to_ndarray(format="rgb24")
                h, w = rgb.shape[:2]
                sw, sh = round(w * SCALE), round(h * SCALE)
                small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_LINEAR)
                canvas = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
                y0, x0 = (SIZE[1] - sh) // 2, (SIZE[0] - sw) // 2
                canvas[y0 : y0 + sh, x0 : x0 + sw] = small
                frames.append(canvas)
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        st = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "23"})
        st.width, st.height, st.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for i in range(FPS * SECONDS):
            vf = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
            vf.pts = i
            for pkt in st.encode(vf):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    tmp.replace(path)
    return path


# --- measurements (each runs in its own subprocess) -------------------------------------
def _rss_mb() -> float:
    """Peak RSS of this process (MB): VmHWM; ru_maxrss would include the parent's
    pre-exec peak on Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def m_decode(kind: str, seconds: float) -> dict:
    import av
    import cv2

    from fau.video.reader import to_rgb

    n_max = int(seconds * FPS)
    t0, c0 = time.perf_counter(), _cpu_s()
    n = 0
    if kind.startswith("pyav"):
        with av.open(str(VIDEO)) as c:
            s = c.streams.video[0]
            s.thread_type = "SLICE" if kind == "pyav-1thread" else "AUTO"
            if kind == "pyav-1thread":
                s.codec_context.thread_count = 1
            for f in c.decode(s):
                to_rgb(f) if kind != "pyav-swscale" else f.to_ndarray(format="rgb24")
                n += 1
                if n >= n_max:
                    break
    else:
        cap = cv2.VideoCapture(str(VIDEO))
        while n < n_max:
            ok, bgr = cap.read()
            if not ok:
                break
            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            n += 1
        cap.release()
    dt = time.perf_counter() - t0
    return {"frames": n, "seconds": dt, "fps": n / dt, "rss_mb": _rss_mb(),
            "cores": (_cpu_s() - c0) / dt}


def m_fau(fps: float | None, seconds: float, threads: int = 1) -> dict:
    import fau
    from fau.resources import model_path

    try:
        model_path("expression_ferplus.npz")
        model = "ferplus"
    except fau.FauError:
        model = None
    with fau.Detector(expression_model=model, num_threads=threads) as det:
        t0, c0 = time.perf_counter(), _cpu_s()
        df = det.detect_video(VIDEO, fps=fps, end=seconds if seconds < SECONDS else None)
        dt = time.perf_counter() - t0
        cores = (_cpu_s() - c0) / dt
    n = df.attrs["analysed_frames"]
    return {"frames": n, "decoded": df.attrs["decoded_frames"], "rows": len(df),
            "tracks": int(df["track_id"].nunique()), "seconds": dt, "fps": n / dt,
            "video_s": n / (fps or FPS), "rss_mb": _rss_mb(), "model": model,
            "counts": df.attrs["counts"], "cores": cores, "threads": threads}


def m_bare(fps: float | None, seconds: float) -> dict:
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from fau.resources import model_path
    from fau.video.reader import iter_frames

    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
        running_mode=vision.RunningMode.VIDEO,
        num_faces=1,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=True,
    )
    n = found = 0
    busy = 0.0
    t0, c0 = time.perf_counter(), _cpu_s()
    with vision.FaceLandmarker.create_from_options(opts) as lm:
        for vf in iter_frames(VIDEO, fps=fps, end=seconds if seconds < SECONDS else None):
            img = mp.Image(image_format=mp.ImageFormat.SRGB, data=vf.rgb)
            t1 = time.perf_counter()
            res = lm.detect_for_video(img, int(round(vf.timestamp * 1000)))
            busy += time.perf_counter() - t1
            found += bool(res.face_landmarks)
            n += 1
    dt = time.perf_counter() - t0
    return {"frames": n, "found": found, "seconds": dt, "fps": n / dt,
            "landmarker_fps": n / busy, "video_s": n / (fps or FPS), "rss_mb": _rss_mb(),
            "cores": (_cpu_s() - c0) / dt}


def _child(args: argparse.Namespace) -> None:
    fps = None if args.fps in (None, 0) else args.fps
    if args.child == "decode":
        out = m_decode(args.kind, args.seconds)
    elif args.child == "fau":
        out = m_fau(fps, args.seconds, threads=int(args.kind or 1))
    else:
        out = m_bare(fps, args.seconds)
    print(json.dumps(out))


def _run_child(what: str, seconds: float, fps: float | None = None, kind: str = "") -> dict:
    cmd = [sys.executable, __file__, "--child", what, "--seconds", str(seconds),
           "--fps", str(fps or 0), "--kind", kind]
    load = os.getloadavg()
    env = dict(os.environ, GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="2")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"{what} failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["load_before"] = [round(x, 2) for x in load]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=SECONDS,
                    help="analyse only the first S seconds of the 10-minute video")
    ap.add_argument("--json", help="write raw results here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--fps", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--kind", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    t = time.perf_counter()
    make_video()
    print(f"video: {VIDEO.relative_to(ROOT)} ({VIDEO.stat().st_size / 1e6:.1f} MB, "
          f"ready in {time.perf_counter() - t:.0f} s)", flush=True)
    dec_s = min(args.seconds, 100.0)
    results: dict = {"machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
                     "python": sys.version.split()[0], "seconds": args.seconds}
    for kind in ("pyav-threads", "pyav-1thread", "pyav-swscale", "opencv"):
        results[f"decode/{kind}"] = r = _run_child("decode", dec_s, kind=kind)
        print(f"decode {kind}: {r['fps']:.0f} frames/s (load {r['load_before'][0]})", flush=True)
    for fps in (None, 5.0):
        tag = "every" if fps is None else f"fps{fps:g}"
        for what, kind in (("fau", "1"), ("bare", ""), ("fau", "2")):
            key = f"{what}/{tag}" + ("/2threads" if kind == "2" else "")
            results[key] = r = _run_child(what, args.seconds, fps=fps, kind=kind)
            print(f"{key}: {r['fps']:.1f} frames/s, {r['rss_mb']:.0f} MB, {r['cores']:.2f} cores "
                  f"(load {r['load_before'][0]})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print()
    print("| run | analysed frames | frames/s | × real time | CPU cores used | frames per CPU-s "
          "| peak RSS (MB) | load avg (1 min) before |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in ("pyav-threads", "pyav-1thread", "pyav-swscale", "opencv"):
        r = results[f"decode/{kind}"]
        print(f"| decode only, {kind} | {r['frames']} | {r['fps']:.0f} | {r['fps'] / FPS:.1f} "
              f"| {r['cores']:.2f} | {r['fps'] / r['cores']:.0f} | {r['rss_mb']:.0f} "
              f"| {r['load_before'][0]} |")
    for tag in ("every", "fps5"):
        for key in (f"fau/{tag}", f"fau/{tag}/2threads", f"bare/{tag}"):
            r = results[key]
            rt = r["video_s"] / r["seconds"]
            if key.startswith("fau"):
                name = f"fau detect_video (Detector num_threads={r['threads']})"
            else:
                name = "bare FaceLandmarker VIDEO mode (decode + landmarker)"
            name += ", every frame" if tag == "every" else ", fps=5"
            print(f"| {name} | {r['frames']} | {r['fps']:.1f} | {rt:.1f} | {r['cores']:.2f} "
                  f"| {r['fps'] / r['cores']:.0f} | {r['rss_mb']:.0f} | {r['load_before'][0]} |")
            if key.startswith("bare"):
                print(f"| … its landmarker calls alone | {r['frames']} | {r['landmarker_fps']:.1f} "
                      f"| {r['landmarker_fps'] / (FPS if tag == 'every' else 5):.1f} | | | | |")
    f = results["fau/every"]
    print(f"\nfau: expression model {f['model']!r}; {f['rows']} rows, {f['tracks']} track(s); "
          f"tracker counters {f['counts']}")


if __name__ == "__main__":
    main()
