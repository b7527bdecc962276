#!/usr/bin/env bash
# oneDNN's SGEMM against OpenBLAS's, end to end: the training step of each model with
# `--gemm onednn` and `--gemm openblas`, in alternating rounds (so load from other processes
# hits both), medians over rounds and their ratio. Also names the OpenBLAS kernel set in use
# (BLASCore re-picks it when OpenBLAS chose one narrower than the CPU).
#
# Usage: Benchmarks/gemm_backends.sh [--models "mlp resnet20 vgg16 vit-tiny densenet40 mobilenetv2"]
#                                     [--rounds N] [--threads N] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
models="mlp resnet20 vgg16 vit-tiny densenet40 mobilenetv2" rounds=3 threads=2 build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "unknown argument '$1'" >&2; exit 1 ;;
  esac
done
[ "$build" = 1 ] && swift build -c release --product topiary >/dev/null
bin=.build/release/topiary
core=$("$bin" bench --model mlp --batch-size 8 --steps 1 --warmup 0 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["openblas_core"])')
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $threads thread(s), wall time, $rounds rounds; OpenBLAS core $core"
printf "| %-11s | %5s | %10s | %12s | %6s |\n" model batch "onednn ms" "openblas ms" ratio
printf "|%s|%s|%s|%s|%s|\n" ------------- ------- ------------ -------------- --------
for m in $models; do
  case "$m" in
    mlp) args=(--model mlp --batch-size 128 --input 1x28x28 --steps 300 --warmup 20) batch=128 ;;
    densenet40|mobilenetv2) args=(--model "$m" --batch-size 64 --input 3x32x32 --steps 2 --warmup 1) batch=64 ;;
    *) args=(--model "$m" --batch-size 128 --input 3x32x32 --steps 3 --warmup 1) batch=128 ;;
  esac
  a=() b=()
  for _ in $(seq "$rounds"); do
    for g in onednn openblas; do
      ms=$("$bin" bench "${args[@]}" --threads "$threads" --gemm "$g" --json |
           python3 -c 'import json,sys; print(json.load(sys.stdin)["ms_per_step"])')
      if [ "$g" = onednn ]; then a+=("$ms"); else b+=("$ms"); fi
    done
  done
  python3 - "$m" "$batch" "${a[*]}" "${b[*]}" <<'PY'
import statistics, sys
m, batch, a, b = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
ma, mb = statistics.median(a), statistics.median(b)
print(f"| {m:<11} | {batch:>5} | {ma:10.2f} | {mb:12.2f} | {ma / mb:6.2f} |")
PY
done
