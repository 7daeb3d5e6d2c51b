#!/usr/bin/env bash
# npm run package: builds the CloudFormation template and one zip per Lambda
# into .serverless/, offline and with no AWS credentials at all, writes the
# release artefact (.serverless/release/, scripts/release.mjs: the template,
# the zips and a README for a deploy without the Serverless Framework), then
# checks them all (scripts/check-template.mjs) and prints a summary.
#
#   bash scripts/package.sh                 # stage ci, region us-west-2, example parameters
#   bash scripts/package.sh --stage prod --region eu-west-1 --param "hostedZoneIds=Z1,Z2" --param "clusterName=kubeflow"
#   bash scripts/package.sh --out .serverless-vpc \
#     --param "subnetIds=subnet-0123456789abcdef0,subnet-0123456789abcdef1" --param "securityGroupIds=sg-0123456789abcdef0"
#
# --out DIR writes the package to DIR instead of .serverless (osls --package), leaving .serverless,
# which the end-to-end tests run, alone; scripts/lint-template.sh builds the VPC variant that way.
#
# Extra arguments go to `osls package` and replace the defaults below
# (--stage, --region, and each --param key given).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/node_modules/.bin:$PATH"

if ! command -v osls >/dev/null; then
  echo "package: osls is not installed (npm ci)" >&2
  exit 1
fi
# Always osls: serverless-step-functions pulls in the serverless@4 stub, whose
# `serverless` bin downloads a licensed binary.
OSLS="$ROOT/node_modules/.bin/osls"

stage=ci
region=us-west-2
out=.serverless
declare -A params=(
  [hostedZoneIds]=Z0000000000EXAMPLEA,Z0000000000EXAMPLEB
  [clusterName]=kubeflow
)
passthrough=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stage=*) stage=${1#*=}; shift ;;
    --region) region=$2; shift 2 ;;
    --region=*) region=${1#*=}; shift ;;
    --out) out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --param) params[${2%%=*}]=${2#*=}; shift 2 ;;
    --param=*) kv=${1#*=}; params[${kv%%=*}]=${kv#*=}; shift ;;
    *) passthrough+=("$1"); shift ;;
  esac
done
param_args=()
for key in "${!params[@]}"; do param_args+=(--param "$key=${params[$key]}"); done

# No credentials can leak in: a clean environment, an empty HOME (no ~/.aws),
# no instance metadata lookups, no telemetry or update checks.
empty_home=$(mktemp -d)
trap 'rm -rf "$empty_home"' EXIT

package_args=()
kept=''
if [[ "$out" != .serverless ]]; then
  package_args=(--package "$out")
  # osls empties .serverless whatever --package says: keep the main package (the one the end-to-end
  # tests run) aside and put it back afterwards, mtimes intact.
  if [[ -d .serverless ]]; then
    kept=$(mktemp -d "$ROOT/.serverless-kept.XXXXXX")
    mv .serverless "$kept/"
  fi
fi
restore_kept() {
  if [[ -n "$kept" ]]; then
    rm -rf .serverless
    mv "$kept/.serverless" .serverless
    rmdir "$kept"
  fi
}
trap 'restore_kept; rm -rf "$empty_home"' EXIT
rm -rf "$out" .esbuild
started=$(date +%s%N)
env -i \
  PATH="$PATH" \
  HOME="$empty_home" \
  TMPDIR="${TMPDIR:-/tmp}" \
  LANG=C.UTF-8 \
  AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE="$empty_home/none" \
  AWS_SHARED_CREDENTIALS_FILE="$empty_home/none" \
  SLS_TELEMETRY_DISABLED=1 \
  SLS_NOTIFICATIONS_MODE=off \
  SLS_DEPRECATION_DISABLE='*' \
  "$OSLS" package --stage "$stage" --region "$region" "${package_args[@]}" "${param_args[@]}" "${passthrough[@]}"
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))

# The release artefact (.serverless/release/: template, zips, README) for deploys without osls.
node scripts/release.mjs "$out" --stage "$stage" --region "$region" "${param_args[@]}"
# With the VPC parameters, check-template also asserts VpcConfig on every function.
vpc_args=()
[[ -z "${params[subnetIds]:-}" ]] || vpc_args=(--expect-vpc)
node scripts/check-template.mjs "$out" --elapsed-ms "$elapsed_ms" --audit-events "${params[auditEvents]:-subscription}" "${vpc_args[@]}"
