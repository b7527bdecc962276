#!/usr/bin/env bash
# Topiary as a user gets it: a package outside the repository that depends on Topiary *by
# version* (`.package(url: "file:///…", from: "0.1.0")`), built and run. A path dependency
# would hide what SwiftPM checks only for versioned ones (unsafe build flags, for one).
#
# It snapshots this working tree (tracked and untracked files git does not ignore) into a
# throwaway git repository, tags it there (never here), writes examples/swift-library with
# its `path:` line replaced by that `url:` line into a temporary package, builds it and runs
# the example with the arguments given (default: --tiny, a few seconds).
#
# Usage: scripts/check-versioned-dependency.sh [example arguments…]
# Environment: TOPIARY_CHECK_TAG (default 0.1.0), KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${TOPIARY_CHECK_TAG:-0.1.0}
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--tiny)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/topiary-versioned.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then echo "keeping $tmp" >&2; else trap 'rm -rf "$tmp"' EXIT; fi

# The library as a tagged repository.
mkdir "$tmp/topiary"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -c | tar -x -C "$tmp/topiary"
git -C "$tmp/topiary" init --quiet
git -C "$tmp/topiary" add -A
git -C "$tmp/topiary" -c user.name=check -c user.email=check@localhost commit --quiet -m "snapshot for the versioned-dependency check"
git -C "$tmp/topiary" tag "$tag"

# The user's package: the example, depending on that tag by URL and version.
mkdir "$tmp/user"
cp -R examples/swift-library/Sources "$tmp/user/"
python3 - examples/swift-library/Package.swift "$tmp/user/Package.swift" "file://$tmp/topiary" "$tag" <<'EOF'
import sys
src, dst, url, tag = sys.argv[1:]
s = open(src).read()
old = '.package(name: "topiary", path: "../..")'
if old not in s:
    sys.exit(f"{src} no longer has the line {old}: update scripts/check-versioned-dependency.sh")
open(dst, "w").write(s.replace(old, f'.package(url: "{url}", from: "{tag}")'))
EOF
grep -n 'package(url' "$tmp/user/Package.swift" >&2

# Its own dependency cache: the temporary repository must not linger in the user's cache.
echo "building a package that depends on Topiary $tag by version (debug build of the library)" >&2
swift build --package-path "$tmp/user" --disable-dependency-cache >&2
"$tmp/user/.build/debug/PruneYourOwn" "${args[@]}"
echo "versioned dependency on Topiary $tag: built and ran"
