#!/bin/sh
# Builds, then runs bench/bench_lstm (ours) and bench/peer_lstm.py (PyTorch, Debian's
# python3-torch) on the same work — the character LSTM of issue 12: embedding 64, LSTM 256,
# linear to 65 characters, sequences of 128, batch 32, Adam 2e-3, clip 5 — alternating REPEATS
# times so that both see the same machine load, and prints the medians over the repeats and
# the ratios:
#   training:             ours / PyTorch characters/s (each at its best thread count, and per count)
#   batch-1 generation:   PyTorch / ours microseconds per character
# Usage: sh scripts/bench_lstm.sh [REPEATS (default 3)] [THREADS (default 1,2)]
# Environment: BENCH_ROUNDS, BENCH_STEPS (timed rounds of training steps per run), BENCH_BUDGET
# (at most this many seconds of timed training per thread count and side, default 20), NO_BUILD=1,
# BENCH_BUILD=DIR (an existing build folder to run instead of ./build; implies NO_BUILD).
set -e
cd "$(dirname "$0")/.."
REPEATS="${1:-3}"
THREADS="${2:-1,2}"
ROUNDS="${BENCH_ROUNDS:-5}"
STEPS="${BENCH_STEPS:-10}"
BUDGET="${BENCH_BUDGET:-20}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
BUILD="${BENCH_BUILD:-build}"
[ "${NO_BUILD:-0}" = 1 ] || [ -n "${BENCH_BUILD:-}" ] || sh scripts/build.sh >/dev/null
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
echo "# ours: $("$BUILD/bench_lstm" --info)"
echo "# peer: $("$PY" bench/peer_machine.py torch)"
echo "# $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
i=1
while [ "$i" -le "$REPEATS" ]; do
  "$BUILD/bench_lstm" --threads "$THREADS" --rounds "$ROUNDS" --steps "$STEPS" --budget "$BUDGET" | tee -a "$OUT/ours" | grep '^# threads' | sed 's/^/ours    /'
  "$PY" bench/peer_lstm.py --threads "$THREADS" --rounds "$ROUNDS" --steps "$STEPS" --budget "$BUDGET" | tee -a "$OUT/peer" | grep '^# threads' | sed 's/^/pytorch /'
  i=$((i + 1))
done
"$PY" bench/ratio_table.py "$OUT/ours" "$OUT/peer" train_cps chars/s gen_us "batch-1 generation, us/char" 2 5
