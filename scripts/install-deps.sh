#!/usr/bin/env bash
# Installs the Debian packages Topiary needs, skipping what is already there.
# OpenBLAS (GEMM), oneDNN (convolutions), zlib (gzipped datasets), pkg-config (finds OpenBLAS),
# Fashion-MNIST.
set -euo pipefail
packages=(libopenblas-dev libdnnl-dev zlib1g-dev pkg-config dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
