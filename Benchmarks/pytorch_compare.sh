#!/usr/bin/env bash
# Side-by-side speed comparison with PyTorch CPU on this machine. Creates its own
# throwaway virtualenv with torch from PyPI (never a dependency of the build or tests).
# Usage: Benchmarks/pytorch_compare.sh [model:batch:input:steps ...]
# Environment: VENV (a virtualenv that has torch, e.g. one you already have; default
# .venv-bench, created when missing), THREADS, ROUNDS, BASELINE (another topiary binary timed
# in the same rounds, for before/after columns), ALL=1 (every zoo model at the issue's batches).
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
if [ ${#cases[@]} -eq 0 ]; then
  if [ "${ALL:-0}" = 1 ]; then
    cases=("mlp:128:1x28x28:300" "resnet20:128:3x32x32:5" "vgg16:128:3x32x32:2" "vit-tiny:128:3x32x32:5"
           "densenet40:64:3x32x32:2" "mobilenetv2:64:3x32x32:3")
  else
    cases=("mlp:64:1x28x28:1000" "mlp:128:1x28x28:500" "resnet20:128:3x32x32:10" "vgg16:128:3x32x32:3")
  fi
fi
"$VENV/bin/python" Benchmarks/compare.py --topiary .build/release/topiary --python "$VENV/bin/python" \
  ${BASELINE:+--baseline "$BASELINE"} --threads "$THREADS" --rounds "$ROUNDS" "${cases[@]}"
