#!/bin/sh
# Prints what both sides of a benchmark run on (docs/performance.md, "What a benchmark ran"):
#   # ours: the BLAS, its kernel set, the OPENBLAS_* environment, the CPU and its vector extensions
#   # peer: the peer's version and kernels (PyTorch, scikit-learn + the BLAS NumPy loaded, ONNX Runtime)
# Usage: sh scripts/machine_header.sh BUILD_DIR torch|sklearn|ort|none
set -e
BUILD="${1:-build}"
PEER="${2:-none}"
[ -x "$BUILD/backprop" ] || cmake --build "$BUILD" --target backprop >/dev/null
echo "# ours: $("$BUILD/backprop" info --json | /usr/bin/python3 -c 'import json, sys
j = json.load(sys.stdin)
print(j["blas"] + "; BLAS core " + j["blas_core"] + " (" + (j["blas_env"] or "no OPENBLAS_* set") + "); CPU " + j["cpu"] + ", " + j["cpu_isa"])')"
case "$PEER" in
  torch|sklearn) echo "# peer: $(/usr/bin/python3 "$(dirname "$0")/../bench/peer_machine.py" "$PEER")" ;;
  ort) echo "# peer: onnxruntime-node $(node -e "console.log(require('onnxruntime-node/package.json').version)" 2>/dev/null || echo '?') (its MLAS kernels, chosen by CPUID at run time; OPENBLAS_* does not apply)" ;;
  none) ;;
  *) echo "machine_header.sh: unknown peer '$PEER'" >&2; exit 2 ;;
esac
echo "# $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
