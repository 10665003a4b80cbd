#!/usr/bin/env bash
# Fillgraph vs PyTorch eager, torch.compile and ONNX Runtime, side by side (Docs/performance.md).
# Prepares a Python virtual environment OUTSIDE the repository (default ~/.cache/fillgraph-peers;
# override with FILLGRAPH_PEERS_VENV), installs torch (CPU), onnxruntime, onnx and numpy from PyPI,
# builds graphbench, and runs Tools/peers/bench_peers.py with any arguments given, e.g.
#   bash Tools/peers/run.sh --sizes 256,512 --runs 5 --threads 2
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${FILLGRAPH_PEERS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fillgraph-peers}"
if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet torch --index-url https://download.pytorch.org/whl/cpu \
        || "$venv/bin/pip" install --quiet torch
    "$venv/bin/pip" install --quiet onnxruntime onnx numpy
fi
swift build -c release --product graphbench >&2
exec "$venv/bin/python" Tools/peers/bench_peers.py "$@"
