"""Video speed, memory and start-up: fau.detect_video vs the bare MediaPipe FaceLandmarker.

Builds (once, under the git-ignored ``cache/``) a 640×480, 30 fps, 10-minute H.264 + AAC
video with one face from the six committed CREMA-D clips (tests/data/cremad/*.flv,
480×360 at 29.97 fps, MP3 speech): each frame is scaled by 1.2 to 576×432 (bilinear)
and padded with a black border to 640×480 (32 px left/right, 24 px top/bottom); each
clip's audio is resampled to 16 kHz mono and cut or zero-padded to its frames' length;
the clips are concatenated in the order ANG, DIS, FEA, HAP, NEU, SAD and looped until
18,000 frames; frames are re-timed to exactly 30 fps and encoded with libx264 (preset
veryfast, CRF 23, yuv420p), the audio with FFmpeg's AAC encoder, by PyAV. The
60-minute video (``--hour``) is that file six times over, packets copied with shifted
timestamps (no re-encoding; the few audio packets of the AAC encoder's overhang past
600 s that would overlap the next copy are dropped); the 1-s clip (``--startup``) is its first 30 frames and
second of audio, encoded the same way.

Each measurement runs in a fresh subprocess (so peak RSS, ``VmHWM``, is its own), one
after the other, the load average recorded before each:

* decoding alone to RGB arrays: PyAV as fau does it (FFmpeg threads on; YUV→RGB by
  OpenCV), PyAV with one decoder thread, PyAV with FFmpeg's swscale RGB conversion,
  and OpenCV's VideoCapture (BGR→RGB);
* ``fau.Detector().detect_video(path)`` every frame and with ``fps=5`` (the default
  expression model, the audio track used for ``speaking``), and the same with
  ``Detector(num_threads=2)``;
* the bare MediaPipe Tasks FaceLandmarker (VIDEO mode, ``fau/models/face_landmarker.task``,
  blendshapes and matrices on, ``num_faces=1``) on the same frames decoded by fau's
  reader in the same thread; its time is reported both as landmarker calls alone and
  as wall time including decoding.

``--hour`` adds ``detect_video`` every frame on the 60-minute video (frames/s, peak RSS)
and the bare landmarker on the same hour (``--hour-bare``: another ~20 minutes on a quiet
machine). ``--startup`` times ``fau video CLIP --out CLIP.parquet`` on the 1-s clip
(seconds to the first analysed frame, by its progress bar; wall and CPU seconds, peak
RSS), the library's time from process start to the first analysed frame (``progress``
callback), and the bare landmarker's start-up (import, create, first frame) in the same
run, ``--repeat`` times each, interleaved (``--tree``: ``fau video`` from other source
trees too).

Prints Markdown tables (frames/s of analysed frames, × real time, CPU cores used =
process CPU time / wall time, frames per CPU-second, peak RSS) and the load average
before each measurement; ``--json`` writes the raw results.

    python benchmarks/bench_video.py                   # full 10 minutes
    python benchmarks/bench_video.py --seconds 60      # first minute only (quick)
    python benchmarks/bench_video.py --every-only      # fau and bare, every frame only
    python benchmarks/bench_video.py --skip-10min --startup --repeat 5 \
        --tree before=/tmp/fau-before    # git worktree add --detach /tmp/fau-before COMMIT
    python benchmarks/bench_video.py --hour --skip-10min
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fau.limits import peak_rss_mb, rss_mb  # noqa: E402  (VmHWM, VmRSS of this process, MiB)

CACHE = ROOT / "cache"
VIDEO = CACHE / "bench_video_640x480_30fps_600s_av.mp4"
HOUR = CACHE / "bench_video_640x480_30fps_3600s_av.mp4"
CLIP = CACHE / "bench_video_640x480_30fps_1s_av.mp4"
CLIPS = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
FPS = 30  # frames/s of the benchmark video
SECONDS = 600  # length of the benchmark video (s)
HOUR_COPIES = 6  # the 60-minute video: the 10-minute one six times
SCALE = 1.2  # CREMA-D 480×360 → 576×432
SIZE = (640, 480)  # output width, height (px)
AUDIO_RATE = 16000  # Hz, mono (Silero VAD's rate, fau.audio.decode.SAMPLE_RATE)


def _clips() -> list[tuple[list, object]]:
    """Each CREMA-D clip's 640×480 frames and its audio (16 kHz mono float32, cut or
    padded to the frames' length at `FPS`)."""
    import av
    import cv2
    import numpy as np

    out = []
    for c in CLIPS:
        frames, audio = [], []
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
        with av.open(str(ROOT / f"tests/data/cremad/1001_DFA_{c}_XX.flv")) as src:
            res = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
            for f in src.decode(audio=0):
                for r in res.resample(f):
                    audio.append(r.to_ndarray().reshape(-1))
            for r in res.resample(None):
                audio.append(r.to_ndarray().reshape(-1))
        samples = np.concatenate(audio).astype(np.float32)
        n = round(len(frames) * AUDIO_RATE / FPS)
        samples = np.pad(samples[:n], (0, max(0, n - len(samples))))
        out.append((frames, samples))
    return out


