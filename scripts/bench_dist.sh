#!/bin/sh
# Data-parallel training speed (docs/distributed.md, "Measured"): bench/bench_dist for the MLP and
# LeNet-5, three ways, alternating REPEATS times so that all see the same machine load:
#   P=1 x 1 thread     one process, one thread (no MPI)
#   P=2 x 1 thread     mpirun -np 2, one thread per rank, each rank half of every batch of 128
#   P=1 x 2 threads    one process, two threads
# and prints the medians: samples/s (wall), CPU seconds per 1000 samples (all ranks' user +
# system time added), the all-reduce's milliseconds per step (rank 0, waiting included), and
# the load average before and after. "alone": the all-reduce of the model's gradient timed by
# itself (both ranks ready), its cost apart from waiting for a rank the load held back.
# Usage: sh scripts/bench_dist.sh [REPEATS (default 3)] [MODELS (default "mlp lenet5")]
# Environment: NO_BUILD=1, BENCH_BUILD=DIR (an existing build folder), STEPS (per epoch, default 20).
#
#   sh scripts/bench_dist.sh fashion [EPOCHS (default 3)]
# instead trains `backprop train` (the default MLP, Adam, batch 128, cosine) on Fashion-MNIST
# one thread per process: alone, then synchronous and asynchronous at P = 2 and 3, and prints
# each run's test accuracy, train loss, samples/s and CPU time (all processes), and for the
# asynchronous runs the staleness the server saw.
set -e
cd "$(dirname "$0")/.."
if [ "${1:-}" = fashion ]; then
  EPOCHS="${2:-3}"
  BUILD="${BENCH_BUILD:-build}"
  [ "${NO_BUILD:-0}" = 1 ] || [ -n "${BENCH_BUILD:-}" ] || sh scripts/build.sh >/dev/null
  MPIRUN="mpirun --oversubscribe --bind-to none"
  [ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
  OUT="$(mktemp -d)"
  trap 'rm -rf "$OUT"' EXIT
  echo "# Fashion-MNIST, MLP 784-256-128-10, Adam lr 1e-3 cosine, batch 128, $EPOCHS epochs, 1 thread per process"
  sh scripts/machine_header.sh "$BUILD" none
  echo "# $(nproc) CPUs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  printf "%-14s %9s %10s %11s %12s %s\n" run accuracy train_loss samples/s "CPU s" staleness
  for run in "alone" "sync 2" "async 2" "sync 3" "async 3"; do
    set -- $run
    ARGS="train --data fashion-mnist --epochs $EPOCHS --threads 1 -q -o $OUT/m.safetensors --report $OUT/r.json"
    # CPU time of the whole job (mpirun's children included): bash's times via /usr/bin/time.
    case $1 in
      alone) cmd="$BUILD/backprop $ARGS" ;;
      sync) cmd="$MPIRUN -np $2 $BUILD/backprop $ARGS --distributed" ;;
      async) cmd="$MPIRUN -np $2 $BUILD/backprop $ARGS --async" ;;
    esac
    /usr/bin/time -f "%U %S %e" -o "$OUT/time" env OPENBLAS_NUM_THREADS=1 $cmd >"$OUT/log" 2>&1 || { cat "$OUT/log"; exit 1; }
    /usr/bin/python3 - "$OUT/r.json" "$OUT/time" "$run" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); u, s, e = map(float, open(sys.argv[2]).read().split()[-3:])
t = r["training"]; hist = t.get("history") or []
loss = hist[-1]["loss"] if hist else float("nan")
d = t.get("distributed", {})
st = "max %d, mean %.2f, dropped %d" % (d["max_staleness"], d["mean_staleness"], d["gradients_dropped"]) if "max_staleness" in d else ""
sps = t["mean_samples_per_second"]
print("%-14s %9.4f %10.4f %11.0f %12.1f %s" % (sys.argv[3], r["test"]["accuracy"], loss, sps, u + s, st))
PY
  done
  echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
REPEATS="${1:-3}"
MODELS="${2:-mlp lenet5}"
STEPS="${STEPS:-20}"
BUILD="${BENCH_BUILD:-build}"
[ "${NO_BUILD:-0}" = 1 ] || [ -n "${BENCH_BUILD:-}" ] || sh scripts/build.sh >/dev/null
sh scripts/machine_header.sh "$BUILD" none
MPIRUN="mpirun --oversubscribe --bind-to none"
[ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
echo "# $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPUs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for model in $MODELS; do
  i=1
  while [ "$i" -le "$REPEATS" ]; do
    OPENBLAS_NUM_THREADS=1 "$BUILD/bench_dist" --model "$model" --threads 1 --steps "$STEPS" >>"$OUT/$model.p1t1"
    OPENBLAS_NUM_THREADS=1 $MPIRUN -np 2 "$BUILD/bench_dist" --model "$model" --threads 1 --steps "$STEPS" >>"$OUT/$model.p2t1"
    "$BUILD/bench_dist" --model "$model" --threads 2 --steps "$STEPS" >>"$OUT/$model.p1t2"
    i=$((i + 1))
  done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Per run: samples/s from rank 0's line, CPU from every rank's line (added).
summary() {  # FILE LABEL
  awk -v label="$2" '
    function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    /^# bench_dist/ { run++ }
    $1 == "RESULT" && $2 == "samples_per_s" { sps[++ns] = $3 }
    $1 == "RESULT" && $2 == "reduce_ms_per_step" { red[++nr] = $3 }
    $1 == "RESULT" && $2 == "reduce_alone_ms" { alone[++na] = $3 }
    $1 == "RESULT" && $2 ~ /^cpu_s_per_1000_rank/ { cpu[run] += $3 }
    END { for (r = 1; r <= run; r++) c[r] = cpu[r]
          printf "%-16s %10.0f samples/s   %8.3f CPU s/1000 samples   %7.3f ms/step in all-reduce", label, med(sps, ns), med(c, run), med(red, nr)
          if (na) printf " (%.3f ms alone)", med(alone, na)
          printf "\n" }' "$1"
}
for model in $MODELS; do
  echo "## $model ($(awk '$2 == "params" { print $3; exit }' "$OUT/$model.p1t1") parameters), global batch 128, medians of $REPEATS runs"
  summary "$OUT/$model.p1t1" "P=1 x 1 thread"
  summary "$OUT/$model.p2t1" "P=2 x 1 thread"
  summary "$OUT/$model.p1t2" "P=1 x 2 threads"
  a=$(summary "$OUT/$model.p1t1" x | awk '{ print $2 }')
  b=$(summary "$OUT/$model.p2t1" x | awk '{ print $2 }')
  c=$(summary "$OUT/$model.p1t2" x | awk '{ print $2 }')
  awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { printf "ratios of the medians: P=2x1 / P=1x1 = %.2f, P=2x1 / P=1x2 = %.2f\n", b / a, b / c }'
done
