#!/usr/bin/env bash
# A/B speed check of the release build: A = a baseline build, B = this working tree as it
# ships (no unsafe flags). By default A is this same tree with -Ounchecked put back into
# Package.swift, i.e. exactly "with and without the flag"; --baseline REF builds A from a
# git commit instead (e.g. the last commit that still used -Ounchecked -wmo), to compare
# with the speed of that day.
#
# The builds live in .build-ab-unchecked (or .build-ab-baseline with --baseline) and
# .build-safe (git-ignored) and are rebuilt incrementally, each always from the same source
# path: SwiftPM reuses a scratch folder's build plan for another package path and then
# compiles the first path's files. A_BIN / B_BIN name other binaries instead. Runs alternate A, B, A, B ... for --rounds rounds per benchmark, so drift
# on a shared machine hits both; the table gives median ms/step of each and the median of
# the per-round ratios B/A (below 1 = B faster).
#
# Usage: Benchmarks/ab-unchecked.sh [--rounds N] [--baseline REF] [--no-build] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5 baseline="" build=1 threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown argument '$1' (known: --rounds N, --baseline REF, --no-build, --threads N)" >&2; exit 1 ;;
  esac
done

src=.build-ab-src        # A's sources; git-ignored (.build-*/)
scratch=.build-ab-unchecked
if [ -n "$baseline" ]; then src=.build-ab-baseline-src scratch=.build-ab-baseline; fi
if [ "$build" = 1 ]; then
  staging=$(mktemp -d)
  trap 'rm -rf "$staging"' EXIT
  if [ -n "$baseline" ]; then
    git archive "$baseline" | tar -x -C "$staging"
    # Older commits have no `bench --pruning` nor CPU time: give them today's Bench.swift
    # (it uses only API those commits have public) so both sides measure the same things.
    grep -q 'cpu_ms_per_step' "$staging/Sources/topiary/Bench.swift" || cp Sources/topiary/Bench.swift "$staging/Sources/topiary/"
  else
    git ls-files -z --cached --others --exclude-standard | tar --null -T - -c | tar -x -C "$staging"
    python3 - "$staging/Package.swift" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
old = "let fast: [SwiftSetting] = []"
if old not in s:
    sys.exit("Package.swift no longer has the line " + old + ": update Benchmarks/ab-unchecked.sh")
open(p, "w").write(s.replace(old, 'let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]'))
EOF
  fi
  # Copy only what changed, keeping modification times, so A's build stays incremental.
  python3 - "$staging" "$src" <<'EOF'
import filecmp, os, shutil, sys
a, b = sys.argv[1], sys.argv[2]
keep = set()
for root, dirs, files in os.walk(a):
    for f in files:
        s = os.path.join(root, f)
        rel = os.path.relpath(s, a)
        d = os.path.join(b, rel)
        keep.add(rel)
        if not (os.path.exists(d) and filecmp.cmp(s, d, shallow=False)):
            os.makedirs(os.path.dirname(d), exist_ok=True)
            shutil.copy2(s, d)
for root, dirs, files in os.walk(b):
    for f in files:
        rel = os.path.relpath(os.path.join(root, f), b)
        if rel not in keep:
            os.remove(os.path.join(b, rel))
EOF
  echo "building A (${baseline:-this tree with -Ounchecked}) and B (this tree) in release; several minutes each" >&2
  swift build -c release --package-path "$src" --scratch-path "$PWD/$scratch" --product topiary >&2
  swift build -c release --scratch-path "$PWD/.build-safe" --product topiary >&2
fi

A=${A_BIN:-$scratch/release/topiary}
B=${B_BIN:-.build-safe/release/topiary}
extra=(--threads "$threads")
cases=(
  "mlp|--model mlp --batch-size 128"
  "resnet20|--model resnet20 --input 3x32x32 --batch-size 32 --steps 5 --warmup 2"
  "vgg16|--model vgg16 --input 3x32x32 --batch-size 16 --steps 3 --warmup 1"
  "pruning resnet20|--model resnet20 --input 3x32x32 --pruning --steps 5 --warmup 1"
  "pruning vgg16|--model vgg16 --input 3x32x32 --pruning --steps 2 --warmup 1"
)
results=$(mktemp)
for c in "${cases[@]}"; do
  name=${c%%|*} args=${c#*|}
  for r in $(seq "$rounds"); do
    # shellcheck disable=SC2086
    a=$("$A" bench $args "${extra[@]}" --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["cpu_ms_per_step"], j["ms_per_step"])')
    # shellcheck disable=SC2086
    b=$("$B" bench $args "${extra[@]}" --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["cpu_ms_per_step"], j["ms_per_step"])')
    echo "$name|$a|$b" >>"$results"
    echo "$name round $r: A cpu/wall $a ms, B cpu/wall $b ms" >&2
  done
done
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, --threads $threads; A = ${baseline:-this tree with -Ounchecked}, B = this tree; $rounds rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, a, b = line.strip().split("|")
    rows.setdefault(name, []).append((list(map(float, a.split())), list(map(float, b.split()))))
print("| benchmark | A CPU ms/step | B CPU ms/step | B/A CPU (median, range) | A wall ms | B wall ms | B/A wall (median) |")
print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
med = statistics.median
for name, ab in rows.items():
    cpu = [b[0] / a[0] for a, b in ab]
    wall = [b[1] / a[1] for a, b in ab]
    print(f"| {name} | {med(a[0] for a, _ in ab):.2f} | {med(b[0] for _, b in ab):.2f} | "
          f"**{med(cpu):.3f}** ({min(cpu):.3f}–{max(cpu):.3f}) | {med(a[1] for a, _ in ab):.2f} | "
          f"{med(b[1] for _, b in ab):.2f} | {med(wall):.3f} |")
EOF
rm -f "$results"
