#!/usr/bin/env bash
# The GPU run behind the members of fau's ensemble appearance CNN (issue 14, fourth pass;
# docs/cnn.md, "Ensemble"). Run on the device machine from the repository root, carrying
#   .carry/fer_trainval_q90.npz         python benchmarks/train_cnn.py pack --jpeg 90 --out .carry/fer_trainval_q90.npz
#   .carry/mobilenet_v2_features.npz    python benchmarks/train_cnn.py backbone
# Trains, in parallel on one GPU, more networks of the two recipes already measured (the
# round-1 VGG recipe s3, and the ImageNet MobileNetV2 with round-1 augmentation, mn_r1aug),
# each with another seed, so that benchmarks/cnn_ensemble.py can choose members on PublicTest.
# Each run's lr schedule ends after at most TIME_BUDGET s of training; every model comes back
# as ONNX (flip averaging inside, as train_cnn.py exports it) with its PublicTest result.
set -uo pipefail
export PYTHONUNBUFFERED=1
DATA=.carry/fer_trainval_q90.npz
PRE=.carry/mobilenet_v2_features.npz
TB=${TIME_BUDGET:-430}
MN="--arch mobilenetv2 --size 96 --batch 256 --lr 0.001 --wd 0.05 --dropout 0.2 --label-smoothing 0.1 \
--ema 0.998 --warmup 2 --epochs 40 --time-budget $TB --rot 12 --scale 0.12 --shift 0.10 --pretrained $PRE"
VGG="--epochs 100 --time-budget $TB"
nvidia-smi -L
t0=$(date +%s)
python3 benchmarks/train_cnn.py train --data $DATA --out /tmp/smoke --onnx-out /tmp/smoke --model 0 \
  --name smoke --limit 1024 --eval-every 1 --threads 1 $MN --epochs 1 || exit 1
echo "smoke test done after $(( $(date +%s) - t0 )) s"
jobs=()
for s in 1 2 3; do jobs+=(mn_s$s:full:"$MN --seed $s"); done
for s in 1 2 3; do jobs+=(vgg_s$s:full:"$VGG --seed $s"); done
timeout ${LAUNCH_S:-500} python3 benchmarks/train_cnn.py launch --data $DATA --out /tmp/runs --threads 2 \
  --onnx-out $OUT --eval-every 10 "${jobs[@]}" 2>&1 | tee $OUT/launch.log
echo "launch done after $(( $(date +%s) - t0 )) s"
python3 - <<'PY'
import glob, os, zipfile
import numpy as np
out = os.environ["OUT"]
with zipfile.ZipFile(f"{out}/results.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(glob.glob("/tmp/runs/*.npz")):  # results, histories, PublicTest logits
        r = np.load(f)
        small = f[:-4] + ".small.npz"
        np.savez(small, **{k: r[k] for k in r.files if not k.startswith("w.")})
        z.write(small, os.path.basename(f))
print("zipped", sorted(os.listdir(out)))
PY
