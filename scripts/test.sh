#!/usr/bin/env bash
# npm test: everything, the local testbed included. Installs what is missing.
#   --unit-only          typecheck, lint, unit and state-machine tests, packaging and template lint (no testbed)
#   --integration-only   only the end-to-end tests against the testbed (packages the bundles first if they are missing or stale)
source "$(dirname "$0")/lib.sh"
mode="${1:-all}"
ensure_node_modules
results_dir="$ROOT/.testbed/results"
mkdir -p "$results_dir"
rm -f "$results_dir"/*.json
jest() { node --experimental-vm-modules node_modules/jest/bin/jest.js "$@"; }
status=0

if [ "$mode" != "--integration-only" ]; then
  step "typecheck (tsc --noEmit)"
  tsc --noEmit
  step "lint (ESLint, Prettier's check)"
  eslint . || status=1
  prettier --check . --log-level warn || status=1
  step "unit and state-machine tests"
  jest --selectProjects unit statemachine --json --outputFile="$results_dir/unit.json" || status=1
  step "package the CloudFormation template offline (osls package)"
  bash scripts/package.sh || status=1
  step "lint the packaged template (cfn-lint, checkov, documented Resource \"*\")"
  bash scripts/lint-template.sh || status=1
fi

if [ "$mode" != "--unit-only" ]; then
  # The end-to-end tests run the packaged bundles (local/packaged.ts): build them
  # when they are missing or older than what goes into them (the full run has just built them).
  template=.serverless/cloudformation-template-update-stack.json
  if [ ! -f "$template" ] || [ -n "$(find functions shared wiring serverless.yml package-lock.json scripts/esbuild-plugins.cjs deploy/vpc.cjs deploy/audit-events.cjs -newer "$template" -print -quit)" ]; then
    step "package the Lambda bundles the end-to-end tests run (osls package)"
    bash scripts/package.sh
  fi
  step "testbed set-up (first run builds kube-apiserver, etcd, Dex, oauth2-proxy, the load-balancer controller and external-dns: ~16 min on 2 cores)"
  bash scripts/setup-testbed.sh
  step "end-to-end tests against the testbed"
  jest --selectProjects integration --runInBand --json --outputFile="$results_dir/integration.json" || status=1
fi

node -e '
const fs = require("fs"); const dir = process.argv[1];
let passed = 0, failed = 0, skipped = 0;
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
  const r = JSON.parse(fs.readFileSync(dir + "/" + f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests + (r.numRuntimeErrorTestSuites || 0); skipped += r.numPendingTests;
}
console.log(`\nkserve-edge: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results_dir"
exit $status
