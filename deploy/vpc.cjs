/**
 * The functions' network placement, resolved when serverless.yml is (offline,
 * at package time) from the deploy parameters `subnetIds` and
 * `securityGroupIds` (comma-separated, no spaces):
 *
 * - both empty (the default): the functions run outside any VPC, as Lambda
 *   does by default; `vpc` is `false` (osls then writes no VpcConfig) and the
 *   roles get no EC2 permissions;
 * - both given: every function gets `VpcConfig` with them, and every role the
 *   managed policy `VpcNetworkInterfaces` (serverless.yml): Lambda creates the
 *   functions' network interfaces with the execution role;
 * - one without the other: an error at package time, naming the missing one.
 *
 * `inVpc` ('true' / 'false') becomes KSERVE_EDGE_IN_VPC in every function's
 * environment (wiring/config.ts): ValidateRequest refuses what a function
 * outside the VPC cannot reach.
 */
/* global module */
'use strict';

const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;
/** Lambda's limits on VpcConfig (CreateFunction API reference). */
const MAX_SUBNETS = 16;
const MAX_SECURITY_GROUPS = 5;

/** `a,b` → ['a', 'b'], each checked against `pattern`. */
function idList(param, text, pattern, max) {
  const ids = String(text || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of ids) {
    if (!pattern.test(id)) throw new Error(`deploy parameter ${param}: "${id}" is not an id like ${pattern.source}`);
  }
  if (ids.length > max) throw new Error(`deploy parameter ${param}: ${ids.length} ids, Lambda takes at most ${max}`);
  return ids;
}

/** The placement for the two parameter values (pure; exported for tests). */
function placement(subnetIdsParam, securityGroupIdsParam) {
  const subnetIds = idList('subnetIds', subnetIdsParam, SUBNET, MAX_SUBNETS);
  const securityGroupIds = idList('securityGroupIds', securityGroupIdsParam, SECURITY_GROUP, MAX_SECURITY_GROUPS);
  if (subnetIds.length === 0 && securityGroupIds.length === 0) return { inVpc: false, vpc: false };
  if (subnetIds.length === 0) throw new Error('deploy parameter subnetIds is required with securityGroupIds');
  if (securityGroupIds.length === 0) throw new Error('deploy parameter securityGroupIds is required with subnetIds');
  return { inVpc: true, vpc: { subnetIds, securityGroupIds } };
}

async function resolved(resolveVariable) {
  return placement(await resolveVariable('param:subnetIds'), await resolveVariable('param:securityGroupIds'));
}

/** A function's `vpc:` value: false (no VpcConfig) or `{ subnetIds, securityGroupIds }`. */
module.exports.vpc = async ({ resolveVariable }) => (await resolved(resolveVariable)).vpc;
/** 'true' or 'false', for KSERVE_EDGE_IN_VPC and the InVpc condition. */
module.exports.inVpc = async ({ resolveVariable }) => String((await resolved(resolveVariable)).inVpc);
/** A role's ManagedPolicyArns: the network-interface policy in a VPC, nothing otherwise. */
module.exports.managedPolicyArns = async ({ resolveVariable }) =>
  (await resolved(resolveVariable)).inVpc ? [{ Ref: 'VpcNetworkInterfaces' }] : [];
module.exports.placement = placement;