def _encode(path: Path, n_frames: int) -> Path:
    """Write the first ``n_frames`` of the looped clips (video + audio) to ``path``."""
    import av
    import numpy as np

    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    clips = _clips()
    frames = [f for fs, _ in clips for f in fs]
    audio = np.concatenate([a for _, a in clips])
    loops = -(-n_frames // len(frames))
    audio = np.tile(audio, loops)[: round(n_frames * AUDIO_RATE / FPS)]
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        st = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "23"})
        st.width, st.height, st.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        ast = out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        a_done = 0
        for i in range(n_frames):
            vf = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
            vf.pts = i
            for pkt in st.encode(vf):
                out.mux(pkt)
            if i % FPS == 0:  # one second of audio at every whole second of video
                block = audio[a_done : a_done + AUDIO_RATE]
                af = av.AudioFrame.from_ndarray(block[None, :], format="flt", layout="mono")
                af.sample_rate, af.pts = AUDIO_RATE, a_done
                a_done += len(block)
                for pkt in ast.encode(af):
                    out.mux(pkt)
        for s in (st, ast):
            for pkt in s.encode():
                out.mux(pkt)
    tmp.replace(path)
    return path


def make_video(path: Path = VIDEO) -> Path:
    """Write the 10-minute benchmark video (see module docs) unless it exists."""
    return _encode(path, FPS * SECONDS)


def make_clip(path: Path = CLIP) -> Path:
    """Write the 1-s start-up clip unless it exists."""
    return _encode(path, FPS)


def make_hour(path: Path = HOUR, copies: int = HOUR_COPIES) -> Path:
    """The 10-minute video ``copies`` times over, packets copied (no re-encoding)."""
    import av

    if path.exists():
        return path
    src = make_video()
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        ins = list(inp.streams.video[:1]) + list(inp.streams.audio[:1])
        outs = {s.index: out.add_stream_from_template(s) for s in ins}
        last: dict[int, int] = {}
        for k in range(copies):
            inp.seek(0)
            for pkt in inp.demux(*ins):
                if pkt.dts is None:  # the demuxer's flush packet
                    continue
                i = pkt.stream.index
                shift = round(k * SECONDS / pkt.stream.time_base)
                if i in last and pkt.dts + shift <= last[i]:
                    continue  # the encoder's audio overhang (< 0.1 s) at a copy's start
                pkt.pts += shift
                pkt.dts += shift
                last[i] = pkt.dts
                pkt.stream = outs[i]
                out.mux(pkt)
    tmp.replace(path)
    return path


# --- measurements (each runs in its own subprocess) -------------------------------------
def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def m_decode(kind: str, seconds: float, video: Path) -> dict:
    import av
    import cv2

    from fau.video.reader import to_rgb

    n_max = int(seconds * FPS)
    t0, c0 = time.perf_counter(), _cpu_s()
    n = 0
    if kind.startswith("pyav"):
        with av.open(str(video)) as c:
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
        cap = cv2.VideoCapture(str(video))
        while n < n_max:
            ok, bgr = cap.read()
            if not ok:
                break
            cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            n += 1
        cap.release()
    dt = time.perf_counter() - t0
    return {"frames": n, "seconds": dt, "fps": n / dt, "rss_mb": peak_rss_mb(),
            "cores": (_cpu_s() - c0) / dt}


