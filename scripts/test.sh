#!/usr/bin/env bash
# The test suite: installs missing system packages, builds and briefly runs the library
# example against a tagged snapshot of this tree (as a versioned dependency, the way a user
# depends on Topiary; SKIP_EXAMPLE=1 skips it), builds the DocC archives failing on any
# warning (SKIP_DOCS=1 skips it), then runs every test target. As root it also starts a
# one-node Slurm cluster for the `topiary slurm` integration test (scripts/slurm-cluster.sh)
# and stops exactly what it started when the tests end, pass or fail; TOPIARY_NO_SLURM=1
# skips it (that test then says it is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ "${SKIP_EXAMPLE:-0}" != 1 ]; then
  bash scripts/check-versioned-dependency.sh --tiny
fi
if [ "${SKIP_DOCS:-0}" != 1 ]; then
  bash scripts/docs.sh
fi
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
