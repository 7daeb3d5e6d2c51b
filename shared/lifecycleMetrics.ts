/**
 * The event path's CloudWatch metric, written like the canary's
 * (shared/canary/metrics.ts): one embedded metric format (EMF) JSON line on
 * stdout through Powertools Metrics; CloudWatch Logs turns it into a metric,
 * no PutMetricData call and no extra IAM.
 *
 * | metric              | dimensions | alarm (serverless.yml)      |
 * |---------------------|------------|-----------------------------|
 * | AuditEventsUnparsed | service    | AuditEventsUnparsedAlarm, > 0 |
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** CloudWatch namespace (env `POWERTOOLS_METRICS_NAMESPACE` is the same in the template). */
export const LIFECYCLE_METRICS_NAMESPACE = 'kserve-edge';
/** The `service` dimension the alarm watches. */
export const NAMESPACE_EVENTS_SERVICE = 'kserve-edge-namespace-events';
/** Audit-log messages of one subscription payload that could not be parsed. */
export const METRIC_AUDIT_EVENTS_UNPARSED = 'AuditEventsUnparsed';

/**
 * Writes one EMF line with `AuditEventsUnparsed = count`.
 *
 * @example
 *   publishAuditEventsUnparsed(2); // {"_aws":{…"Metrics":[{"Name":"AuditEventsUnparsed","Unit":"Count"}]…},"service":"kserve-edge-namespace-events","AuditEventsUnparsed":2}
 */
export function publishAuditEventsUnparsed(count: number, options: { namespace?: string } = {}): void {
  const metrics = new Metrics({ namespace: options.namespace || LIFECYCLE_METRICS_NAMESPACE, serviceName: NAMESPACE_EVENTS_SERVICE });
  metrics.addMetric(METRIC_AUDIT_EVENTS_UNPARSED, MetricUnit.Count, count);
  metrics.publishStoredMetrics();
}
