"""Two overlaps left in ``detect_image``'s tail, timed on their own (one face of
``bench_image.py``'s padded frame; medians of ``--repeats`` interleaved calls, ms):

1. the appearance CNN's four members at the same time (`fau.expression.appearance`),
   each on 1 or 2 onnxruntime threads, and each member alone;
2. the branch beside the CNN: the blendshape model, the mesh features, the movements
   booster's margins, in a row (as `Detector.analyse` runs them) or with the blendshape
   model on a thread of its own while the calling thread computes the mesh features
   (LiteRT releases the GIL while it runs a model).

Each call is preceded by a 32-MB write, as the landmark model's run evicts caches in a
real call (``--warm`` leaves it out).

Usage::

    python benchmarks/image_levers.py [--repeats 200] [--warm]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import fau  # noqa: E402
from bench_image import frame640  # noqa: E402
from fau.expression.appearance import MEMBER_FILES, face_patch  # noqa: E402
from fau.expression.features import mesh_blocks  # noqa: E402
from fau.expression.runtime import ort_session  # noqa: E402
from fau.pipeline import mesh_features  # noqa: E402
from fau.expression.model_files import read_checked  # noqa: E402
from fau.resources import model_path  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--warm", action="store_true")
    args = ap.parse_args()
    img = frame640("padded")
    det = fau.Detector()
    rgb, faces = det.meshes(img)
    face = faces[0]
    backend, model = det.backend, det.pipeline.model
    x = face_patch(rgb, face.landmarks, cropped=False)[None, None].astype(np.float32)
    outs = ["fer2013_logits", "ferplus_logits"]
    members = {t: [ort_session(read_checked(model_path(f)), t) for f in MEMBER_FILES]
               for t in (1, 2)}
    name = members[1][0].get_inputs()[0].name
    pool = ThreadPoolExecutor(max_workers=4)
    side = ThreadPoolExecutor(max_workers=1)
    junk = np.zeros(4 * 1024 * 1024)

    def all_members(t):
        return lambda: list(pool.map(lambda s: s.run(outs, {name: x}), members[t]))

    def serial_branch():
        bs = backend.blendshapes(face.landmarks)
        blocks = mesh_blocks(face.landmarks[None], bs[None], np.array([face.presence]))
        return model.movement_margins(blocks)

    def parallel_branch():
        fut = side.submit(backend.blendshapes, face.landmarks)
        blocks = mesh_blocks(face.landmarks[None], np.zeros((1, 52), np.float32),
                             np.array([face.presence]))
        blocks["blendshapes"] = fut.result()[None]
        return model.movement_margins(blocks)

    calls = {"members, 1 thread each": all_members(1), "members, 2 threads each": all_members(2)}
    for i, f in enumerate(MEMBER_FILES):
        for t in (1, 2):
            calls[f"{f} alone, {t} thread(s)"] = (
                lambda s=members[t][i]: s.run(outs, {name: x}))
    calls["blendshapes"] = lambda: backend.blendshapes(face.landmarks)
    calls["mesh features"] = lambda: mesh_features(faces)
    calls["branch: blendshapes, mesh features, booster in a row"] = serial_branch
    calls["branch: blendshapes on a thread beside the mesh features"] = parallel_branch
    np.testing.assert_array_equal(serial_branch(), parallel_branch())
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(10):
        for f in calls.values():
            f()
    load0 = os.getloadavg()[0]
    for _ in range(args.repeats):
        for k, f in calls.items():
            if not args.warm:
                junk += 1.0
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    print(f"{os.cpu_count()} cores, load {load0:.2f} -> {os.getloadavg()[0]:.2f}, repeats "
          f"{args.repeats}, {'warm' if args.warm else 'after a 32-MB write'}")
    print("| call | median ms |\n|---|---:|")
    for k, v in times.items():
        print(f"| {k} | {1000 * statistics.median(v):.3f} |")
    det.close()


if __name__ == "__main__":
    main()
