#!/bin/sh
# Configures and builds backprop in ./build (Release). Extra arguments go to cmake's configure step.
set -e
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$(nproc)"
