#!/usr/bin/env bash
# The GPU run behind the distilled members of fau's ensemble appearance CNN (issue 14, fourth
# pass; docs/cnn.md, "Distillation"). Run on the device machine from the repository root, carrying
#   .carry/fer_trainval_q80.npz         python benchmarks/train_cnn.py pack --jpeg 80 --out .carry/fer_trainval_q80.npz
#   .carry/mobilenet_v2_features.npz    python benchmarks/train_cnn.py backbone
#   .carry/teacher_logits.npz           python benchmarks/cnn_members.py teacher <the 9 full-Training networks>
# (JPEG q80: a call carries at most 64 MiB with the working tree.) Trains, in parallel on one GPU,
# VGG and MobileNetV2 students of the teachers' mean logits (train_cnn.py --teacher --kd-alpha),
# each with the recipe of its architecture (device_members.sh), and returns them as ONNX.
set -uo pipefail
export PYTHONUNBUFFERED=1
DATA=.carry/fer_trainval_q80.npz
PRE=.carry/mobilenet_v2_features.npz
KD="--teacher .carry/teacher_logits.npz --kd-t 2.0"
TB=${TIME_BUDGET:-430}
MN="--arch mobilenetv2 --size 96 --batch 256 --lr 0.001 --wd 0.05 --dropout 0.2 --label-smoothing 0.1 \
--ema 0.998 --warmup 2 --epochs 40 --time-budget $TB --rot 12 --scale 0.12 --shift 0.10 --pretrained $PRE"
VGG="--epochs 100 --time-budget $TB"
FRAME="--scale 0.2 --shift 0.12 --rot 15"
nvidia-smi -L
t0=$(date +%s)
python3 benchmarks/train_cnn.py train --data $DATA --out /tmp/smoke --onnx-out /tmp/smoke --model 0 \
  --name smoke --limit 1024 --eval-every 1 --threads 1 $MN $KD --kd-alpha 0.5 --epochs 1 || exit 1
echo "smoke test done after $(( $(date +%s) - t0 )) s"
jobs=(kd_vgg_a5:full:"$VGG $KD --kd-alpha 0.5 --seed 11" kd_vgg_a9:full:"$VGG $KD --kd-alpha 0.9 --seed 12"
      kd_vggf_a5:full:"$VGG $FRAME $KD --kd-alpha 0.5 --seed 13"
      kd_mn_a5:full:"$MN $KD --kd-alpha 0.5 --seed 11" kd_mn_a9:full:"$MN $KD --kd-alpha 0.9 --seed 12"
      kd_mn_a5b:full:"$MN $KD --kd-alpha 0.5 --seed 13")
timeout ${LAUNCH_S:-500} python3 benchmarks/train_cnn.py launch --data $DATA --out /tmp/runs --threads 2 \
  --onnx-out $OUT --eval-every 10 "${jobs[@]}" 2>&1 | tee $OUT/launch.log
echo "launch done after $(( $(date +%s) - t0 )) s"
