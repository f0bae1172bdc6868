"""The expression booster's margins: XGBoost against its onnxruntime compilation.

Two commands:

``compile SRC DST``
    Write a copy of an expression model file with its trees compiled for onnxruntime
    (`fau.expression.trees`; ``ExpressionModel.save`` does it). The booster, temperature,
    offsets and fusion weights are those of ``SRC``. For a bundled file, write elsewhere,
    copy it into ``fau/models/`` and update ``SHA256SUMS`` (a bundled file is read only
    when its digest matches).
``time``
    For every shipped model: the median wall time per call of XGBoost's
    ``inplace_predict`` (the scoring before) and of the compiled trees, on one row warm
    (the same row again and again), on one row "cold" (a 32-MB array written between
    calls, as the landmark model and the CNN do to the core's cache in a `detect_image`
    call) and on 64 rows; and, on the real faces of the cross-dataset cache
    (``cache/xd_*.npz``, `benchmarks/cross_dataset.py extract`), the largest margin
    difference and how many predicted classes differ.

Usage::

    python benchmarks/bench_trees.py compile fau/models/expression_ferplus.npz /tmp/ferplus.npz
    python benchmarks/bench_trees.py time [--repeats 400]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fau.expression.features import mesh_blocks  # noqa: E402
from fau.expression.model import ExpressionModel  # noqa: E402
from fau.expression.trees import TreeMargins, compile_trees  # noqa: E402

CACHE = ROOT / "cache"
#: Bytes written between "cold" calls: more than the guest's L2 and its L3 share.
THRASH_BYTES = 32 * 2**20


def cmd_compile(a: argparse.Namespace) -> None:
    m = ExpressionModel.load(a.src)
    m.save(a.dst)  # compiles the trees from the booster
    back = ExpressionModel.load(a.dst)
    print(f"{a.dst}: {back.booster.num_boosted_rounds()} rounds, trees checked "
          f"({os.path.getsize(a.dst) / 2**20:.2f} MiB)")


def _median_ms(fn, repeats: int, thrash: np.ndarray | None = None) -> float:
    for _ in range(20):
        fn()
    times = []
    for _ in range(repeats):
        if thrash is not None:
            thrash += 1
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def real_rows(m: ExpressionModel) -> np.ndarray:
    """The booster columns of every found face in the cross-dataset cache (may be empty)."""
    parts = []
    for path in sorted(CACHE.glob("xd_*.npz")):
        s = np.load(path, allow_pickle=False)
        ok = s["found"].astype(bool)
        if ok.any():
            b = mesh_blocks(s["landmarks"][ok], s["blendshapes"][ok], s["presence"][ok])
            parts.append(m.assemble(b, appearance=False))
    return np.concatenate(parts) if parts else np.zeros((0, len(m.booster_feature_names)))


def cmd_time(a: argparse.Namespace) -> None:
    print(f"machine: {os.cpu_count()} cores, load average "
          f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())}; repeats {a.repeats}")
    print("| model | trees | xgb 1 row warm | onnx 1 row warm | xgb 1 row cold | onnx 1 row cold "
          "| xgb 64 rows | onnx 64 rows | real faces | max margin diff | classes differ |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    thrash = np.zeros(THRASH_BYTES // 4, np.float32)
    for path in sorted((ROOT / "fau" / "models").glob("expression_*.npz")):
        m = ExpressionModel.load(path)
        trees = m.trees or TreeMargins(compile_trees(m.booster, len(m.booster_feature_names)))
        b = m.booster
        nf = len(m.booster_feature_names)
        rng = np.random.default_rng(0)
        x64 = rng.standard_normal((64, nf)).astype(np.float32)
        x1 = x64[:1]
        cells = []
        for x, th in ((x1, None), (x1, thrash), (x64, None)):
            cells.append(_median_ms(lambda: b.inplace_predict(x, predict_type="margin"),
                                    a.repeats, th))
            cells.append(_median_ms(lambda: trees(x), a.repeats, th))
        xr = real_rows(m)
        if len(xr):
            ref = np.asarray(b.inplace_predict(xr, predict_type="margin")).reshape(len(xr), -1)
            got = trees(xr)
            diff = float(np.abs(ref - got).max())
            flips = int((ref.argmax(1) != got.argmax(1)).sum())
        else:
            diff, flips = float("nan"), 0
        name = path.stem.removeprefix("expression_")
        timings = " | ".join(f"{c:.3f}" for c in cells)
        print(f"| {name} | {b.num_boosted_rounds() * len(m.classes)} | {timings} "
              f"| {len(xr)} | {diff:.2g} | {flips} |")
    print(f"load average at the end {' / '.join(f'{v:.2f}' for v in os.getloadavg())}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compile", help="write a model file with its trees compiled")
    c.add_argument("src")
    c.add_argument("dst")
    t = sub.add_parser("time", help="time and compare both forms on the shipped models")
    t.add_argument("--repeats", type=int, default=400)
    a = ap.parse_args(argv)
    {"compile": cmd_compile, "time": cmd_time}[a.cmd](a)


if __name__ == "__main__":
    main()
