#!/usr/bin/env bash
# The main job end to end: install dependencies, build, compile the DeepFill v2 graph with the
# shipped trained weights (Models/deepfill_v2_demo, float16) and fill the sample photo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tools/install-deps.sh
swift build -c release
.build/release/graphc compile Graphs/deepfill_v2.yaml --weights Models/deepfill_v2_demo/deepfill_v2_demo.bin --store float16 -o model.bin
.build/release/graphrun model.bin --input Samples/coffee.png --mask Samples/coffee_mask.png --output out.png
