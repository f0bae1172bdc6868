"""Wall and CPU time of the bundled appearance CNN on one face, by how it is threaded.

The shipped ``appearance_cnn.onnx`` is four networks side by side (``m0_`` ... ``m3_``:
two MobileNetV2, two VGG, int8) whose logits are summed and scaled. On one onnxruntime
thread (fau's setting) they run one after another; this script times the ways to spread
them on a machine with cores to spare, for one 48×48 patch (a `detect_image` call):

- ``file, intra N``: the whole file, ``intra_op_num_threads = N`` (each operator split);
- ``file, parallel N``: the whole file, ``ORT_PARALLEL`` execution, N inter-op threads
  (independent nodes, e.g. the four branches, at the same time);
- ``members, serial`` / ``members, pool``: each member cut out as its own graph
  (``onnx.utils.Extractor``) and run on one thread each, one after another or from a
  4-thread Python pool (onnxruntime releases the GIL), logits summed and scaled in numpy.

Each row checks its logits against the whole file on one thread. Usage::

    python benchmarks/cnn_threads.py [--repeats 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "fau" / "models" / "appearance_cnn.onnx"
HEADS = ("fer2013_logits", "ferplus_logits")


def session(data: bytes, intra: int = 1, inter: int = 1, parallel: bool = False):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = intra
    o.inter_op_num_threads = inter
    o.execution_mode = (ort.ExecutionMode.ORT_PARALLEL if parallel
                        else ort.ExecutionMode.ORT_SEQUENTIAL)
    o.log_severity_level = 3
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    o.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(data, o, providers=["CPUExecutionProvider"])


def members(data: bytes) -> tuple[list, float]:
    """One-thread sessions of each member graph, and the ensemble's scale."""
    import onnx
    from onnx import numpy_helper
    from onnx.utils import Extractor

    model = onnx.load_from_string(data)
    scale = float(next(numpy_helper.to_array(t) for t in model.graph.initializer
                       if t.name == "ens_scale"))
    ex = Extractor(onnx.shape_inference.infer_shapes(model))
    out = []
    for i in range(4):
        sub = ex.extract_model(["image"], [f"m{i}_{h}" for h in HEADS])
        out.append(session(sub.SerializeToString()))
    return out, scale


def timed(fn, repeats: int) -> tuple[float, float]:
    for _ in range(20):
        fn()
    walls = []
    c0 = time.process_time()
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
    return float(np.median(walls) * 1e3), (time.process_time() - c0) / repeats * 1e3


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=300)
    a = ap.parse_args(argv)
    data = MODEL.read_bytes()
    x = np.random.default_rng(0).integers(0, 256, (1, 1, 48, 48)).astype(np.float32)
    runs = {}
    for n in (1, 2, 4):
        s = session(data, intra=n)
        runs[f"file, intra {n}"] = (lambda s=s: s.run(list(HEADS), {"image": x}))
    for n in (2, 4):
        s = session(data, inter=n, parallel=True)
        runs[f"file, parallel {n}"] = (lambda s=s: s.run(list(HEADS), {"image": x}))
    mem, scale = members(data)
    pool = ThreadPoolExecutor(max_workers=4)

    def one(s):
        return s.run([f"m{mem.index(s)}_{h}" for h in HEADS], {"image": x})

    def combine(parts):
        return [np.sum([p[k] for p in parts], axis=0) * scale for k in range(2)]

    runs["members, serial"] = lambda: combine([one(s) for s in mem])
    runs["members, pool"] = lambda: combine(list(pool.map(one, mem)))
    ref = runs["file, intra 1"]()
    print(f"machine: {os.cpu_count()} cores, load average "
          f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}; repeats {a.repeats}")
    print("| threading | wall ms | CPU ms | largest logit difference |")
    print("|---|---:|---:|---:|")
    for name, fn in runs.items():
        got = fn()
        diff = max(float(np.abs(np.asarray(g) - np.asarray(r)).max()) for g, r in zip(got, ref))
        wall, cpu = timed(fn, a.repeats)
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {diff:.2g} |")
    print(f"load average at the end {' / '.join(f'{v:.2f}' for v in os.getloadavg())}")
    pool.shutdown()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
