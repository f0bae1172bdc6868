"""8-bit integer copy of an appearance-CNN ONNX graph (issue 14, fifth pass).

fau's appearance CNN (docs/cnn.md) is a float32 ONNX graph. onnxruntime's static
quantisation (``onnxruntime.quantization.quantize_static``) rewrites it in the QDQ format:
weights int8 per output channel, activations uint8 per tensor, their ranges calibrated on
FER-2013 **Training** images (never PublicTest/PrivateTest). The result keeps fau's
interface (``image`` ``[N, 1, 48, 48]`` raw grey 0–255 → ``fer2013_logits``,
``ferplus_logits``), so fau's runtime code does not change; onnxruntime runs the convolutions
and fully connected layers on 8-bit integer kernels.

Settings and why:

* ``QUInt8`` activations with ``QInt8`` weights (U8S8): the fastest pair on x86
  (1.5–1.8 ms against 2.5 ms of CPU per face for S8S8, two networks, on this VM;
  docs/cnn.md *Int8*).
* ``reduce_range=True``: weights use 7 bits. x86 CPUs without VNNI compute U8S8 dot products
  with ``VPMADDUBSW``, whose 16-bit intermediate sums can saturate; 7-bit weights cannot
  overflow it (onnxruntime quantisation docs; OpenVINO's "saturation issue" note). It costs
  no speed on VNNI CPUs and, measured, no PublicTest accuracy.
* ``Percentile`` calibration (99.999th percentile of each activation's magnitude on the
  calibration images): MinMax lost 0.2 points on both PublicTest protocols, Percentile none.

Quantise one network at a time and join the int8 members with ``cnn_ensemble.py``: the
calibrator keeps every activation of every calibration image in memory (four networks and
1,024 images needed 24 GB). The output keeps only the opset imports its nodes use
(`cnn_ensemble.prune_opsets`), so that onnxruntime 1.17, fau's minimum, loads it.

Needs the ``onnx`` package (benchmark tooling only; fau runs the result with onnxruntime)::

    python benchmarks/cnn_quantize.py cache/noflip/vgg_s2_nf.onnx cache/q8/vgg_s2_nf_q8.onnx
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import fer_eval  # noqa: E402
from cnn_ensemble import INPUT, has_flip, prune_opsets  # noqa: E402

#: Calibration batch (images per onnxruntime run while the ranges are collected).
CAL_BATCH = 64


def calibration_images(n: int, seed: int = 0) -> np.ndarray:
    """``n`` FER-2013 Training images (float32 ``[n, 1, 48, 48]``, 0–255), drawn at random."""
    fer = fer_eval.load_fer()
    train = np.flatnonzero(fer["split"] == 0)
    rows = np.random.default_rng(seed).choice(train, size=n, replace=False)
    return fer["images"][np.sort(rows)].astype(np.float32)[:, None]


def quantize(src: Path, dst: Path, images: np.ndarray) -> None:
    """Write the QDQ int8 copy of ``src`` to ``dst``, ranges calibrated on ``images``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.i = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.i >= len(images):
                return None
            batch = images[self.i : self.i + CAL_BATCH]
            self.i += CAL_BATCH
            return {INPUT: batch}

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        # Shape inference and constant folding first, as onnxruntime recommends.
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(dst),
            Batches(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.Percentile,
        )


#: What ``quantize`` does, kept in the output's ``metadata_props`` as ``quantization``.
SETTINGS = {"format": "QDQ", "activations": "uint8 per tensor",
            "weights": "int8 per channel, 7-bit range", "calibration": "Percentile 99.999",
            "calibration_set": "FER-2013 Training"}


def tag(path: Path, src: Path, n_images: int, seed: int) -> None:
    """Write the settings and the source into ``path``'s metadata; fix ``flip_tta``; drop
    the opset imports no node uses (`cnn_ensemble.prune_opsets`)."""
    import onnx

    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    props = {k: v for k, v in props.items() if not k.startswith("onnx.")}  # tool stamps
    props["flip_tta"] = "1" if has_flip(model) else "0"
    source_sha = hashlib.sha256(src.read_bytes()).hexdigest()
    props["quantization"] = json.dumps({**SETTINGS, "calibration_images": n_images, "seed": seed,
                                        "source": src.name, "source_sha256": source_sha})
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
    prune_opsets(model)
    onnx.save(model, str(path))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="float32 ONNX graph (fau's CNN interface)")
    ap.add_argument("dst", type=Path, help="int8 ONNX file to write (must not exist)")
    ap.add_argument("--images", type=int, default=1024, help="calibration images (Training)")
    ap.add_argument("--seed", type=int, default=0, help="which Training images calibrate")
    a = ap.parse_args(argv)
    if a.dst.exists():
        raise SystemExit(f"{a.dst} exists: not overwritten")
    quantize(a.src, a.dst, calibration_images(a.images, a.seed))
    tag(a.dst, a.src, a.images, a.seed)
    print(f"wrote {a.dst} ({a.dst.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
