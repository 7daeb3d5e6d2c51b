/**
 * The canary's CloudWatch metrics, written as embedded metric format (EMF)
 * JSON lines on stdout by Powertools for AWS Lambda (Metrics): CloudWatch Logs
 * turns them into metrics, no PutMetricData call and no extra IAM.
 *
 * One round writes:
 *
 * | line          | dimensions                          | metrics                                                         |
 * |---------------|-------------------------------------|-----------------------------------------------------------------|
 * | per endpoint  | service, Namespace, Host            | CanarySuccess (1/0), CanaryLatency (ms), CertificateDaysToExpiry |
 * | per failure   | service, Namespace, Host, FailureKind | CanaryFailure (1)                                             |
 * | per round     | service                             | the same three, one value per endpoint (arrays), CanaryEndpoints |
 *
 * The per-round line is what the three alarms watch (so the template needs no
 * list of endpoints: a new namespace is covered at once); the per-endpoint
 * lines feed the dashboard. `FailureKind` is also in every endpoint line as a
 * property (`none` on success) for Logs Insights. `Namespace` is the
 * Kubernetes namespace, not the CloudWatch one (`kserve-edge` by default).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** A Powertools metric unit (`Count`, `Milliseconds`, ...). */
export type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];
import type { ProbeResult } from './probe';

/** CloudWatch namespace of the canary metrics (env `POWERTOOLS_METRICS_NAMESPACE` overrides). */
export const CANARY_METRICS_NAMESPACE = 'kserve-edge';
/** The `service` dimension. */
export const CANARY_SERVICE = 'kserve-edge-canary';

export const METRIC_SUCCESS = 'CanarySuccess';
export const METRIC_LATENCY = 'CanaryLatency';
export const METRIC_CERT_DAYS = 'CertificateDaysToExpiry';
export const METRIC_FAILURE = 'CanaryFailure';
export const METRIC_ENDPOINTS = 'CanaryEndpoints';

/** One EMF line to write, before Powertools formats it. */
export interface MetricLine {
  dimensions: Record<string, string>;
  metrics: Array<{ name: string; unit: Unit; value: number }>;
  metadata: Record<string, string>;
}

/**
 * The lines a round produces. Pure.
 *
 * @example
 *   canaryMetricLines([{ namespace: 'staging', host: 'm.staging.x.com', ok: true, latencyMs: 80, certificateDaysToExpiry: 60, … }])
 *   // [{ dimensions: { Namespace: 'staging', Host: 'm.staging.x.com' }, metrics: [CanarySuccess 1, CanaryLatency 80, CertificateDaysToExpiry 60], … }, { dimensions: {}, … }]
 */
export function canaryMetricLines(results: readonly ProbeResult[]): MetricLine[] {
  const lines: MetricLine[] = [];
  for (const r of results) {
    const dims = { Namespace: r.namespace, Host: r.host };
    const metrics: MetricLine['metrics'] = [
      { name: METRIC_SUCCESS, unit: MetricUnit.Count, value: r.ok ? 1 : 0 },
      { name: METRIC_LATENCY, unit: MetricUnit.Milliseconds, value: Math.max(0, Math.round(r.latencyMs)) },
    ];
    if (r.certificateDaysToExpiry !== undefined) {
      metrics.push({ name: METRIC_CERT_DAYS, unit: MetricUnit.Count, value: r.certificateDaysToExpiry });
    }
    const metadata: Record<string, string> = { FailureKind: r.ok ? 'none' : (r.failureKind ?? 'http') };
    if (r.status !== undefined) metadata.HttpStatus = String(r.status);
    lines.push({ dimensions: dims, metrics, metadata });
    if (!r.ok) {
      lines.push({
        dimensions: { ...dims, FailureKind: r.failureKind ?? 'http' },
        metrics: [{ name: METRIC_FAILURE, unit: MetricUnit.Count, value: 1 }],
        metadata: {},
      });
    }
  }
  if (results.length > 0) {
    const round: MetricLine['metrics'] = [{ name: METRIC_ENDPOINTS, unit: MetricUnit.Count, value: results.length }];
    for (const r of results) {
      round.push({ name: METRIC_SUCCESS, unit: MetricUnit.Count, value: r.ok ? 1 : 0 });
      round.push({ name: METRIC_LATENCY, unit: MetricUnit.Milliseconds, value: Math.max(0, Math.round(r.latencyMs)) });
      if (r.certificateDaysToExpiry !== undefined)
        round.push({ name: METRIC_CERT_DAYS, unit: MetricUnit.Count, value: r.certificateDaysToExpiry });
    }
    lines.push({ dimensions: {}, metrics: round, metadata: { Failed: String(results.filter((r) => !r.ok).length) } });
  }
  return lines;
}

export interface PublishMetricsOptions {
  /** CloudWatch namespace (the edge passes `POWERTOOLS_METRICS_NAMESPACE`); default {@link CANARY_METRICS_NAMESPACE}. */
  namespace?: string;
  serviceName?: string;
}

/**
 * Writes the round's EMF lines to stdout through Powertools Metrics, one
 * `publishStoredMetrics()` per line (so each line keeps its own dimensions).
 *
 * @example
 *   publishCanaryMetrics(run.results);
 */
export function publishCanaryMetrics(results: readonly ProbeResult[], options: PublishMetricsOptions = {}): number {
  const namespace = options.namespace || CANARY_METRICS_NAMESPACE;
  const serviceName = options.serviceName ?? CANARY_SERVICE;
  const lines = canaryMetricLines(results);
  for (const line of lines) {
    const metrics = new Metrics({ namespace, serviceName });
    if (Object.keys(line.dimensions).length > 0) metrics.addDimensions(line.dimensions);
    for (const m of line.metrics) metrics.addMetric(m.name, m.unit, m.value);
    for (const [k, v] of Object.entries(line.metadata)) metrics.addMetadata(k, v);
    metrics.publishStoredMetrics();
  }
  return lines.length;
}
