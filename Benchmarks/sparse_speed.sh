#!/usr/bin/env bash
# Sparse kernels against dense ones, model x density x (training step | inference forward).
# Each cell is one `topiary bench --compare` process that alternates timed rounds of dense
# and `--kernels` (auto by default) kernels on the same pruned net (global magnitude masks),
# so load from other processes hits both; it prints medians over rounds and their ratio.
# By default one thread and process CPU time per step (--clock cpu): on a shared machine
# that is the compute time, while wall time swings with the other processes' load;
# --threads 2 --clock wall measures the elapsed time of a two-thread step instead.
#
# Usage: Benchmarks/sparse_speed.sh [--models "mlp resnet20"] [--densities "100 50 20 10 5 2"]
#                                    [--rounds N] [--steps N] [--kernels auto|sparse] [--threads N]
#                                    [--clock cpu|wall] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
models="mlp resnet20" densities="100 50 20 10 5 2" rounds=3 steps="" kernels=auto build=1 threads=1 clock=cpu
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --densities) densities=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --kernels) kernels=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --clock) clock=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "unknown argument '$1'" >&2; exit 1 ;;
  esac
done
[ "$build" = 1 ] && swift build -c release >/dev/null
bin=.build/release/topiary
clockflag=(); [ "$clock" = cpu ] && clockflag=(--cpu-time)
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $threads thread(s), $clock time, $rounds rounds; ISA ${TOPIARY_ISA:-widest}"
printf "| %-9s | %7s | %-9s | %10s | %10s | %6s |\n" model density mode "dense ms" "$kernels ms" ratio
printf "|%s|%s|%s|%s|%s|%s|\n" ----------- --------- ----------- ------------ ------------ --------
for m in $models; do
  case "$m" in
    mlp) args=(--model mlp --batch-size 128 --input 1x28x28); tsteps=${steps:-50}; isteps=${steps:-100} ;;
    *) args=(--model "$m" --batch-size 128 --input 3x32x32); tsteps=${steps:-3}; isteps=${steps:-5} ;;
  esac
  for d in $densities; do
    s=$(python3 -c "print(1 - $d / 100)")
    for mode in train inference; do
      extra=(); n=$tsteps
      [ "$mode" = inference ] && extra=(--inference) && n=$isteps
      json=$($bin bench "${args[@]}" --sparsity "$s" --kernels "$kernels" --compare "$rounds" --steps "$n" \
             --warmup 2 --threads "$threads" --json "${clockflag[@]}" "${extra[@]}")
      python3 - "$m" "$d" "$mode" "$kernels" "$json" <<'PY'
import json, sys
m, d, mode, k, j = sys.argv[1:]
r = json.loads(j)
print(f"| {m:<9} | {d + '%':>7} | {mode:<9} | {r['dense_ms']:10.2f} | {r[k + '_ms']:10.2f} | {r['speedup']:5.2f}x |")
PY
    done
  done
done
