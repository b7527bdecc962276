#!/usr/bin/env bash
# Builds the DocC archives of Topiary's own modules (the library's seven and the CLI) and
# fails on any DocC warning: an unresolved symbol link, a documented parameter that does
# not exist, a missing one in a `- Parameters:` list. Archives land in
# .build/plugins/Swift-DocC/outputs/. Dependencies (Yams, ArgumentParser, …) are left out:
# their warnings are theirs.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(Tensor NN Data Schedules Pruning Interop Experiments topiary)
args=()
for t in "${targets[@]}"; do args+=(--target "$t"); done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift package generate-documentation "${args[@]}" "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }
if grep -q "warning:" "$log"; then
  grep -A6 "warning:" "$log"
  echo "DocC: $(grep -c 'warning:' "$log") warnings" >&2
  exit 1
fi
echo "DocC: ${#targets[@]} archives, no warnings"
