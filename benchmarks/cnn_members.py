"""Choose the members of fau's ensemble appearance CNN on PublicTest (issue 14, fourth pass).

Steps (docs/cnn.md, *Ensemble*):

``logits``  every candidate ONNX network (fau's interface: ``image`` → ``fer2013_logits``,
            ``ferplus_logits``) on FER-2013 PublicTest + PrivateTest (the exact pixels) and on
            the cross-dataset sets' 48×48 patches (`cross_dataset.set_patches`, as the
            `Detector` cuts them), cached as ``cache/ens/<stem>.npz``. A member without its
            mirror pass is its own file (``cnn_ensemble.py --no-flip`` of one member, named
            ``<stem>_nf.onnx``).
``search``  every combination of up to five cached networks (one copy of each network, with
            or without the mirror) whose CPU cost fits a budget, ranked by the mean of the
            two PublicTest accuracies of the averaged logits (FER-2013 labels with the 7-class
            head, FER+ majority with the 8-class head). PrivateTest is not looked at.
``cost``    CPU time per face of ONNX files (``train_cnn.latency``: one face, batch 1, process
            CPU time), the files interleaved over ``--rounds`` rounds so that load hits all alike;
            prints each file's per-round figures and their median.
``teacher`` the mean logits of several networks on the Training images, the targets of a
            distilled network (``train_cnn.py train --teacher``).

Usage::

    git show 37a5d20:fau/models/appearance_cnn.onnx > cache/members/r1.onnx   # the round-1 network
    python benchmarks/cnn_members.py logits cache/members/*.onnx cache/noflip/*_nf.onnx ...
    python benchmarks/cnn_members.py search --budget 3.0 4.3 5.5 8.0 --pool r1 r1_nf ...
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import cross_dataset as xd  # noqa: E402
import fer_eval  # noqa: E402
from train_fusion import cnn_logits  # noqa: E402

CACHE = ROOT / "cache" / "ens"
#: CPU time per face (ms, onnxruntime, one thread, batch 1; process CPU time, the figure
#: least changed by load; docs/cnn.md *CPU latency* and *ImageNet-pretrained MobileNetV2*).
#: int8 CPU time over float32 CPU time of the same network without mirror (train_cnn.latency,
#: one thread, 1000 runs, vgg_s2 and mn_s3 interleaved 3 times, load 1.1-1.3; medians of
#: 0.37/0.29/0.49 and 0.64/0.74/0.46; docs/cnn.md *Int8*).
INT8_RATIO = {"vgg": 0.366, "mn": 0.637}
COST_MS = {"vgg": 3.73, "vgg_nf": 2.42, "mn": 3.68, "mn_nf": 1.42,
           # int8 copies (``cnn_quantize.py``, named ``<stem>_q8``): the fp32 cost times the
           # measured int8/fp32 CPU ratio of that network type (docs/cnn.md *Int8*).
           "vgg_nf_q8": 2.42 * INT8_RATIO["vgg"], "mn_nf_q8": 1.42 * INT8_RATIO["mn"]}
XD_SETS = ("ckplus", "london", "cremad")


def cmd_logits(a: argparse.Namespace) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    fer = fer_eval.load_fer()
    rows = np.flatnonzero(fer["split"] >= 1)
    patches = {"fer": fer["images"][rows]}
    for name in XD_SETS:
        f = CACHE / f"patches_{name}.npy"
        if not f.exists():
            np.save(f, xd.set_patches(name, xd.load_set(name)))
        patches[name] = np.load(f)
    np.save(CACHE / "fer_rows.npy", rows)
    for path in a.onnx:
        stem = Path(path).stem
        dst = CACHE / f"{stem}.npz"
        if dst.exists() and not a.force:
            continue
        t = time.time()
        np.savez(dst, **{k: cnn_logits(v, Path(path)) for k, v in patches.items()})
        print(f"{stem}: {time.time() - t:.0f} s", flush=True)


def cmd_cost(a: argparse.Namespace) -> None:
    import os

    from train_cnn import latency

    cpu = {p: [] for p in a.onnx}
    load = [os.getloadavg()[0]]
    for _ in range(a.rounds):
        for p in a.onnx:
            cpu[p].append(latency(p, reps=a.reps, threads=a.threads)["batch1_process_cpu_ms"])
        load.append(os.getloadavg()[0])
    print(f"process CPU ms per face, {a.threads} thread(s), {a.reps} runs x {a.rounds} rounds, "
          f"1-min load {min(load):.1f}-{max(load):.1f}")
    for p, v in cpu.items():
        print(f"  {np.median(v):6.2f}  ({' / '.join(f'{x:.2f}' for x in v)})  {p}")


def cmd_teacher(a: argparse.Namespace) -> None:
    """Mean logits of the teacher networks on every FER-2013 image (exact pixels), for
    distillation (``train_cnn.py train --teacher``): ``index`` (row of fer2013.npz) and
    ``logits`` (n, 15: 7 FER-2013 then 8 FER+, fau order)."""
    fer = fer_eval.load_fer()
    rows = np.flatnonzero(np.isin(fer["split"], [int(v) for v in a.splits.split(",")]))
    total = np.zeros((len(rows), 15), np.float64)
    for path in a.onnx:
        t = time.time()
        total += cnn_logits(fer["images"][rows], Path(path))
        print(f"{Path(path).name}: {time.time() - t:.0f} s", flush=True)
    np.savez(a.out, index=rows, logits=(total / len(a.onnx)).astype(np.float32),
             members=np.array([Path(p).name for p in a.onnx]))
    print(f"wrote {a.out}: {len(rows)} rows, {len(a.onnx)} teachers")


def public_accuracy(logits: dict[str, np.ndarray], fer: dict) -> tuple[float, float]:
    """PublicTest accuracy: FER-2013 labels (7-class head), FER+ majority (8-class head)."""
    rows = np.load(CACHE / "fer_rows.npy")
    pub = fer["split"][rows] == 1
    y7, maj = fer["labels"][rows], fer["ferplus_labels"][rows]
    m8 = pub & (maj >= 0)
    z = logits["fer"]
    return float((z[pub, :7].argmax(1) == y7[pub]).mean()), float((z[m8, 7:].argmax(1) == maj[m8]).mean())


def kind(stem: str) -> str:
    """Cost class of a cached stem: network type, ``_nf`` without mirror, ``_q8`` int8."""
    q8 = stem.endswith("_q8")
    stem = stem.removesuffix("_q8")
    return (("mn" if stem.startswith("mn") else "vgg") + ("_nf" if stem.endswith("_nf") else "")
            + ("_q8" if q8 else ""))


def cmd_search(a: argparse.Namespace) -> None:
    fer = fer_eval.load_fer()
    pool = a.pool or sorted(p.stem for p in CACHE.glob("*.npz"))
    cache = {n: np.load(CACHE / f"{n}.npz")["fer"] for n in pool}
    found = []
    for k in range(1, a.max_members + 1):
        for combo in itertools.combinations(pool, k):
            bases = [c.removesuffix("_q8").removesuffix("_nf") for c in combo]
            cost = sum(COST_MS[kind(c)] for c in combo)
            if len(set(bases)) < len(bases) or cost > max(a.budget):
                continue
            acc7, acc8 = public_accuracy({"fer": np.mean([cache[c] for c in combo], 0)}, fer)
            found.append((cost, (acc7 + acc8) / 2, acc7, acc8, combo))
    for budget in a.budget:
        print(f"CPU budget {budget} ms per face")
        for r in sorted([r for r in found if r[0] <= budget], key=lambda r: -r[1])[: a.top]:
            print(f"  {r[0]:.2f} ms  mean {r[1]:.4f}  FER-2013 {r[2]:.4f}  FER+ {r[3]:.4f}  "
                  f"{' + '.join(r[4])}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("logits")
    p.add_argument("onnx", nargs="+")
    p.add_argument("--force", action="store_true")
    p = sub.add_parser("cost")
    p.add_argument("onnx", nargs="+")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("teacher")
    p.add_argument("onnx", nargs="+")
    p.add_argument("--splits", default="0", help="FER-2013 splits (0 Training)")
    p.add_argument("--out", default=str(ROOT / ".carry" / "teacher_logits.npz"))
    p = sub.add_parser("search")
    p.add_argument("--budget", type=float, nargs="+", default=[3.0, 4.3, 5.5, 8.0])
    p.add_argument("--max-members", type=int, default=5)
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--pool", nargs="+", help="cached stems to combine (default: all)")
    a = ap.parse_args(argv)
    {"logits": cmd_logits, "cost": cmd_cost, "teacher": cmd_teacher, "search": cmd_search}[a.cmd](a)


if __name__ == "__main__":
    main()
