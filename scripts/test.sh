#!/bin/sh
# Installs what is missing, builds, and runs the whole test suite through CTest.
set -e
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 600
