#!/usr/bin/env bash
# npm run bench: measures bundles, cold start, orchestration on the testbed,
# waiting, the canary and cost, and rewrites docs/benchmarks.md (bench/run.ts).
# Installs what is missing, like npm test. Extra arguments go to bench/run.ts
# (--quick: fewer repetitions, sizes 1 and 10).
source "$(dirname "$0")/lib.sh"
ensure_node_modules
step "testbed set-up"
bash scripts/setup-testbed.sh
step "benchmarks (docs/benchmarks.md)"
# --expose-gc: the canary's memory is read after a collection.
NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--expose-gc" tsx bench/run.ts "$@"
# The tables are written plain; npm test checks the formatting of every file.
prettier --write docs/benchmarks.md > /dev/null
