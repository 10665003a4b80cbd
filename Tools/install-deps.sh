#!/usr/bin/env bash
# Installs the Debian packages Fillgraph builds against (OpenBLAS, libpng, libjpeg-turbo, libyaml, zlib for
# .npz, pkg-config). Swift itself is expected on PATH (Swift 6.x toolchain).
set -euo pipefail
packages=(libopenblas-dev libpng-dev libjpeg62-turbo-dev libyaml-dev zlib1g-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
command -v swift >/dev/null || { echo "error: swift is not on PATH; install a Swift 6 toolchain from swift.org" >&2; exit 1; }
