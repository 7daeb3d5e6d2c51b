# Shared by the npm scripts: install what is missing, put Node 24 (the `node` dev dependency) first on PATH.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export KSERVE_EDGE_CACHE="${KSERVE_EDGE_CACHE:-$HOME/.cache/kserve-edge}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

ensure_node_modules() {
  # npm ci when node_modules is missing or older than the lock file.
  if [ ! -x node_modules/.bin/jest ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
  export PATH="$ROOT/node_modules/.bin:$PATH"
  if [ ! -f dist/cli.mjs ] || [ -n "$(find cli local shared functions -name '*.ts' -newer dist/cli.mjs -print -quit)" ]; then
    node scripts/build-cli.mjs
  fi
}
