#!/usr/bin/env bash
# Cross-check against PyTorch: for every zoo model (dense, then with 50% of every prunable
# parameter masked), Topiary writes weights, a fixed batch, its logits, loss, gradients and
# activation outputs; PyTorch recomputes them in float64 with python/topiary_models.py and the
# differences are printed as a Markdown table (metric and criterion: pytorch_crosscheck.py).
# Exits non-zero when a bound is exceeded. Creates its own throwaway virtualenv with torch,
# numpy and safetensors from PyPI (never a dependency of the build or tests).
# Usage: [VENV=dir] [TOPIARY=binary] [BATCH=n] [THREADS=n] Benchmarks/pytorch_crosscheck.sh [model ...]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-bench}
THREADS=${THREADS:-2}
BATCH=${BATCH:-8}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c "import torch, safetensors" 2>/dev/null || "$VENV/bin/pip" install --quiet torch numpy safetensors
# TOPIARY=path skips the release build. A debug binary computes the same functions with
# another rounding (reductions are not vectorised), so its decisions near ties differ.
if [ -z "${TOPIARY:-}" ]; then
  swift build -c release --product topiary >/dev/null
  TOPIARY=.build/release/topiary
fi
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mlp lenet300 lenet5 convnet vgg11 vgg16 vgg19 resnet20 resnet56 resnet110 densenet40 mobilenetv2 vit-tiny)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dirs=()
for m in "${models[@]}"; do
  "$TOPIARY" crosscheck --model "$m" --batch-size "$BATCH" --threads "$THREADS" --activations --out "$work/$m-dense" 2>/dev/null
  "$TOPIARY" crosscheck --model "$m" --batch-size "$BATCH" --threads "$THREADS" --activations --prune 0.5 --out "$work/$m-pruned" 2>/dev/null
  dirs+=("$work/$m-dense" "$work/$m-pruned")
done
OMP_NUM_THREADS=$THREADS "$VENV/bin/python" Benchmarks/pytorch_crosscheck.py "${dirs[@]}"
