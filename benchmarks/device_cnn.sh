#!/usr/bin/env bash
# The GPU run behind the shipped appearance CNN (issue 14): run on the device machine from the
# repository root, with .carry/fer_trainval_q95.npz (python benchmarks/train_cnn.py pack --jpeg 95
# --out .carry/fer_trainval_q95.npz). Trains the robust recipe (full + 5 folds) and two ablations
# in parallel on one GPU and writes every model as ONNX, zipped into $OUT (at most 8 files come back).
set -uo pipefail
export PYTHONUNBUFFERED=1
DATA=.carry/fer_trainval_q95.npz
EP=${EPOCHS:-70}
PHOTO="--p-gamma 0.25 --p-blur 0.25 --p-lowres 0.25 --p-noise 0.25 --p-jpeg 0.25"
FRAME="--scale 0.2 --shift 0.12 --rot 15"
nvidia-smi -L
# smoke test: one short epoch and an ONNX export
python3 benchmarks/train_cnn.py train --data $DATA --out /tmp/smoke --onnx-out /tmp/smoke --model 0 \
  --name smoke --limit 1024 --epochs 1 --eval-every 1 $PHOTO $FRAME || exit 1
jobs=(rob_full:full:"$PHOTO $FRAME --epochs $EP")
for k in 0 1 2 3 4; do jobs+=(rob_f$k:$k:"$PHOTO $FRAME --epochs $EP"); done
jobs+=(photo_full:full:"$PHOTO --epochs $EP" frame_full:full:"$FRAME --epochs $EP")
timeout ${LAUNCH_S:-500} python3 benchmarks/train_cnn.py launch --data $DATA --out /tmp/runs --onnx-out /tmp/onnx \
  --eval-every 20 "${jobs[@]}"
python3 - <<'PY'
import os, zipfile, glob
files = sorted(glob.glob("/tmp/onnx/*.onnx"))
out = os.environ["OUT"]
for i in range(0, len(files), 3):
    with zipfile.ZipFile(f"{out}/cnn_{i // 3}.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for f in files[i:i + 3]:
            z.write(f, os.path.basename(f))
with zipfile.ZipFile(f"{out}/runs.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for f in glob.glob("/tmp/runs/*.npz"):
        import numpy as np
        r = np.load(f)
        np.savez(f + ".small.npz", **{k: r[k] for k in r.files if not k.startswith("w.") and not k.startswith("oof_")})
        z.write(f + ".small.npz", os.path.basename(f))
print("zipped", files)
PY
