#!/usr/bin/env bash
# Issue 6: the Node-RED-facing tests under Node-RED 5, which needs Node.js >= 22.9.
#
# Node.js 22 comes from the npm registry: the platform package node-<os>-<arch>@22 ships the node
# binary inside it. The package is copied (sources only) into a work folder where node-red@5
# replaces node-red@4 as the dev dependency; everything else keeps its locked version (undici 7, ...).
# There it is installed, built and tested with Node 22 first on PATH, so npm, tsc, mocha, tsx and
# the Node-RED child processes the tests start all run on Node 22.
#
# Usage: scripts/nr5/run.sh [mocha spec ...]     (default: test/nodes test/editor test/web test/mqtt)
# Env:   NR5_CACHE      where Node 22 and the work copy live (default ~/.cache/account-link-nr5);
#                       a second run reuses both, so only changed packages are installed again.
#        NR5_NODE_RED   the node-red version range (default ^5.0.0)
#        NR5_NODE       the Node.js major version (default 22)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${NR5_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/account-link-nr5}
node_red_range=${NR5_NODE_RED:-^5.0.0}
node_major=${NR5_NODE:-22}
say() { printf 'nr5: %s\n' "$*" >&2; }

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) say "skipped: no node-<os>-<arch> registry package for $(uname -s)"; exit 0 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) say "skipped: no node-$os-<arch> registry package for $(uname -m)"; exit 0 ;;
esac
node_package="node-$os-$arch"

# 1. Node.js 22 from the registry, kept in the cache.
node_prefix="$cache/node$node_major"
node_bin="$node_prefix/node_modules/$node_package/bin"
if ! [ -x "$node_bin/node" ] || ! "$node_bin/node" -v | grep -q "^v$node_major\."; then
  say "installing $node_package@$node_major from the npm registry into $node_prefix"
  mkdir -p "$node_prefix"
  npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$node_prefix" "$node_package@$node_major" >&2
fi
export PATH="$node_bin:$PATH"
say "node $(node -v) ($node_bin/node)"

# 2. A copy of the package with node-red@5. Its node_modules stays between runs; everything else is
#    copied afresh, so the copy is exactly the working tree.
work="$cache/pkg"
mkdir -p "$work"
find "$work" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
tar -C "$root" --exclude=./node_modules --exclude=./dist --exclude=./dist-check --exclude=./.git \
  --exclude=./test-artifacts --exclude=./.node-red -cf - . | tar -C "$work" -xf -
cd "$work"
node -e '
  const fs = require("node:fs");
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
  pkg.devDependencies["node-red"] = process.argv[1];
  fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");
' "$node_red_range"

# npm install (not ci): the lock file pins node-red 4, so npm re-resolves node-red's subtree only.
# Its `prepare` script builds dist/ with Node 22.
say "installing the copy with node-red@$node_red_range (npm $(npm -v))"
npm install --no-audit --no-fund >&2

red_version=$(node -p 'require("node-red/package.json").version')
if ! node -e 'process.exit(require("semver").satisfies(process.argv[1], process.argv[2]) ? 0 : 1)' "$red_version" "$node_red_range"; then
  say "expected node-red $node_red_range, got $red_version"
  exit 1
fi
say "node $(node -v), node-red $red_version, undici $(node -p 'require("undici/package.json").version')"

# 3. The Node-RED-facing tests.
if [ $# -eq 0 ]; then
  set -- 'test/nodes/**/*.test.ts' 'test/editor/**/*.test.ts' 'test/web/**/*.test.ts' 'test/mqtt/**/*.test.ts'
fi
say "mocha $*"
npx mocha "$@"
