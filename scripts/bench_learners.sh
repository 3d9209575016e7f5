#!/bin/sh
# svm, knn and naive-bayes against scikit-learn 1.2 (Debian) on the study's protocol: Adult
# one-hot coded (bench/peer_trees.py prepare), 5000 training rows, the other 27561 scored, the
# numeric columns standardized (one-hot ones left 0/1, as the pipeline does). Each learner runs
# in its own process per side, alternating ours / peer
# REPEATS times, one thread (OPENBLAS_NUM_THREADS=1 on both sides); medians compared:
#   fit and score seconds (wall and CPU), their ratios (peer / ours: > 1 means we are faster), ROC.
# Usage: sh scripts/bench_learners.sh [REPEATS (default 1)] [LEARNERS]
# Environment: NO_BUILD=1, BENCH_BUILD=DIR (default build), ADULT=path of Adult.csv.
set -e
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
BUILD="${BENCH_BUILD:-build}"
ADULT="${ADULT:-data/Adult.csv.gz}"
[ -f "$ADULT" ] || { echo "bench_learners.sh: $ADULT not found (set ADULT=...)" >&2; exit 1; }
[ "${NO_BUILD:-0}" = 1 ] || cmake --build "$BUILD" -j2 --target bench_learners >/dev/null
sh scripts/machine_header.sh "$BUILD" sklearn
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
export OPENBLAS_NUM_THREADS=1
REPEATS="${1:-1}"
LEARNERS="${2:-svm knn naive-bayes}"
"$PY" bench/peer_trees.py prepare "$ADULT" "$OUT/adult.bin"
i=1
while [ "$i" -le "$REPEATS" ]; do
  for l in $LEARNERS; do
    "$BUILD/bench_learners" "$OUT/adult.bin" "$l" 1 | sed 's/^RESULT /OURS /' >>"$OUT/res"
    "$PY" bench/peer_learners.py "$OUT/adult.bin" "$l" 1 | sed 's/^RESULT /PEER /' >>"$OUT/res"
  done
  i=$((i + 1))
done
"$PY" - "$OUT/res" <<'PYEOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, js = line.split(" ", 1)
    r = json.loads(js)
    runs.setdefault((r["learner"], side), []).append(r)
med = lambda rs, k: statistics.median(r[k] for r in rs)
print(f"{'learner':<12}{'fit s':>8}{'peer':>8}{'cpu ratio':>10}{'score s':>9}{'peer':>8}{'cpu ratio':>10}{'ROC':>8}{'peer':>8}")
for l in dict.fromkeys(k[0] for k in runs):
    o, p = runs[(l, "OURS")], runs[(l, "PEER")]
    print(f"{l:<12}{med(o,'fit_s'):>8.2f}{med(p,'fit_s'):>8.2f}{med(p,'fit_cpu_s')/med(o,'fit_cpu_s'):>10.2f}"
          f"{med(o,'score_s'):>9.2f}{med(p,'score_s'):>8.2f}{med(p,'score_cpu_s')/med(o,'score_cpu_s'):>10.2f}"
          f"{med(o,'auc'):>8.4f}{med(p,'auc'):>8.4f}")
PYEOF
