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
echo "# $("$BUILD/bench_lstm" --info)"
echo "# $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
i=1
while [ "$i" -le "$REPEATS" ]; do
  "$BUILD/bench_lstm" --threads "$THREADS" --rounds "$ROUNDS" --steps "$STEPS" --budget "$BUDGET" | tee -a "$OUT/ours" | grep '^# threads' | sed 's/^/ours    /'
  "$PY" bench/peer_lstm.py --threads "$THREADS" --rounds "$ROUNDS" --steps "$STEPS" --budget "$BUDGET" | tee -a "$OUT/peer" | grep '^# threads' | sed 's/^/pytorch /'
  i=$((i + 1))
done
"$PY" - "$OUT/ours" "$OUT/peer" <<'PYEOF'
import statistics, sys
def load(path):
    r = {}
    for line in open(path):
        if line.startswith("RESULT "):
            _, key, val = line.split()
            r.setdefault(key, []).append(float(val))
    return {k: statistics.median(v) for k, v in r.items()}
ours, peer = load(sys.argv[1]), load(sys.argv[2])
threads = sorted(int(k.split("_t")[1]) for k in ours if k.startswith("train_cps_t"))
print()
print(f"{'threads':>8} {'ours chars/s':>13} {'PyTorch':>10} {'ratio':>7}   {'ours us/char (gen)':>19} {'PyTorch':>9} {'ratio':>7}")
for t in threads:
    a, b = ours[f"train_cps_t{t}"], peer[f"train_cps_t{t}"]
    c, d = ours[f"gen_us_t{t}"], peer[f"gen_us_t{t}"]
    print(f"{t:>8} {a:>13.0f} {b:>10.0f} {a / b:>6.2f}x   {c:>19.2f} {d:>9.2f} {d / c:>6.2f}x")
best = lambda r, key, pick: pick((r[f"{key}_t{t}"], t) for t in threads)
(ot, otn), (pt, ptn) = best(ours, "train_cps", max), best(peer, "train_cps", max)
(oi, oin), (pi, pin) = best(ours, "gen_us", min), best(peer, "gen_us", min)
print(f"\ntraining, best thread count each: ours {ot:.0f} chars/s ({otn} threads) / PyTorch {pt:.0f} ({ptn} threads)"
      f" = {ot / pt:.2f}x   (goal >= 2x)")
print(f"batch-1 generation, best each:    PyTorch {pi:.2f} us/char ({pin} threads) / ours {oi:.2f} us/char ({oin} threads)"
      f" = {pi / oi:.2f}x   (goal >= 5x)")
PYEOF
