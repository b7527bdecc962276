#!/usr/bin/env bash
# The test suite: installs missing system packages, builds and briefly runs the library
# example against a tagged snapshot of this tree (as a versioned dependency, the way a user
# depends on Topiary; SKIP_EXAMPLE=1 skips it), builds the DocC archives failing on any
# warning (SKIP_DOCS=1 skips it), then runs every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ "${SKIP_EXAMPLE:-0}" != 1 ]; then
  bash scripts/check-versioned-dependency.sh --tiny
fi
if [ "${SKIP_DOCS:-0}" != 1 ]; then
  bash scripts/docs.sh
fi
# Swift Testing only: XCTest has no tests here and would print an empty summary first.
swift test --disable-xctest "$@"
