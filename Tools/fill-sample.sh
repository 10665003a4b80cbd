#!/usr/bin/env bash
# The main job end to end: install dependencies, build, compile the DeepFill v2 graph and fill
# the shipped sample photo. No trained model ships yet, so the weights are random (seed 1) and
# the hole comes out flat grey, not like a real inpainting.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tools/install-deps.sh
swift build -c release
.build/release/graphc compile Graphs/deepfill_v2.yaml --random-init --seed 1 -o model.bin
.build/release/graphrun model.bin --input Samples/coffee.png --mask Samples/coffee_mask.png --output out.png
