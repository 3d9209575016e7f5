#!/bin/sh
# `backprop train` with its defaults (no tuning option) against a tuned scikit-learn
# LogisticRegression (C by cross-validation) / RidgeCV (alpha by leave-one-out) on every CSV in
# data/, on the same train/test split (bench/peer_small_data.py says how), printing the table
# docs/small-data.md shows.
# Usage: sh scripts/compare_small_data.sh [NAME ...]   (BreastCancer Sonar Ionosphere
#        PimaIndiansDiabetes Servo Adult CalHousing LetterRecognition; default: all)
# Environment: NO_BUILD=1 to use build/backprop as it is.
set -e
cd "$(dirname "$0")/.."
if [ -z "$NO_BUILD" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j2 --target backprop >/dev/null
fi
echo "# ours: $(build/backprop info --json | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["blas"], "; BLAS core", j["blas_core"], "; CPU", j["cpu"], j["cpu_isa"])')"
echo "# peer: $(/usr/bin/python3 bench/peer_machine.py sklearn)"
exec /usr/bin/python3 bench/peer_small_data.py build/backprop "$@"
