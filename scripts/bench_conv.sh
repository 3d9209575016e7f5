#!/bin/sh
# Per-layer convolution speed: our kernels (ops/conv.cpp) against oneDNN's primitives
# (backend/dnnl_conv.cpp) on LeNet-5's and the residual net's layers, batch 128, forward /
# input gradient / weight gradient, at 1 and 2 threads (bench/bench_conv.cpp; docs/performance.md,
# "oneDNN against our kernels", records results).
#   sh scripts/bench_conv.sh              # ROUNDS=7 ITERS=10 by default
# Runs, each printing what it ran (BLAS core, oneDNN version and ISA) and the load average:
#   1. the environment as set (this workplace: OPENBLAS_CORETYPE=Haswell OPENBLAS_L2_SIZE=512);
#   2. with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (OpenBLAS's own choice of kernels);
#   3. unset, 2 threads, oneDNN on its own OpenMP team instead of the pool, and what its idle
#      spinning costs the pool work after it (--spin), with OMP_WAIT_POLICY as set and =passive.
# Environment: BENCH_BUILD=DIR runs DIR/bench_conv (default ./build).
set -e
cd "$(dirname "$0")/.."
BUILD="${BENCH_BUILD:-build}"
[ -x "$BUILD/bench_conv" ] || cmake --build "$BUILD" --target bench_conv >/dev/null
ROUNDS=${ROUNDS:-7}
ITERS=${ITERS:-10}
load() { echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"; }
echo "## 1. environment as set"
load
"$BUILD/bench_conv" --rounds "$ROUNDS" --iters "$ITERS"
echo "## 2. OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset"
load
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$BUILD/bench_conv" --rounds "$ROUNDS" --iters "$ITERS" --spin
echo "## 3. unset; oneDNN on its own OpenMP team, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}"
load
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$BUILD/bench_conv" --threads 2 --dnnl-openmp --rounds "$ROUNDS" --iters "$ITERS" --spin
echo "## 3b. the same with OMP_WAIT_POLICY=passive"
load
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=passive "$BUILD/bench_conv" --threads 2 --dnnl-openmp --rounds "$ROUNDS" --iters "$ITERS" --spin
load
