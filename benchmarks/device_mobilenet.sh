#!/usr/bin/env bash
# The GPU run behind the ImageNet-pretrained appearance CNN (issue 14, second pass; docs/cnn.md).
# Run on the device machine from the repository root, carrying
#   .carry/fer_trainval_q93.npz         python benchmarks/train_cnn.py pack --jpeg 93 --out .carry/fer_trainval_q93.npz
#   .carry/mobilenet_v2_features.npz    python benchmarks/train_cnn.py backbone
# Trains, in parallel on one GPU: the recipe on all of Training (mn_full), its five fold models
# (mn_f0..mn_f4, for out-of-fold stacking logits) and three single-model ablations (mn_scratch: no
# ImageNet weights; mn_s64: 64-px input; mn_r1aug: round-1 augmentation). Each run's lr schedule
# ends after at most TIME_BUDGET seconds of training (train_cnn.py --time-budget). The EMA weights
# come back in float16 (two runs per zip: at most 8 files of 16 MiB come back); ONNX export and the
# stacking logits on the exact FER-2013 pixels are done on the CPU (train_cnn.py export / logits).
set -uo pipefail
export PYTHONUNBUFFERED=1
DATA=.carry/fer_trainval_q93.npz
PRE=.carry/mobilenet_v2_features.npz
TB=${TIME_BUDGET:-400}
EP=${EPOCHS:-40}
BASE="--arch mobilenetv2 --size 96 --batch 256 --lr 0.001 --wd 0.05 --dropout 0.2 --label-smoothing 0.1 \
--ema 0.998 --warmup 2 --epochs $EP --time-budget $TB"
AUG="--rot 15 --scale 0.2 --shift 0.12 --p-gamma 0.1 --p-blur 0.1 --p-lowres 0.1 --p-noise 0.1 --p-jpeg 0.1"
R1AUG="--rot 12 --scale 0.12 --shift 0.10"
nvidia-smi -L
python3 -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
t0=$(date +%s)
# smoke test: one short epoch of the recipe
python3 benchmarks/train_cnn.py train --data $DATA --out /tmp/smoke --model 0 --name smoke --limit 1024 \
  --eval-every 1 --threads 1 $BASE $AUG --pretrained $PRE --epochs 1 --save-weights --weights-dtype float16 || exit 1
echo "smoke test done after $(( $(date +%s) - t0 )) s"
jobs=(mn_full:full:"$BASE $AUG --pretrained $PRE")
for k in 0 1 2 3 4; do jobs+=(mn_f$k:$k:"$BASE $AUG --pretrained $PRE"); done
jobs+=(mn_scratch:full:"$BASE $AUG --lr 0.002")
jobs+=(mn_s64:full:"$BASE $AUG --pretrained $PRE --size 64")
jobs+=(mn_r1aug:full:"$BASE $R1AUG --pretrained $PRE")
timeout ${LAUNCH_S:-520} python3 benchmarks/train_cnn.py launch --data $DATA --out /tmp/runs --threads 1 \
  --save-weights --weights-dtype float16 --eval-every 5 "${jobs[@]}" 2>&1 | tee $OUT/launch.log
echo "launch done after $(( $(date +%s) - t0 )) s"
python3 - <<'PY'
import glob, os, zipfile
import numpy as np
out = os.environ["OUT"]
files = sorted(glob.glob("/tmp/runs/*.npz"))
with zipfile.ZipFile(f"{out}/results.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for f in files:  # results, histories, PublicTest and out-of-fold GPU logits; no weights
        r = np.load(f)
        small = f[:-4] + ".small.npz"
        np.savez(small, **{k: r[k] for k in r.files if not k.startswith("w.")})
        z.write(small, os.path.basename(f))
for i in range(0, len(files), 2):  # the float16 weights, two runs per file (< 16 MiB)
    with zipfile.ZipFile(f"{out}/weights_{i // 2}.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for f in files[i:i + 2]:
            z.write(f, os.path.basename(f))
print("zipped", [os.path.basename(f) for f in files])
PY
