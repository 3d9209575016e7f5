#!/bin/sh
# Quantized inference (docs/performance.md, "Quantized inference"): the accuracy table and
# batch-1 latency of the main job's MLP in float32, bf16 and int8 against PyTorch float32 eager.
#
#   1. accuracy: trains the main job's model (scripts/main.sh: `backprop train --data
#      fashion-mnist`, the MLP 784-256-128-10) and LeNet-5 (`--model lenet5`), unless already
#      in $QUANT_DIR; quantizes each (`backprop quantize --to bf16|int8`, int8 calibrated on
#      1,000 training rows) and evaluates every file on the Fashion-MNIST test set
#      (`backprop evaluate`), printing the test accuracies and their differences from float32;
#   2. latency: bench/bench_quant (ours, on the trained MLP and LeNet-5) and bench/peer_quant.py (PyTorch
#      float32 eager, and PyTorch's dynamic int8), alternating REPEATS times so that both see the
#      same load; the medians over the repeats and the ratios PyTorch / ours.
#
# Usage: sh scripts/bench_quant.sh [REPEATS (default 3)]
# Environment: NO_BUILD=1; QUANT_DIR (default build/quant_bench: the trained models, reused);
# SKIP_ACCURACY=1 (latency only); SKIP_LENET=1; PERCENTILE (int8 calibration, default 100).
# Run both sides with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for the issue's figures:
#   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE sh scripts/bench_quant.sh
set -e
cd "$(dirname "$0")/.."
REPEATS="${1:-3}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
BUILD=build
[ "${NO_BUILD:-0}" = 1 ] || sh scripts/build.sh >/dev/null
DIR="${QUANT_DIR:-$BUILD/quant_bench}"
PERCENTILE="${PERCENTILE:-100}"
mkdir -p "$DIR"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
sh scripts/machine_header.sh "$BUILD" torch
echo "# quantized kernels: $("$BUILD/bench_quant" --info | sed 's/.*quantized kernels: //')"

acc() {  # the test accuracy (percent) in an evaluate report
  "$PY" -c 'import json, sys
e = json.load(open(sys.argv[1]))["evaluation"]
print("%.2f" % (100 * (e["accuracy"] if "accuracy" in e else e["metrics"]["ACC"])))' "$1"
}

row() {  # NAME FLOAT_MODEL TYPES...: quantize, evaluate, print one table row per type
  name="$1"; model="$2"; shift 2
  "$BUILD/backprop" evaluate -m "$model" --report "$OUT/$name-f32.json" >/dev/null
  base="$(acc "$OUT/$name-f32.json")"
  printf '%-8s %-8s %8s %9s\n' "$name" float32 "$base" "-"
  for to in "$@"; do
    "$BUILD/backprop" quantize -q -m "$model" -o "$DIR/$name-$to.safetensors" --to "$to" --percentile "$PERCENTILE"
    "$BUILD/backprop" evaluate -m "$DIR/$name-$to.safetensors" --report "$OUT/$name-$to.json" >/dev/null
    a="$(acc "$OUT/$name-$to.json")"
    printf '%-8s %-8s %8s %+9.2f\n' "$name" "$to" "$a" "$(echo "$a - $base" | bc -l)"
  done
}

if [ "${SKIP_ACCURACY:-0}" != 1 ]; then
  [ -f "$DIR/mlp.safetensors" ] || "$BUILD/backprop" train --data fashion-mnist -q -o "$DIR/mlp.safetensors"
  if [ "${SKIP_LENET:-0}" != 1 ]; then
    [ -f "$DIR/lenet5.safetensors" ] || "$BUILD/backprop" train --data fashion-mnist --model lenet5 -q -o "$DIR/lenet5.safetensors"
  fi
  echo
  echo "# test accuracy on Fashion-MNIST (10,000 images), percent; difference from float32 in points"
  printf '%-8s %-8s %8s %9s\n' model weights accuracy "vs f32"
  row mlp "$DIR/mlp.safetensors" bf16 int8
  [ "${SKIP_LENET:-0}" = 1 ] || row lenet5 "$DIR/lenet5.safetensors" bf16 int8
fi

MODEL_ARG=""
[ -f "$DIR/mlp.safetensors" ] && MODEL_ARG="--model $DIR/mlp.safetensors"
[ -f "$DIR/lenet5.safetensors" ] && MODEL_ARG="$MODEL_ARG --lenet $DIR/lenet5.safetensors"
echo
echo "# batch-1 latency (median us per call, 1 thread)"
i=1
while [ "$i" -le "$REPEATS" ]; do
  # shellcheck disable=SC2086
  "$BUILD/bench_quant" $MODEL_ARG | tee -a "$OUT/ours" | grep '^# ' | grep -v '^# BLAS' | sed 's/^/ours    /'
  "$PY" bench/peer_quant.py | tee -a "$OUT/peer" | grep '^# pytorch' | sed 's/^/pytorch /'
  i=$((i + 1))
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$OUT/ours" "$OUT/peer" <<'EOF'
import statistics, sys
def load(path):
    r = {}
    for line in open(path):
        if line.startswith("RESULT "):
            _, k, v = line.split()
            r.setdefault(k, []).append(float(v))
    return {k: statistics.median(v) for k, v in r.items()}
ours, peer = load(sys.argv[1]), load(sys.argv[2])
torch, torch_cpu = peer["torch_f32_us"], peer["torch_f32_cpu_us"]
print()
print(f"{'batch 1, 1 thread':<22} {'wall us':>8} {'cpu us':>8} {'PyTorch f32 / ours':>19} {'(cpu)':>7}")
for key, name in [("f32", "ours float32 forward"), ("bf16", "ours bf16 infer"), ("bf16_forward", "ours bf16 forward"),
                  ("int8", "ours int8 infer"), ("int8_forward", "ours int8 forward"),
                  ("bf16_portable", "bf16 portable infer"), ("int8_portable", "int8 portable infer")]:
    if key + "_us" in ours:
        w, c = ours[key + "_us"], ours[key + "_cpu_us"]
        print(f"{name:<22} {w:>8.2f} {c:>8.2f} {torch / w:>18.1f}x {torch_cpu / c:>6.1f}x")
print(f"{'PyTorch float32 eager':<22} {torch:>8.2f} {torch_cpu:>8.2f}")
if "torch_dynint8_us" in peer:
    print(f"{'PyTorch dynamic int8':<22} {peer['torch_dynint8_us']:>8.2f} {peer['torch_dynint8_cpu_us']:>8.2f}")
print()
print(f"{'LeNet-5, batch 1':<22} {'wall us':>8} {'cpu us':>8} {'f32 / this':>11}")
for key in ["f32", "bf16", "int8"]:
    w, c = ours["lenet_" + key + "_us"], ours["lenet_" + key + "_cpu_us"]
    print(f"{'ours ' + key + ' forward':<22} {w:>8.2f} {c:>8.2f} {ours['lenet_f32_us'] / w:>10.2f}x")
print(f"(goal: int8 batch 1 <= 4 us and >= 7x PyTorch float32 eager)")
EOF
