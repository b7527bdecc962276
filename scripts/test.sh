#!/usr/bin/env bash
# The test suite: installs missing system packages, then runs every test target.
# As root it also starts a one-node Slurm cluster for the `topiary slurm` integration test
# (scripts/slurm-cluster.sh) and stops exactly what it started when the tests end, pass or
# fail; TOPIARY_NO_SLURM=1 skips it (that test then says it is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ "$(id -u)" = 0 ] && [ -z "${TOPIARY_NO_SLURM:-}" ]; then
    export TOPIARY_SLURM_DIR=${TOPIARY_SLURM_DIR:-$(mktemp -d /tmp/topiary-slurm.XXXXXX)}
    if bash scripts/slurm-cluster.sh start; then
        trap 'bash scripts/slurm-cluster.sh stop; rm -rf "$TOPIARY_SLURM_DIR"' EXIT
        export SLURM_CONF=$TOPIARY_SLURM_DIR/slurm.conf
    else
        echo "test.sh: could not start a Slurm cluster; the Slurm integration test will be skipped" >&2
    fi
fi
# Swift Testing only: XCTest has no tests here and would print an empty summary first.
swift test --disable-xctest "$@"
