#!/bin/sh
# Installs the Debian 12 packages that backprop needs to build, test and run its main job,
# skipping the ones already present. Runs apt-get as root, through sudo when needed.
set -e
PKGS="build-essential cmake pkg-config libopenblas-dev libopenblas-pthread-dev zlib1g-dev nlohmann-json3-dev libcli11-dev \
libcairo2-dev libgtest-dev dataset-fashion-mnist libxgboost-dev libonnx-dev libprotobuf-dev libonnx-testdata libsvm-dev \
libopenmpi-dev openmpi-bin pybind11-dev python3-dev python3-numpy python3-pytest python3-sklearn libdnnl-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "backprop: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
