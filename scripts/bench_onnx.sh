#!/bin/sh
# Inference speed, backprop vs ONNX Runtime (onnxruntime-node) on the same exported networks, in
# the same run (docs/onnx.md records results):
#   NODE_PATH=/tmp/ortnode/node_modules sh scripts/bench_onnx.sh      # REPEATS=7 by default
# LeNet-5 at batch 128 (µs per sample) and the MLP 784-256-128-10 at batch 1 (µs per call), each
# side at 1 and 2 threads, interleaved so that both see the same machine load. ONNX Runtime is
# timed through its Node binding in one JS loop; its MLP figure is also shown minus the binding's
# empty call (a one-node graph on the same input), which removes the binding's and ORT's own
# per-call cost: the fairest figure for ORT. Medians of REPEATS runs; cpu = CPU time per call or
# sample (all threads).
set -e
cd "$(dirname "$0")/.."
BUILD="${BENCH_BUILD:-build}"
[ -x "$BUILD/bench_onnx" ] || cmake --build "$BUILD" --target bench_onnx
sh scripts/machine_header.sh "$BUILD" ort
export NODE_PATH=${NODE_PATH:-/tmp/ortnode/node_modules}
REPEATS=${REPEATS:-7}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$BUILD/bench_onnx" --export "$d"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); onnxruntime-node $(node -e "console.log(require('onnxruntime-node/package.json').version)")"
for t in 1 2; do
  "$BUILD/bench_onnx" --threads "$t" --repeats "$REPEATS" | sed 's/^/ours /' | tee -a "$d/out"
  node bench/onnx_ort.js "$d" "$t" "$REPEATS" | sed 's/^/ort /' | tee -a "$d/out"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "case         thr      ours us    ORT us  ORT-empty  ratio ORT/ours (ORT-empty/ours)"
awk '{ split($3, t, "="); split($4, v, "="); split($5, u, "="); k = $1 " " $2
       key = k " " t[2]; us[key] = v[2]; cpu[key] = u[2]
       if (!(k in best) || v[2] < best[k]) { best[k] = v[2]; thr[k] = t[2] } }
     END {
       for (tt = 1; tt <= 2; ++tt) for (ci = 1; ci <= 2; ++ci) {
         n = ci == 1 ? "lenet5_b128" : "mlp_b1"
         o = us["ours " n " " tt]; r = us["ort " n " " tt]
         oc = cpu["ours " n " " tt]; rc = cpu["ort " n " " tt]
         e = n == "mlp_b1" ? r - us["ort empty_b1 " tt] : r
         ec = n == "mlp_b1" ? rc - cpu["ort empty_b1 " tt] : rc
         printf "%-12s %-3d wall %9.3f %9.3f %9.3f   ratio %5.2f (%5.2f)\n", n, tt, o, r, e, r / o, e / o
         printf "%-12s %-3s cpu  %9.3f %9.3f %9.3f   ratio %5.2f (%5.2f)\n", "", "", oc, rc, ec, rc / oc, ec / oc
       }
       for (ci = 1; ci <= 2; ++ci) {
         n = ci == 1 ? "lenet5_b128" : "mlp_b1"
         printf "best thread count, %-12s ours %.3f us (%s thr), ORT %.3f us (%s thr): ratio %.2f\n", n, best["ours " n], thr["ours " n], best["ort " n], thr["ort " n], best["ort " n] / best["ours " n]
       } }' "$d/out"
