/**
 * Where the namespaceEvents function gets its audit events from, resolved when
 * serverless.yml is (offline, at package time) from the deploy parameter
 * `auditEvents` (README "The audit-log subscription"):
 *
 * - `subscription` (default): a CloudWatch Logs subscription filter of this
 *   stack on the cluster's audit log group (`custom.auditLogSubscription`). A log
 *   group takes at most two filters: `npm run preflight` counts them.
 * - `forwarded`: no filter of ours; a subscriber the account already has on that
 *   log group (a log-forwarding Lambda) invokes namespaceEvents asynchronously
 *   with the subscription event it received, unchanged (`{ "awslogs": { "data" } }`,
 *   the payload shared/plan/namespaceEvents.ts decodes). `auditEventsInvoker`, the
 *   ARN of that subscriber's execution role, gets lambda:InvokeFunction on the
 *   function (an AWS::Lambda::Permission in serverless.yml).
 * - `off`: no filter and no invoker: the periodic sweep alone (param sweepRate)
 *   finds new and deleted namespaces.
 */
/* global module */
'use strict';

const MODES = ['subscription', 'forwarded', 'off'];
/** An IAM role ARN (any partition), as AWS::Lambda::Permission takes for Principal. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** The checked mode and invoker for the two parameter values (pure; exported for tests). */
function source(modeParam, invokerParam) {
  const mode = String(modeParam || 'subscription').trim();
  const invoker = String(invokerParam || '').trim();
  if (!MODES.includes(mode)) throw new Error(`deploy parameter auditEvents: "${mode}" is not one of ${MODES.join(', ')}`);
  if (mode === 'forwarded' && !ROLE_ARN.test(invoker)) {
    throw new Error(
      'deploy parameter auditEventsInvoker: auditEvents=forwarded needs the ARN of the execution role of the function that forwards the events (arn:aws:iam::<account>:role/<name>)',
    );
  }
  if (mode !== 'forwarded' && invoker)
    throw new Error(`deploy parameter auditEventsInvoker is only for auditEvents=forwarded (got auditEvents=${mode})`);
  return { mode, invoker };
}

async function resolved(resolveVariable) {
  return source(await resolveVariable('param:auditEvents'), await resolveVariable('param:auditEventsInvoker'));
}

/** namespaceEvents' `events:`: the subscription filter, or none. */
module.exports.events = async ({ resolveVariable }) =>
  (await resolved(resolveVariable)).mode === 'subscription' ? await resolveVariable('self:custom.auditLogSubscription') : [];
/** 'true' when a forwarding subscriber may invoke namespaceEvents (the IsForwarded condition). */
module.exports.forwarded = async ({ resolveVariable }) => String((await resolved(resolveVariable)).mode === 'forwarded');
/** The Principal of that permission; when not forwarded the resource is left out (condition) and this is the stack's own account. */
module.exports.invoker = async ({ resolveVariable }) => (await resolved(resolveVariable)).invoker || { Ref: 'AWS::AccountId' };
module.exports.source = source;
module.exports.MODES = MODES;
