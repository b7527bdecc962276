#!/usr/bin/env bash
# Side-by-side speed comparison with PyTorch CPU on this machine. Creates its own
# throwaway virtualenv with torch from PyPI (never a dependency of the build or tests).
# Usage: Benchmarks/pytorch_compare.sh [model:batch:input:steps ...]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-bench}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet torch numpy
fi
swift build -c release --product topiary >/dev/null
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("mlp:64:1x28x28:1000" "mlp:128:1x28x28:500" "resnet20:128:3x32x32:10" "vgg16:128:3x32x32:3")
"$VENV/bin/python" Benchmarks/compare.py --topiary .build/release/topiary --python "$VENV/bin/python" \
  --threads "$THREADS" --rounds "$ROUNDS" "${cases[@]}"
