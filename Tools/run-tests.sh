#!/usr/bin/env bash
# The whole test suite, in release mode (debug builds of the numeric kernels are too slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tools/install-deps.sh
swift test -c release
