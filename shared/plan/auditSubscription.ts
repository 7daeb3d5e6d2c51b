/**
 * Which audit-event source (deploy parameter `auditEvents`) fits a cluster's
 * audit log group, from the subscription filters it already has. Pure: the
 * preflight (`npm run preflight`, scripts/preflight.ts) reads the filters with
 * DescribeSubscriptionFilters and prints this.
 *
 * CloudWatch Logs allows at most two subscription filters per log group
 * (CloudWatch Logs quotas; PutSubscriptionFilter answers LimitExceededException
 * for a third), so a stack that adds its own filter to a group that already has
 * two fails to deploy.
 */

/** CloudWatch Logs' limit of subscription filters per log group. */
export const MAX_SUBSCRIPTION_FILTERS = 2;

/** One subscription filter of the log group, as DescribeSubscriptionFilters lists it. */
export interface SubscriptionFilterInfo {
  filterName: string;
  destinationArn: string;
}

/** The preflight's answer. */
export interface AuditEventsAdvice {
  /** The value of the `auditEvents` parameter to deploy with. */
  auditEvents: 'subscription' | 'forwarded' | 'off';
  /** Filters on the group that are not this stack's. */
  others: SubscriptionFilterInfo[];
  /** This stack's own filter, when it is already deployed. */
  ours?: SubscriptionFilterInfo;
  /** What to do, in a sentence or two, naming the parameters. */
  reason: string;
}

/**
 * The `auditEvents` choice for a log group holding `filters`, where
 * `ourFunctionName` is the namespaceEvents function of the stack
 * (`kserve-edge-<stage>-namespaceEvents`): its own filter does not count
 * against the limit, since a redeploy replaces it.
 *
 * @example
 *   adviseAuditEvents([], 'kserve-edge-prod-namespaceEvents').auditEvents // 'subscription'
 */
export function adviseAuditEvents(filters: readonly SubscriptionFilterInfo[], ourFunctionName: string): AuditEventsAdvice {
  const isOurs = (f: SubscriptionFilterInfo) => f.destinationArn.endsWith(`:function:${ourFunctionName}`);
  const ours = filters.find(isOurs);
  const others = filters.filter((f) => !isOurs(f));
  const lambdas = others.filter((f) => /^arn:aws[a-z-]*:lambda:/.test(f.destinationArn));
  if (others.length < MAX_SUBSCRIPTION_FILTERS) {
    return {
      auditEvents: 'subscription',
      others,
      ...(ours ? { ours } : {}),
      reason: ours
        ? `the log group has this stack's filter and ${others.length} other(s): keep auditEvents=subscription`
        : `the log group has ${others.length} of ${MAX_SUBSCRIPTION_FILTERS} subscription filters: auditEvents=subscription (the default) adds one`,
    };
  }
  if (lambdas.length > 0) {
    return {
      auditEvents: 'forwarded',
      others,
      reason:
        `the log group already has ${others.length} subscription filters (the limit is ${MAX_SUBSCRIPTION_FILTERS}): deploy with ` +
        `auditEvents=forwarded and auditEventsInvoker=<the execution role of ${lambdas[0]!.destinationArn}>, and make that function ` +
        'invoke namespaceEvents (output NamespaceEventsFunctionArn) asynchronously with the event it receives; or auditEvents=off',
    };
  }
  return {
    auditEvents: 'off',
    others,
    reason:
      `the log group already has ${others.length} subscription filters (the limit is ${MAX_SUBSCRIPTION_FILTERS}) and none is a Lambda ` +
      'function that could forward the events: deploy with auditEvents=off (the sweep alone, every sweepRate), or free a filter',
  };
}