#: Video seconds between two memory samples of `m_fau` (its ``memory`` series).
MEMORY_EVERY_S = 60.0


def m_fau(fps: float | None, seconds: float, video: Path, threads: int | None = None) -> dict:
    import fau

    # [video s, VmRSS MB, VmHWM MB] at the first analysed frame and every MEMORY_EVERY_S
    # of video: the last one is the frame loop's peak (to within a minute of video),
    # before the table is made, smoothed and given its speech columns
    series: list[list[float]] = []

    def progress(t: float) -> None:
        if not series or t >= series[-1][0] + MEMORY_EVERY_S:
            series.append([round(t, 1), rss_mb(), peak_rss_mb()])

    with fau.Detector(num_threads=threads) as det:
        t0, c0 = time.perf_counter(), _cpu_s()
        df = det.detect_video(video, fps=fps, end=seconds, progress=progress)
        dt = time.perf_counter() - t0
        cores = (_cpu_s() - c0) / dt
    n = df.attrs["analysed_frames"]
    return {"frames": n, "decoded": df.attrs["decoded_frames"], "rows": len(df),
            "columns": df.shape[1], "table_mb": df.memory_usage(deep=True).sum() / 1e6,
            "tracks": int(df["track_id"].nunique()), "seconds": dt, "fps": n / dt,
            "video_s": n / (fps or FPS), "rss_mb": peak_rss_mb(),
            "model": det.expression_model_name,
            "counts": df.attrs["counts"], "cores": cores, "threads": threads,
            "memory": series, "loop_rss_mb": series[-1][2] if series else None,
            "speaking": float(df["speaking"].mean()) if len(df) else None}


def m_bare(fps: float | None, seconds: float, video: Path) -> dict:
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
        for vf in iter_frames(video, fps=fps, end=seconds):
            img = mp.Image(image_format=mp.ImageFormat.SRGB, data=vf.rgb)
            t1 = time.perf_counter()
            res = lm.detect_for_video(img, int(round(vf.timestamp * 1000)))
            busy += time.perf_counter() - t1
            found += bool(res.face_landmarks)
            n += 1
    dt = time.perf_counter() - t0
    return {"frames": n, "found": found, "seconds": dt, "fps": n / dt,
            "landmarker_fps": n / busy, "video_s": n / (fps or FPS), "rss_mb": peak_rss_mb(),
            "cores": (_cpu_s() - c0) / dt}


def m_first_frame(video: Path, started: float) -> dict:
    """Library start-up: seconds from process start (``started``, the parent's clock just
    before the spawn) to the first analysed frame, and to the table."""
    import fau

    first: list[float] = []
    with fau.Detector() as det:
        df = det.detect_video(video, progress=lambda t: first or first.append(time.time()))
    done = time.time()
    return {"first_frame_s": first[0] - started, "total_s": done - started,
            "rows": len(df), "rss_mb": peak_rss_mb(), "cpu_s": _cpu_s()}


