#!/bin/sh
# Tree learners against scikit-learn 1.2 / XGBoost 1.7 (Debian) on the study's protocol: Adult
# one-hot coded, 5000 training rows, the other 27561 scored. Both sides read the same prepared
# matrix (bench/peer_trees.py prepare); each learner runs in its own process per side and thread
# count, alternating ours / peer REPEATS times, and the medians are compared:
#   fit and score seconds, their ratios (peer / ours: > 1 means we are faster), ROC area, peak RSS.
# Usage: sh scripts/bench_trees.sh [REPEATS (default 1)] [THREADS (default 1,2)] [LEARNERS]
#        sh scripts/bench_trees.sh scale      # fit time against rows (5000, 20000, all) and trees
# Environment: NO_BUILD=1, BENCH_BUILD=DIR (default build), ADULT=path of Adult.csv.
set -e
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
BUILD="${BENCH_BUILD:-build}"
ADULT="${ADULT:-data/Adult.csv.gz}"
[ -f "$ADULT" ] || { echo "bench_trees.sh: $ADULT not found (set ADULT=...)" >&2; exit 1; }
[ "${NO_BUILD:-0}" = 1 ] || cmake --build "$BUILD" -j2 --target bench_trees >/dev/null
sh scripts/machine_header.sh "$BUILD" sklearn
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

if [ "${1:-}" = scale ]; then
  for rows in 5000 20000 0; do
    "$PY" bench/peer_trees.py prepare "$ADULT" "$OUT/adult_$rows.bin" --train "$rows" >/dev/null
    for l in random-forest bagged-trees boosted-stumps boosted-trees xgboost; do
      "$BUILD/bench_trees" "$OUT/adult_$rows.bin" "$l" 2 | sed "s/^RESULT /ROWS $rows /" >>"$OUT/scale"
    done
  done
  for trees in 64 256 1024; do
    "$BUILD/bench_trees" "$OUT/adult_5000.bin" random-forest 2 "{\"trees\": $trees}" | sed "s/^RESULT /TREES $trees /" >>"$OUT/scale"
  done
  "$PY" - "$OUT/scale" <<'PYEOF'
import json, sys
print(f"{'learner':<16}{'train rows':>11}{'fit s':>9}{'score s':>9}{'ROC':>8}{'RSS MB':>8}")
for line in open(sys.argv[1]):
    kind, n, js = line.split(" ", 2)
    r = json.loads(js)
    label = ("all" if n == "0" else n) if kind == "ROWS" else f"5000, {n} trees"
    print(f"{r['learner']:<16}{label:>11}{r['fit_s']:>9.2f}{r['score_s']:>9.2f}{r['auc']:>8.4f}{r['peak_rss_mb']:>8.0f}")
PYEOF
  exit 0
fi

REPEATS="${1:-1}"
THREADS="${2:-1,2}"
LEARNERS="${3:-random-forest bagged-trees boosted-stumps boosted-trees xgboost}"
"$PY" bench/peer_trees.py prepare "$ADULT" "$OUT/adult.bin"
i=1
while [ "$i" -le "$REPEATS" ]; do
  for l in $LEARNERS; do
    for t in $(echo "$THREADS" | tr ',' ' '); do
      "$BUILD/bench_trees" "$OUT/adult.bin" "$l" "$t" | sed 's/^RESULT /OURS /' >>"$OUT/res"
      "$PY" bench/peer_trees.py run "$OUT/adult.bin" "$l" "$t" | sed 's/^RESULT /PEER /' >>"$OUT/res"
    done
  done
  i=$((i + 1))
done
"$PY" - "$OUT/res" <<'PYEOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, js = line.split(" ", 1)
    r = json.loads(js)
    runs.setdefault((r["learner"], r["threads"], side), []).append(r)
med = lambda rs, k: statistics.median(x[k] for x in rs)
learners = list(dict.fromkeys(k[0] for k in runs))
print(f"\n{'learner':<15}{'thr':>4} | {'fit s ours':>10}{'peer':>8}{'ratio':>7} | {'score s ours':>12}{'peer':>8}{'ratio':>7} |"
      f" {'ROC ours':>8}{'peer':>8} | {'RSS MB ours':>11}{'peer':>6}")
best = {}
for l in learners:
    for t in sorted({k[1] for k in runs if k[0] == l}):
        o, p = runs[(l, t, "OURS")], runs[(l, t, "PEER")]
        fo, fp, so, sp = med(o, "fit_s"), med(p, "fit_s"), med(o, "score_s"), med(p, "score_s")
        print(f"{l:<15}{t:>4} | {fo:>10.3f}{fp:>8.3f}{fp / fo:>6.2f}x | {so:>12.3f}{sp:>8.3f}{sp / so:>6.2f}x |"
              f" {med(o, 'auc'):>8.4f}{med(p, 'auc'):>8.4f} | {med(o, 'peak_rss_mb'):>11.0f}{med(p, 'peak_rss_mb'):>6.0f}")
        for side, f, s in (("OURS", fo, so), ("PEER", fp, sp)):
            b = best.setdefault((l, side), {"fit": (1e9, 0), "score": (1e9, 0)})
            b["fit"] = min(b["fit"], (f, t))
            b["score"] = min(b["score"], (s, t))
print("\none thread, process CPU time (steadier than wall time on a loaded machine), peer / ours:")
for l in learners:
    if (l, 1, "OURS") in runs:
        o, p = runs[(l, 1, "OURS")], runs[(l, 1, "PEER")]
        print(f"  {l:<15} fit {med(o, 'fit_cpu_s'):7.3f} s vs {med(p, 'fit_cpu_s'):7.3f} s = {med(p, 'fit_cpu_s') / med(o, 'fit_cpu_s'):5.2f}x"
              f"   score {med(o, 'score_cpu_s'):7.3f} s vs {med(p, 'score_cpu_s'):7.3f} s = {med(p, 'score_cpu_s') / med(o, 'score_cpu_s'):5.2f}x")
print("\nbest thread count each side (peer / ours; goal >= 3x for the scikit-learn learners):")
for l in learners:
    o, p = best[(l, "OURS")], best[(l, "PEER")]
    print(f"  {l:<15} fit {p['fit'][0] / o['fit'][0]:5.2f}x (ours {o['fit'][1]} thr, peer {p['fit'][1]})"
          f"   score {p['score'][0] / o['score'][0]:5.2f}x (ours {o['score'][1]} thr, peer {p['score'][1]})")
if ("boosted-trees", "OURS") in best and ("xgboost", "PEER") in best:
    o, x = best[("boosted-trees", "OURS")], best[("xgboost", "PEER")]
    print(f"  our boosted-trees fit / XGBoost fit (best each): {o['fit'][0] / x['fit'][0]:.2f}x (goal <= 2x at equal ROC)")
PYEOF
