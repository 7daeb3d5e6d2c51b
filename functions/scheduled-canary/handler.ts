import { edgeHandler } from '../../wiring/handler';
import { publishCanaryMetrics } from '../../shared/canary/metrics';
import { runScheduledCanary } from '../../shared/steps/runScheduledCanary';
import { canaryRequests, scheduledCanaryDeps } from '../../wiring/canary';

/**
 * ScheduledCanary (EventBridge schedule): probes every configured endpoint in
 * parallel and writes CanarySuccess / CanaryLatency / CertificateDaysToExpiry
 * as EMF metrics; the CloudWatch alarms decide whether to page.
 */
export const handler = edgeHandler('ScheduledCanary', async (_event, { config, log, now }) => {
  const requests = await canaryRequests(config);
  return runScheduledCanary(
    { requests },
    {
      depsFor: (r) => scheduledCanaryDeps(config, r, log),
      publish: (results) => publishCanaryMetrics(results, { namespace: config.canary.metricsNamespace }),
      log,
      now,
    },
  );
});
