#!/usr/bin/env bash
# Image speed on the lent GPU machine's CPUs (16 cores; docs/benchmarks.md, "Image speed"):
# bench_image.py on both frames, twice each, on all cores and on 4 of them, then
# image_timeline.py and image_levers.py. The device image has no mediapipe, LiteRT, pandas 3 or xgboost:
# they come as one tarball of their unpacked cp312 wheels (libmediapipe.so stripped of
# symbols, LiteRT's vendor compiler plugins, tools and WebGPU accelerator left out), xz
# compressed and cut into parts small enough to travel beside the working tree, one part
# per call, copied to /tmp/fau-parts by the calls before this one (the machine stays
# warm between calls); with Debian's GL loaders, which libmediapipe.so links (.gl, as the
# device README's recipe downloads them). Run from the repository root:
#   bash benchmarks/device_image_speed.sh   (writes its tables under $OUT)
set -uo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
if [ ! -d /tmp/sp ]; then
  cat /tmp/fau-parts/sp.part0* | xz -d | tar x -C /tmp || exit 1
fi
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export PYTHONPATH=/tmp/sp:$PWD
nproc; uptime; python3 -V
python3 -c "import fau, mediapipe, ai_edge_litert, pandas; print(fau.__version__, mediapipe.__version__, pandas.__version__)" || exit 1
git log --oneline -1 2>/dev/null || true
for frame in padded close-up padded close-up; do
  python3 benchmarks/bench_image.py --repeats "${REPEATS:-200}" --frame $frame 2>&1 \
    | grep -v -E "^(W0000|INFO)" | tee -a "$OUT/bench_image_16.md"
done
for frame in padded close-up; do
  taskset -c 0-3 python3 benchmarks/bench_image.py --repeats 150 --frame $frame 2>&1 \
    | grep -v -E "^(W0000|INFO)" | tee -a "$OUT/bench_image_4.md"
done
python3 benchmarks/image_timeline.py --repeats 100 2>&1 | grep -v -E "^(W0000|INFO)" \
  | tee "$OUT/image_timeline_16.md"
python3 benchmarks/image_levers.py --repeats 200 2>&1 | grep -v -E "^(W0000|INFO)" \
  | tee "$OUT/image_levers_16.md"
uptime
