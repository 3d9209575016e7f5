#!/bin/sh
# Builds, then runs bench/bench_mlp (ours) and bench/peer_mlp.py (PyTorch, Debian's python3-torch)
# on the same work, alternating REPEATS times so that both see the same machine load, and
# prints the medians over the repeats and the ratios:
#   training:  ours / PyTorch samples/s (each at its best thread count, and per thread count)
#   batch 1:   PyTorch / ours latency
# Usage: sh scripts/bench.sh [REPEATS (default 3)] [THREADS (default 1,2)]
# Environment: BENCH_ROUNDS, BENCH_BATCHES (timed rounds of batches per run), NO_BUILD=1,
# BENCH_BUILD=DIR (an existing build folder to run instead of ./build, e.g. another commit's;
# implies NO_BUILD).
set -e
cd "$(dirname "$0")/.."
REPEATS="${1:-3}"
THREADS="${2:-1,2}"
ROUNDS="${BENCH_ROUNDS:-7}"
BATCHES="${BENCH_BATCHES:-50}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
BUILD="${BENCH_BUILD:-build}"
[ "${NO_BUILD:-0}" = 1 ] || [ -n "${BENCH_BUILD:-}" ] || sh scripts/build.sh >/dev/null
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
echo "# ours: $("$BUILD/bench_mlp" --info)"
echo "# peer: $("$PY" bench/peer_machine.py torch)"
echo "# $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
i=1
while [ "$i" -le "$REPEATS" ]; do
  "$BUILD/bench_mlp" --threads "$THREADS" --rounds "$ROUNDS" --batches "$BATCHES" | tee -a "$OUT/ours" | grep '^# threads' | sed 's/^/ours    /'
  "$PY" bench/peer_mlp.py --threads "$THREADS" --rounds "$ROUNDS" --batches "$BATCHES" | tee -a "$OUT/peer" | grep '^# threads' | sed 's/^/pytorch /'
  i=$((i + 1))
done
"$PY" bench/ratio_table.py "$OUT/ours" "$OUT/peer" train_sps samples/s infer_us "batch-1 inference" 2 10
