#!/usr/bin/env bash
# Lints the packaged CloudFormation template with cfn-lint and checkov (pinned
# in tools/, installed by scripts/setup-lint.sh) and checks that every IAM
# action on Resource "*" is documented in docs/security.md. Run after
# `npm run package`; scripts/lint-template.mjs says what fails.
#
# Twice: the default package (.serverless, functions outside any VPC, the
# audit-log subscription on) and a variant packaged here into .serverless-vpc
# with example subnet and security group ids and auditEvents=off
# (scripts/package.sh --out; check-template asserts VpcConfig on every function,
# and no subscription filter nor CloudWatch Logs permission to invoke). checkov's "Lambda in a VPC" (CKV_AWS_117) is skipped only
# for the first: the second must pass it (tools/checkov-skips.yaml, only_without_vpc).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
template=.serverless/cloudformation-template-update-stack.json
[[ -f "$template" ]] || { echo "lint-template: $template not found: run npm run package first" >&2; exit 1; }
bin=$(bash scripts/setup-lint.sh)
node scripts/lint-template.mjs "$bin" "$template"

# The release artefact's template (scripts/release.mjs: osls's bucket replaced by ArtifactBucket/ArtifactPrefix):
# cfn-lint errors fail (its exit code is a bit mask: 2 = errors; warnings are the main template's).
release=.serverless/release/kserve-edge.template.json
[[ -f "$release" ]] || { echo "lint-template: $release not found: run npm run package first" >&2; exit 1; }
set +e
"$bin/cfn-lint" --format parseable -- "$release" >/tmp/kserve-edge-release-lint.$$ 2>&1
rc=$?
set -e
if (( rc & 2 )) || (( rc == 1 )); then
  grep -E ':E[0-9]' /tmp/kserve-edge-release-lint.$$ >&2 || cat /tmp/kserve-edge-release-lint.$$ >&2
  rm -f /tmp/kserve-edge-release-lint.$$
  echo "lint-template: cfn-lint errors in $release" >&2
  exit 1
fi
rm -f /tmp/kserve-edge-release-lint.$$
echo "release template lint: cfn-lint 0 errors ($release)"

bash scripts/package.sh --out .serverless-vpc \
  --param "subnetIds=subnet-0123456789abcdef0,subnet-0123456789abcdef1" \
  --param "securityGroupIds=sg-0123456789abcdef0" \
  --param "auditEvents=off" >/dev/null
node scripts/lint-template.mjs "$bin" .serverless-vpc/cloudformation-template-update-stack.json --vpc
