#!/usr/bin/env bash
# Masked vs compacted structured-pruned networks (issue 12): for each model, L1-filter prunes
# half the filters of every layer compaction can remove (all hidden layers of convnet and
# vgg16; only the inner convolution of each residual block of resnet20, the others feed the
# shortcut sums), then `topiary bench --compact` times the masked network and its compacted
# copy in one process, in alternating rounds, for a training step (forward, backward, SGD
# with momentum) and an evaluation-mode forward, and prints the medians and the ratios.
#
# Usage: Benchmarks/compaction_speed.sh [--rounds N] [--batch-size B] [--threads T] [--no-build] [MODEL ...]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5 batch=128 threads=2 build=1 models=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --batch-size) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -*) echo "unknown argument '$1' (known: --rounds N, --batch-size B, --threads T, --no-build, MODEL ...)" >&2; exit 1 ;;
    *) models+=("$1"); shift ;;
  esac
done
[ ${#models[@]} -gt 0 ] || models=(convnet vgg16 resnet20)
if [ "$build" = 1 ]; then swift build -c release >&2; fi
bin=.build/release/topiary

field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }

printf '%s, batch %s, %s threads, 50%% of the filters removed (l1-filter), medians of %s alternating rounds\n' \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" "$batch" "$threads" "$rounds"
printf '| %-9s | %-12s | %15s | %18s | %7s | %15s | %18s | %7s |\n' model weights "train masked ms" "train compacted ms" ratio "infer masked ms" "infer compacted ms" ratio
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------- -------------- ----------------- -------------------- --------- ----------------- -------------------- ---------
for m in "${models[@]}"; do
  # Heavier models get fewer steps per round.
  case "$m" in vgg*) steps=1 ;; resnet*) steps=2 ;; *) steps=5 ;; esac
  out=$("$bin" bench --model "$m" --input 3x32x32 --batch-size "$batch" --steps "$steps" --warmup 1 \
        --threads "$threads" --compact 0.5 --compact-rounds "$rounds" --json)
  printf '| %-9s | %12s | %15.1f | %18.1f | %6.2fx | %15.1f | %18.1f | %6.2fx |\n' "$m" \
    "$(echo "$out" | field weights | awk '{printf "%.0fk", $1/1000}')→$(echo "$out" | field compacted_weights | awk '{printf "%.0fk", $1/1000}')" \
    "$(echo "$out" | field masked_train_ms)" "$(echo "$out" | field compacted_train_ms)" "$(echo "$out" | field train_speedup)" \
    "$(echo "$out" | field masked_inference_ms)" "$(echo "$out" | field compacted_inference_ms)" "$(echo "$out" | field inference_speedup)"
done
