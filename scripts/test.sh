#!/usr/bin/env bash
# The test suite: installs missing system packages, then runs every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Swift Testing only: XCTest has no tests here and would print an empty summary first.
swift test --disable-xctest "$@"
