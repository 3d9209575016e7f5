#!/bin/sh
# The Python module's per-call overhead against the C++ it calls (docs/python.md):
# builds the module and bench/python_overhead_cpp, then runs bench/python_overhead.py.
# Extra arguments go to the Python script (--calls N, --features D, --hidden H1,H2).
set -e
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target backprop_python python_overhead_cpp
sh scripts/machine_header.sh build none
PY="$(sed -n 's/^PYTHON_EXECUTABLE:FILEPATH=//p' build/CMakeCache.txt)"
OPENBLAS_NUM_THREADS=1 PYTHONPATH=build/python "${PY:-/usr/bin/python3}" bench/python_overhead.py \
  --cpp build/python_overhead_cpp "$@"
