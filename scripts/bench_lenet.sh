#!/bin/sh
# LeNet-5 and residual-net speed and LeNet-5 memory, backprop vs PyTorch in the same run
# (docs/cnn.md records results).
#   sh scripts/bench_lenet.sh            # STEPS=50 REPEATS=5 RESNET_STEPS=20 by default
# Speed: training (batch 128, Adam) and inference (batch 128 and 1) in samples/s, each side at
# 1 and 2 threads, interleaved so that both see the same machine load; the ratios compare
# each side's best thread count. Memory: peak resident set of the same 300 training steps.
# Both run in the caller's environment. (PyTorch's two-thread numbers collapse whenever another
# process runs: its OpenMP threads busy-wait. OMP_WAIT_POLICY=passive helps it; ours does not
# use OpenMP threads, see backend/backend.hpp, the pool.)
# Residual net: nn::make_resnet's default network against its twin (peer_lenet.py --model resnet),
# first checked to be the same network (bench_lenet --dump, peer_lenet.py --check: same weights,
# same outputs, gradients and running statistics), then timed the same way (RESNET_STEPS steps
# per repeat; RESNET_STEPS=0 skips it).
# Environment: BENCH_BUILD=DIR runs DIR/bench_lenet instead of ./build's (e.g. another commit's).
set -e
cd "$(dirname "$0")/.."
BUILD="${BENCH_BUILD:-build}"
[ -x "$BUILD/bench_lenet" ] || sh scripts/build.sh
PY=${PY:-/usr/bin/python3}
STEPS=${STEPS:-50}
REPEATS=${REPEATS:-5}
RESNET_STEPS=${RESNET_STEPS:-20}
out=$(mktemp)
res=$(mktemp)
dump=$(mktemp --suffix=.safetensors)
trap 'rm -f "$out" "$res" "$dump"' EXIT
# Each side's best thread count per measurement, and their ratio, from "side what threads=T samples_per_s=V" lines.
best_ratios() {
  awk '{ split($3, t, "="); split($4, v, "="); k = $1 " " $2
         if (!(k in best) || v[2] > best[k]) { best[k] = v[2]; thr[k] = t[2] } }
       END { for (m in best) if (m ~ /^ours/) { split(m, p, " "); o = "torch " p[2]
               printf "  %-9s ours %9.1f (%s thr)  torch %9.1f (%s thr)  ratio %.2f\n", p[2], best[m], thr[m], best[o], thr[o], best[m] / best[o] } }' "$1" | sort
}
echo "ours: $("$BUILD/bench_lenet" --info)"
echo "peer: $("$PY" bench/peer_machine.py torch)"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
for t in 1 2; do
  "$BUILD/bench_lenet" --threads "$t" --steps "$STEPS" --repeats "$REPEATS" | sed 's/^/ours /' | tee -a "$out"
  "$PY" bench/peer_lenet.py --threads "$t" --steps "$STEPS" --repeats "$REPEATS" | sed 's/^/torch /' | tee -a "$out"
done
echo "best thread count each, ours / PyTorch:"
best_ratios "$out"

echo "peak resident memory, 300 training steps at 1 thread (Maximum resident set size):"
ours=$(/usr/bin/time -v "$BUILD/bench_lenet" --threads 1 --steps 300 --repeats 1 --train-only 2>&1 >/dev/null | awk '/Maximum resident/ {print $6}')
torch=$(/usr/bin/time -v "$PY" bench/peer_lenet.py --threads 1 --steps 300 --repeats 1 --train-only 2>&1 >/dev/null | awk '/Maximum resident/ {print $6}')
echo "  ours ${ours} KiB  torch ${torch} KiB  ratio $(awk -v a="$ours" -v b="$torch" 'BEGIN { printf "%.2f", a / b }')"

[ "$RESNET_STEPS" -gt 0 ] || exit 0
echo "residual net (make_resnet, 107,946 parameters, batch 128, mirroring and dropout on), $RESNET_STEPS steps per repeat:"
if "$BUILD/bench_lenet" --model resnet --dump "$dump" 2>/dev/null; then
  "$PY" bench/peer_lenet.py --check "$dump" | sed 's/^/  /'
else
  echo "  twin check skipped: $BUILD/bench_lenet has no --dump (an older build)"
fi
for t in 1 2; do
  "$BUILD/bench_lenet" --model resnet --threads "$t" --steps "$RESNET_STEPS" --repeats "$REPEATS" | sed 's/^/ours /' | tee -a "$res"
  "$PY" bench/peer_lenet.py --model resnet --threads "$t" --steps "$RESNET_STEPS" --repeats "$REPEATS" | sed 's/^/torch /' | tee -a "$res"
done
echo "residual net, best thread count each, ours / PyTorch (load now $(cut -d' ' -f1-3 /proc/loadavg)):"
best_ratios "$res"
