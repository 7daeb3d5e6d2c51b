import { publishCanaryMetrics } from '../../shared/canary/metrics';
import { canaryRequestsFromEnv, scheduledCanaryDeps } from '../../shared/canary/scheduled';
import { lambdaHandler } from '../../shared/handler';
import { runScheduledCanary } from '../../shared/steps/runScheduledCanary';

/**
 * ScheduledCanary (EventBridge schedule): probes every configured endpoint in
 * parallel and writes CanarySuccess / CanaryLatency / CertificateDaysToExpiry
 * as EMF metrics; the CloudWatch alarms decide whether to page.
 */
export const handler = lambdaHandler('ScheduledCanary', async (_event, { log, now }) => {
  const requests = await canaryRequestsFromEnv();
  return runScheduledCanary(
    { requests },
    { depsFor: (r) => scheduledCanaryDeps(r, log), publish: (results) => publishCanaryMetrics(results), log, now },
  );
});
