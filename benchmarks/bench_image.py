"""Speed of ``Detector.detect_image`` on a 640×480 frame with one face, side by side with
the bare MediaPipe Tasks FaceLandmarker on the same array, in the same run, and where
fau's time goes (each stage timed on its own, in the same loop).

The frame is a CREMA-D still (``tests/data/cremad_hap.jpg``, 480×360) padded to 640×480
(its face ~95 px wide: small enough that the letterbox view leaves its box to the finer
level), or with ``--frame close-up`` the region around that face upscaled to 640×480 (a
face ~235 px wide, boxed by the letterbox view alone).
Each timing is the median of warm calls (``--repeats``), alternating the systems so
that load from other processes affects them alike. Beside the wall time of each call
the script records the process's CPU time per call (all threads; mean), which load from
other processes changes far less, and the threads each system keeps busy (CPU time /
wall time). Prints markdown tables.

Systems: the bare landmarker (IMAGE mode, blendshapes and matrices on, ``num_faces=1``;
it runs its graph on two MediaPipe executor threads that take turns, XNNPACK on one
thread: one core at most); ``fau.Detector()`` (the default: the finer detector views on
the detector's thread while the landmark model runs, the appearance CNN on its own
thread, one onnxruntime thread, started on the landmarks while the blendshapes, the mesh
features and the movements booster run; on 4 or more usable cores the CNN's four
networks at the same time, `fau.expression.appearance`); the same detector with the
blendshapes measured before the CNN starts (``pipeline.analyse(*det.meshes(img))``, the
order before session 16);
``fau.Detector(num_threads=1)`` (every model on the calling thread, one thread each: like
with like); and ``expression_model=None``.

Stages (fau's own code paths, called as ``detect_image`` calls them, one at a time):

* ``load_image``: validation and conversion of the array (`fau.io.load_image`);
* detector, one line per pyramid view (`fau.landmarks.detection.FaceDetector`):
  resize, model run, decoding; then weighted NMS;
* landmark model (crop + run) and blendshape model, per face;
* mesh features: AU geometry, head pose, shape (`fau.pipeline.mesh_features`);
* appearance CNN: patch + onnxruntime (`Pipeline.patches`, `appearance_logits`);
* expression model: the booster's margins (its compiled trees) and ``predict_proba``
  (`Pipeline.scores`);
* table: `Pipeline.table` given the booster's margins (a late fusion's, computed beside
  the CNN by `Pipeline.analyse`): CNN term, softmax, compound columns, DataFrame.

Usage::

    python benchmarks/bench_image.py [--repeats 200] [--threads N] [--min-face PX]
                                     [--frame padded|close-up]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def frame640(kind: str = "padded") -> np.ndarray:
    """The 640×480 test frame: ``padded``, the CREMA-D still (its face ~95 px wide) on a
    black border; ``close-up``, the still's region (89, 50)-(343, 240) around that face
    upscaled 2.52× (bilinear), a face ~235 px wide that the letterbox view alone boxes."""
    still = Image.open(ROOT / "tests/data/cremad_hap.jpg").convert("RGB")
    if kind == "close-up":
        return np.asarray(still.crop((89, 50, 343, 240)).resize((640, 480), Image.BILINEAR))
    out = np.zeros((480, 640, 3), np.uint8)
    out[60:420, 80:560] = np.asarray(still)
    return out


def _threads() -> dict[str, int]:
    """Threads of this process by name (``/proc/self/task/*/comm``)."""
    out: dict[str, int] = {}
    for t in os.listdir("/proc/self/task"):
        try:
            name = Path(f"/proc/self/task/{t}/comm").read_text().strip()
        except OSError:
            continue
        out[name] = out.get(name, 0) + 1
    return out


def _thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) of each thread of this process, by thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    py_names = {t.native_id: t.name for t in threading.enumerate()}  # fau-detector, ...
    out = {}
    for t in os.listdir("/proc/self/task"):
        try:
            name = py_names.get(int(t)) or Path(f"/proc/self/task/{t}/comm").read_text().strip()
            stat = Path(f"/proc/self/task/{t}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(t)] = (name, (int(stat[11]) + int(stat[12])) / tick)
    return out


def _busy_threads(call, n: int) -> str:
    """Which threads did the CPU work of ``n`` calls: name and share of the CPU time."""
    before = _thread_cpu()
    for _ in range(n):
        call()
    after = _thread_cpu()
    used = {t: after[t][1] - before.get(t, (None, 0.0))[1] for t in after}
    total = sum(used.values()) or 1.0
    busy = sorted(((v / total, after[t][0]) for t, v in used.items() if v / total >= 0.02),
                  reverse=True)
    return ", ".join(f"{name} {share:.0%}" for share, name in busy)


def main() -> None:
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    import fau
    from fau.io import load_image
    from fau.landmarks.blazeface import weighted_nms
    from fau.pipeline import mesh_features
    from fau.resources import model_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--threads", type=int, default=None,
                    help="Detector(num_threads=...); default None = the library default")
    ap.add_argument("--model", default="ferplus")
    ap.add_argument("--min-face", type=float, default=None,
                    help="Detector(min_face=...) (px); default: the library default")
    ap.add_argument("--frame", choices=("padded", "close-up"), default="padded",
                    help="the test frame (see frame640)")
    args = ap.parse_args()
    img = frame640(args.frame)
    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path("face_landmarker.task"))),
        output_face_blendshapes=True, output_facial_transformation_matrixes=True, num_faces=1,
    )
    mp_img = mp.Image(image_format=mp.ImageFormat.SRGB, data=img)
    threads_before = _threads()

    def make(model, serial=False):
        threads = 1 if serial else args.threads
        return fau.Detector(expression_model=model, num_threads=threads, min_face=args.min_face)

    with vision.FaceLandmarker.create_from_options(opts) as bare, \
            make(args.model) as det, make(args.model, serial=True) as det1, \
            make(None) as det0:
        bare.detect(mp_img)
        threads_bare = {k: v - threads_before.get(k, 0) for k, v in _threads().items()
                        if v > threads_before.get(k, 0)}
        backend, pipe = det.backend, det.pipeline
        fd = backend.detector
        views = fd.views(*img.shape[:2])
        rgb, faces = det.meshes(img)
        assert len(faces) == 1
        roi = fd.detect(img)[0].roi()

        systems: dict[str, callable] = {
            "bare": lambda: bare.detect(mp_img),
            "fau": lambda: det.detect_image(img),
            # the same detector, blendshapes measured before the CNN starts (fau's order
            # before session 16: `Detector.analyse` now starts the CNN on the landmarks)
            "fau_unstaged": lambda: pipe.analyse(*det.meshes(img))[0],
            "fau_serial": lambda: det1.detect_image(img),
            "fau_noexpr": lambda: det0.detect_image(img),
        }
        stages: dict[str, callable] = {"load_image": lambda: load_image(img)}
        for i, v in enumerate(views):
            stages[f"view{i}"] = (lambda v=v: fd.run_views(img, [v]))
        raw = fd.run_views(img, views)
        stages["nms"] = lambda: weighted_nms(raw, fd.spec.nms_iou)
        stages["landmarks"] = lambda: backend.mesh_in_roi(img, roi)
        stages["blendshapes"] = lambda: backend.blendshapes(faces[0].landmarks)
        stages["mesh_features"] = lambda: mesh_features(faces)
        blocks = pipe.features(rgb, faces)
        if pipe.appearance is not None:
            stages["appearance"] = lambda: pipe.appearance_logits(pipe.patches(rgb, faces))
        stages["scores"] = lambda: pipe.scores(blocks)
        # the table given the booster's margins (as `Pipeline.analyse` computes them
        # beside the CNN): the fusion, compound columns and DataFrame without the trees
        margins = pipe.model.movement_margins(blocks) if pipe.model is not None else None
        stages["table"] = lambda: pipe.table(blocks, margins=margins)
        calls = {**systems, **stages}
        for _ in range(10):  # warm-up
            for f in calls.values():
                f()
        busy_threads = {k: _busy_threads(systems[k], 40) for k in ("bare", "fau", "fau_serial")}
        wall: dict[str, list[float]] = {k: [] for k in calls}
        cpu: dict[str, list[float]] = {k: [] for k in calls}
        load0 = os.getloadavg()
        for _ in range(args.repeats):
            for k, f in calls.items():
                c, t = time.process_time(), time.perf_counter()
                f()
                wall[k].append(time.perf_counter() - t)
                cpu[k].append(time.process_time() - c)
        load = os.getloadavg()
        threads_fau = _threads()
    med = {k: 1000 * statistics.median(v) for k, v in wall.items()}
    cpu_ms = {k: 1000 * statistics.fmean(v) for k, v in cpu.items()}
    busy = {k: sum(cpu[k]) / sum(wall[k]) for k in calls}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f} (1/5/15 min) at the "
          f"start, {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the end; repeats "
          f"{args.repeats}; fau threads {args.threads}; min_face {fd.min_face:g} px; frame "
          f"{args.frame} (face {np.ptp(faces[0].landmarks[:, 0]):.0f} px wide)")
    print(f"threads the bare landmarker started: {threads_bare}; this process at the end: "
          f"{threads_fau}")
    for k, v in busy_threads.items():
        print(f"CPU time of 40 calls by thread, {k}: {v}")
    print()
    print("| system | median wall ms / call | ratio to bare | CPU ms / call | CPU ratio "
          "| threads busy (CPU / wall) |")
    print("|---|---:|---:|---:|---:|---:|")
    names = {
        "bare": "bare MediaPipe FaceLandmarker (Tasks, IMAGE mode)",
        "fau": f"fau `detect_image` ({args.model}, DataFrame included)",
        "fau_unstaged": "fau, blendshapes before the CNN (`pipeline.analyse(*meshes(img))`)",
        "fau_serial": f"fau `detect_image` ({args.model}), `num_threads=1` (one thread)",
        "fau_noexpr": "fau `detect_image` (expression_model=None)",
    }
    for k, label in names.items():
        print(f"| {label} | {med[k]:.2f} | {med[k] / med['bare']:.2f} | {cpu_ms[k]:.2f} "
              f"| {cpu_ms[k] / cpu_ms['bare']:.2f} | {busy[k]:.2f} |")
    print()
    print("| stage of fau's call | median wall ms | share of bare | CPU ms | CPU share of bare |")
    print("|---|---:|---:|---:|---:|")
    names = {"load_image": "load_image (validate, convert)", "nms": "weighted NMS",
             "landmarks": "landmark model (crop + run), 1 face",
             "blendshapes": "blendshape model, 1 face",
             "mesh_features": "mesh features (AUs, pose, shape)",
             "appearance": "appearance CNN (patch + run)",
             "scores": "expression model (booster margins + predict_proba)",
             "table": "fusion, compound columns + DataFrame (booster margins given)"}
    for i, v in enumerate(views):
        names[f"view{i}"] = (f"detector view {i}: {v.width}×{v.height} input, "
                             f"scale {v.scale:.3f} (faces ≥ {v.smallest_face:.0f} px)")
    total = total_cpu = 0.0
    for k, label in names.items():
        if k in med:
            total += med[k]
            total_cpu += cpu_ms[k]
            print(f"| {label} | {med[k]:.2f} | {med[k] / med['bare']:.2f} | {cpu_ms[k]:.2f} "
                  f"| {cpu_ms[k] / cpu_ms['bare']:.2f} |")
    print(f"| sum of stages | {total:.2f} | {total / med['bare']:.2f} | {total_cpu:.2f} "
          f"| {total_cpu / cpu_ms['bare']:.2f} |")


if __name__ == "__main__":
    main()
