#!/usr/bin/env bash
# Lints the packaged CloudFormation template with cfn-lint and checkov (pinned
# in tools/, installed by scripts/setup-lint.sh) and checks that every IAM
# action on Resource "*" is documented in docs/security.md. Run after
# `npm run package`; scripts/lint-template.mjs says what fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
template=.serverless/cloudformation-template-update-stack.json
[[ -f "$template" ]] || { echo "lint-template: $template not found: run npm run package first" >&2; exit 1; }
bin=$(bash scripts/setup-lint.sh)
node scripts/lint-template.mjs "$bin" "$template"
