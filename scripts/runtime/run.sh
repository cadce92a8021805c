#!/usr/bin/env bash
# The Node-RED-facing tests on another runtime: a given Node.js major version and Node-RED range
# (issue 14; CI runs Node 22 and Node 24, each with Node-RED 5).
#
# Node.js comes from the npm registry: the platform package node-<os>-<arch>@<major> ships the node
# binary inside it. The package is copied (sources only) into a work folder where the given
# node-red range replaces the locked node-red@4 dev dependency; everything else keeps its locked
# version (undici 7, ...). There it is installed, built and tested with that node first on PATH, so
# npm, tsc, mocha, tsx and the Node-RED child processes the tests start all run on it.
#
# Usage: scripts/runtime/run.sh <node-major> <node-red-range> [mocha spec ...]
#        e.g. scripts/runtime/run.sh 24 ^5.0.0
#        (default specs: test/nodes test/editor test/web test/mqtt)
# Env:   RUNTIME_CACHE  where each runtime's node and work copy live, one folder per runtime
#                       (default ~/.cache/account-link-runtime); a second run reuses both, so only
#                       changed packages are installed again.
set -euo pipefail

if [ $# -lt 2 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 <node-major> <node-red-range> [mocha spec ...]   e.g. $0 24 ^5.0.0" >&2
  exit 2
fi
node_major=$1
node_red_range=$2
shift 2

root=$(cd "$(dirname "$0")/../.." && pwd)
cache_root=${RUNTIME_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/account-link-runtime}
# One folder per runtime, e.g. node24-node-red-5.0.0 for "24 ^5.0.0", so runtimes never share installs.
cache="$cache_root/node$node_major-node-red-$(printf '%s' "$node_red_range" | tr -c 'A-Za-z0-9.' '_' | sed 's/^_*//')"
say() { printf 'runtime node%s: %s\n' "$node_major" "$*" >&2; }

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

# 1. Node.js from the registry, kept in this runtime's cache folder.
node_prefix="$cache/node"
node_bin="$node_prefix/node_modules/$node_package/bin"
if ! [ -x "$node_bin/node" ] || ! "$node_bin/node" -v | grep -q "^v$node_major\."; then
  say "installing $node_package@$node_major from the npm registry into $node_prefix"
  mkdir -p "$node_prefix"
  npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$node_prefix" "$node_package@$node_major" >&2
fi
export PATH="$node_bin:$PATH"
say "node $(node -v) ($node_bin/node)"

# 2. A copy of the package with the given node-red. Its node_modules stays between runs; everything
#    else is copied afresh, so the copy is exactly the working tree.
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
# Its `prepare` script builds dist/ with this node.
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
