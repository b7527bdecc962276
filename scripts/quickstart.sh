#!/usr/bin/env bash
# Sets everything up on a fresh Debian machine and runs Topiary's main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product topiary
.build/release/topiary run examples/fmnist-mlp-schedules-quick.yaml --resume
