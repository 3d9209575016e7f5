#!/bin/sh
# The main job: install what is missing, build, then train and evaluate the default model
# on the default data set.
set -e
cd "$(dirname "$0")/.."
sh scripts/deps.sh
sh scripts/build.sh
exec ./build/backprop train --data fashion-mnist --output fashion-mnist-mlp.safetensors "$@"
