/**
 * The canary in operation: every few minutes (EventBridge schedule), probe
 * every provisioned endpoint of every configured request in parallel and
 * write the metrics the alarms watch.
 *
 * Unlike RunCanary in the provisioning run it never throws for a failed
 * probe: failures are data (metrics with `CanarySuccess = 0` and the
 * failure kind) and the alarms decide. A request whose secret cannot be
 * read or parsed yields one `auth` failure per endpoint, so a broken secret
 * alarms like a refused token instead of silencing the canary.
 */
import { isAutomationError } from '../errors';
import type { Logger } from '../log';
import type { ProvisionRequest } from '../request';
import { canaryNamespaces } from '../request';
import { authFailureResults, runCanary, type ProbeResult, type RunCanaryDeps } from '../canary/probe';

export interface ScheduledCanaryInput {
  requests: ProvisionRequest[];
}

export interface ScheduledCanaryDeps {
  /** Canary dependencies for one request (secrets, resolver, CA, login cache). */
  depsFor: (request: ProvisionRequest) => RunCanaryDeps;
  /** Writes the metrics of the round (EMF through Powertools in Lambda). */
  publish: (results: ProbeResult[]) => void;
  log: Logger;
  now: () => Date;
}

export interface ScheduledCanaryEndpoint {
  domain: string;
  namespace: string;
  host: string;
  ok: boolean;
  failureKind?: string;
  status?: number;
  latencyMs: number;
  certificateDaysToExpiry?: number;
  message?: string;
  /** JWT mode: `no-token`, `refused-claim`, `header` (migration), each pass, fail or skipped. */
  checks?: ProbeResult['checks'];
}

export interface ScheduledCanaryOutput {
  ok: boolean;
  checkedAt: string;
  endpoints: ScheduledCanaryEndpoint[];
}

/** One failed result per canary namespace of a request whose run could not start. */
function setupFailure(request: ProvisionRequest, err: unknown): ProbeResult[] {
  const name = isAutomationError(err) ? err.name : 'Error';
  return authFailureResults(request, canaryNamespaces(request), err, `${name}: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * @example
 *   const out = await runScheduledCanary({ requests }, { depsFor, publish: publishCanaryMetrics, log, now: () => new Date() });
 */
export async function runScheduledCanary(input: ScheduledCanaryInput, deps: ScheduledCanaryDeps): Promise<ScheduledCanaryOutput> {
  const rounds = await Promise.all(
    input.requests.map(async (request) => {
      try {
        return { request, results: (await runCanary({ request }, deps.depsFor(request))).results };
      } catch (err) {
        deps.log.error('canary could not run for a request', {
          domain: request.domain,
          error: isAutomationError(err) ? err.name : 'Error',
        });
        return { request, results: setupFailure(request, err) };
      }
    }),
  );
  const results = rounds.flatMap((r) => r.results);
  deps.publish(results);
  const endpoints = rounds.flatMap(({ request, results: rs }) =>
    rs.map((r) => {
      const e: ScheduledCanaryEndpoint = { domain: request.domain, namespace: r.namespace, host: r.host, ok: r.ok, latencyMs: r.latencyMs };
      if (r.failureKind) e.failureKind = r.failureKind;
      if (r.status !== undefined) e.status = r.status;
      if (r.certificateDaysToExpiry !== undefined) e.certificateDaysToExpiry = r.certificateDaysToExpiry;
      if (r.message) e.message = r.message;
      if (r.checks) e.checks = r.checks;
      return e;
    }),
  );
  const ok = endpoints.every((e) => e.ok);
  deps.log.info('canary round', { ok, endpoints: endpoints.length, failed: endpoints.filter((e) => !e.ok).length });
  return { ok, checkedAt: deps.now().toISOString(), endpoints };
}