def m_bare_first_frame(video: Path, started: float) -> dict:
    """The bare landmarker's start-up: import, create, first frame (same clock)."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from fau.resources import model_path
    from fau.video.reader import iter_frames

    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
        running_mode=vision.RunningMode.VIDEO, num_faces=1,
        output_face_blendshapes=True, output_facial_transformation_matrixes=True)
    first = None
    with vision.FaceLandmarker.create_from_options(opts) as lm:
        for vf in iter_frames(video):
            lm.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=vf.rgb),
                                int(round(vf.timestamp * 1000)))
            first = first or time.time()
    return {"first_frame_s": first - started, "total_s": time.time() - started,
            "rss_mb": peak_rss_mb(), "cpu_s": _cpu_s()}


def _child(args: argparse.Namespace) -> None:
    fps = None if args.fps in (None, 0) else args.fps
    video = Path(args.video)
    end = None if args.seconds in (None, 0) else args.seconds
    if args.child == "decode":
        out = m_decode(args.kind, args.seconds, video)
    elif args.child == "fau":
        out = m_fau(fps, end, video, threads=int(args.kind) if args.kind else None)
    elif args.child == "first":
        out = m_first_frame(video, args.started)
    elif args.child == "bare-first":
        out = m_bare_first_frame(video, args.started)
    else:
        out = m_bare(fps, end, video)
    print(json.dumps(out))


_ENV = dict(os.environ, GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="2")


def _run_child(what: str, seconds: float | None, video: Path, fps: float | None = None,
               kind: str = "") -> dict:
    started = time.time()
    cmd = [sys.executable, __file__, "--child", what, "--seconds", str(seconds or 0),
           "--fps", str(fps or 0), "--kind", kind, "--video", str(video),
           "--started", repr(started)]
    load = os.getloadavg()
    res = subprocess.run(cmd, capture_output=True, text=True, env=_ENV)
    if res.returncode != 0:
        raise SystemExit(f"{what} failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["load_before"] = [round(x, 2) for x in load]
    return out


def _cli_startup(clip: Path, tree: Path = ROOT) -> dict:
    """``fau video CLIP --out CLIP.parquet`` as a user runs it, from source ``tree`` (first
    on the path): seconds to the first analysed frame (the first progress-bar update
    above 0%, read from its stderr as it comes), wall and CPU seconds and peak RSS (MB)
    of that process (GNU ``/usr/bin/time``)."""
    import re

    out = clip.with_suffix(".parquet")
    cmd = ["/usr/bin/time", "-f", "FAU-TIME %e %U %S %M", sys.executable, "-m", "fau", "video",
           str(clip), "--out", str(out), "--overwrite"]
    load = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tree,
                            env=dict(_ENV, PYTHONPATH=str(tree)))
    err, first = b"", None
    while chunk := os.read(proc.stderr.fileno(), 4096):
        err += chunk
        if first is None and any(int(m) > 0 for m in re.findall(rb"(\d+)%\|", err)):
            first = time.perf_counter() - t0
    proc.wait()
    text = err.decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"fau video failed:\n{text[-3000:]}")
    found = re.findall(r"FAU-TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", text)
    wall, user, system, rss_kb = (float(v) for v in found[-1])
    return {"first_frame_s": first, "wall_s": wall, "cpu_s": user + system,
            "rss_mb": rss_kb / 1024.0, "load_before": [round(x, 2) for x in load]}


def _row(name: str, r: dict, fps_video: float) -> str:
    rt = r["video_s"] / r["seconds"]
    return (f"| {name} | {r['frames']} | {r['fps']:.1f} | {rt:.2f} | {r['cores']:.2f} "
            f"| {r['fps'] / r['cores']:.0f} | {r['rss_mb']:.0f} | {r['load_before'][0]} |")


def _startup(results: dict, repeat: int, trees: dict[str, Path]) -> None:
    clip = make_clip()
    runs: dict[str, list[dict]] = {"cli": [], "first": [], "bare": []}
    runs.update({f"cli:{name}": [] for name in trees})
    for _ in range(repeat):
        runs["cli"].append(_cli_startup(clip))
        for name, tree in trees.items():
            runs[f"cli:{name}"].append(_cli_startup(clip, tree))
        runs["first"].append(_run_child("first", None, clip))
        runs["bare"].append(_run_child("bare-first", None, clip))
    results["startup"] = runs
    def median(values: list) -> float | None:
        """Median of the measured values; None when none was measured (``fau video`` shows
        no progress bar, so no first-frame time, when stderr is not a terminal: 4a0f3c8)."""
        got = [x for x in values if x is not None]
        return statistics.median(got) if got else None

    def s2(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.2f}"

    med = {k: {m: median([r[m] for r in v]) for m in v[0] if m != "load_before"}
           for k, v in runs.items()}
    loads = [r["load_before"][0] for v in runs.values() for r in v]
    print(f"\nstart-up on {clip.relative_to(ROOT)} (30 frames, 1 s with audio), median of "
          f"{repeat}; load average (1 min) {min(loads)}-{max(loads)}\n")
    print("| run | first analysed frame (s after start) | total wall (s) | CPU (s) "
          "| peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|")
    c, f, b = med["cli"], med["first"], med["bare"]
    print(f"| `fau video CLIP --out CLIP.parquet` | {s2(c['first_frame_s'])} | {c['wall_s']:.2f} "
          f"| {c['cpu_s']:.2f} | {c['rss_mb']:.0f} |")
    for name in trees:
        t = med[f"cli:{name}"]
        print(f"| the same, source tree {name!r} | {s2(t['first_frame_s'])} | {t['wall_s']:.2f} "
              f"| {t['cpu_s']:.2f} | {t['rss_mb']:.0f} |")
    print(f"| library: `fau.Detector().detect_video(CLIP)` | {f['first_frame_s']:.2f} "
          f"| {f['total_s']:.2f} | {f['cpu_s']:.2f} | {f['rss_mb']:.0f} |")
    print(f"| bare FaceLandmarker: import, create, 30 frames | {b['first_frame_s']:.2f} "
          f"| {b['total_s']:.2f} | {b['cpu_s']:.2f} | {b['rss_mb']:.0f} |")


def _ten_minutes(results: dict, seconds: float, every_only: bool = False) -> None:
    """The 10-minute rows; ``every_only``: only fau and the bare landmarker, every frame."""
    video = make_video()
    dec_s = min(seconds, 100.0)
    # pyav-1thread is how fau decodes (fau.video.reader.DECODER_THREADS, 4c8704f);
    # pyav-threads is FFmpeg's automatic threading, kept for comparison.
    decoders = () if every_only else ("pyav-threads", "pyav-1thread", "pyav-swscale", "opencv")
    for kind in decoders:
        results[f"decode/{kind}"] = r = _run_child("decode", dec_s, video, kind=kind)
        print(f"decode {kind}: {r['fps']:.0f} frames/s (load {r['load_before'][0]})", flush=True)
    end = seconds if seconds < SECONDS else None
    for fps in (None,) if every_only else (None, 5.0):
        tag = "every" if fps is None else f"fps{fps:g}"
        for what, kind in (("fau", ""), ("bare", "")) + (() if every_only else (("fau", "2"),)):
            key = f"{what}/{tag}" + ("/2threads" if kind == "2" else "")
            results[key] = r = _run_child(what, end, video, fps=fps, kind=kind)
            print(f"{key}: {r['fps']:.1f} frames/s, {r['rss_mb']:.0f} MB, {r['cores']:.2f} cores "
                  f"(load {r['load_before'][0]})", flush=True)
    print()
    print("| run | analysed frames | frames/s | × real time | CPU cores used | frames per CPU-s "
          "| peak RSS (MB) | load avg (1 min) before |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in decoders:
        r = results[f"decode/{kind}"]
        print(f"| decode only, {kind} | {r['frames']} | {r['fps']:.0f} | {r['fps'] / FPS:.1f} "
              f"| {r['cores']:.2f} | {r['fps'] / r['cores']:.0f} | {r['rss_mb']:.0f} "
              f"| {r['load_before'][0]} |")
    for tag in ("every", "fps5"):
        for key in (f"fau/{tag}", f"fau/{tag}/2threads", f"bare/{tag}"):
            if key not in results:
                continue
            r = results[key]
            if key.startswith("fau"):
                name = ("fau detect_video (Detector()" if not r["threads"]
                        else f"fau detect_video (Detector(num_threads={r['threads']})")
                name += ")"
            else:
                name = "bare FaceLandmarker VIDEO mode (decode + landmarker)"
            name += ", every frame" if tag == "every" else ", fps=5"
            print(_row(name, r, FPS))
            if key.startswith("bare"):
                print(f"| … its landmarker calls alone | {r['frames']} | {r['landmarker_fps']:.1f} "
                      f"| {r['landmarker_fps'] / (FPS if tag == 'every' else 5):.2f} | | | | |")
    f, b = results["fau/every"], results["bare/every"]
    print(f"\nfau every frame / bare landmarker: {f['fps'] / b['fps']:.2f} of its frames/s; "
          f"expression model {f['model']!r}; {f['rows']} rows × {f['columns']} columns "
          f"({f['table_mb']:.0f} MB), {f['tracks']} track(s), speaking on "
          f"{f['speaking']:.0%} of rows; tracker counters {f['counts']}")


def _hour(results: dict, bare: bool) -> None:
    t = time.perf_counter()
    video = make_hour()
    print(f"60-minute video: {video.relative_to(ROOT)} ({video.stat().st_size / 1e6:.0f} MB, "
          f"ready in {time.perf_counter() - t:.0f} s)", flush=True)
    results["hour/fau"] = r = _run_child("fau", None, video)
    print(f"hour fau: {r['fps']:.1f} frames/s, {r['rss_mb']:.0f} MB (load {r['load_before'][0]})",
          flush=True)
    if bare:
        results["hour/bare"] = _run_child("bare", None, video)
    print()
    print("| run (60-minute video, every frame) | analysed frames | frames/s | × real time "
          "| CPU cores used | frames per CPU-s | peak RSS (MB) | load avg (1 min) before |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(_row("fau detect_video (Detector())", r, FPS))
    if bare:
        print(_row("bare FaceLandmarker VIDEO mode (decode + landmarker)", results["hour/bare"],
                   FPS))
    print(f"\nfau: {r['rows']} rows × {r['columns']} columns ({r['table_mb']:.0f} MB as a "
          f"DataFrame), {r['tracks']} track(s); tracker counters {r['counts']}")
    mem = r["memory"]
    print(f"memory (VmRSS / VmHWM, MB): first analysed frame {mem[0][1]:.0f} / {mem[0][2]:.0f}; "
          + "; ".join(f"{t / 60:.0f} min {rss:.0f} / {hwm:.0f}" for t, rss, hwm in mem[1:]
                      if round(t) % 600 < MEMORY_EVERY_S)
          + f"; frame loop's peak {r['loop_rss_mb']:.0f}, whole run's {r['rss_mb']:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=SECONDS,
                    help="analyse only the first S seconds of the 10-minute video")
    ap.add_argument("--hour", action="store_true", help="also the 60-minute video")
    ap.add_argument("--hour-bare", action="store_true",
                    help="with --hour: the bare landmarker on the hour too")
    ap.add_argument("--skip-10min", action="store_true", help="no 10-minute rows")
    ap.add_argument("--every-only", action="store_true",
                    help="10-minute rows: only fau and the bare landmarker, every frame")
    ap.add_argument("--startup", action="store_true", help="also the 1-s clip start-up")
    ap.add_argument("--repeat", type=int, default=5, help="start-up runs of each kind")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=PATH",
                    help="--startup: also run `fau video` from this source tree (e.g. a "
                         "`git worktree` of an older commit), interleaved")
    ap.add_argument("--json", help="write raw results here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--fps", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--kind", default="", help=argparse.SUPPRESS)
    ap.add_argument("--video", default=str(VIDEO), help=argparse.SUPPRESS)
    ap.add_argument("--started", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    t = time.perf_counter()
    make_video()
    print(f"video: {VIDEO.relative_to(ROOT)} ({VIDEO.stat().st_size / 1e6:.1f} MB, "
          f"ready in {time.perf_counter() - t:.0f} s)", flush=True)
    results: dict = {"machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
                     "python": sys.version.split()[0], "seconds": args.seconds,
                     "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    try:
        if not args.skip_10min:
            _ten_minutes(results, args.seconds, every_only=args.every_only)
        if args.hour:
            _hour(results, args.hour_bare)
        if args.startup:
            trees = dict(t.split("=", 1) for t in args.tree)
            _startup(results, args.repeat, {k: Path(v).resolve() for k, v in trees.items()})
    finally:
        results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
