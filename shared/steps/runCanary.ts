/**
 * RunCanary: the last Task of the provisioning run. Probes every canary
 * namespace and throws `CanaryFailed` (kind = the first failure's layer) when
 * any probe fails, so the ASL can retry it while DNS and the ALB settle and
 * then route it to NotifyFailure.
 */
import { redact } from '../log';
import type { ProvisionRequest } from '../request';
import { assertCanaryOk, runCanary, type RunCanaryDeps } from '../canary/probe';

export interface RunCanaryStepInput {
  /** The validated request (the handler parses the event with `requestOf`). */
  request: ProvisionRequest;
}

export interface CanaryNamespaceSummary {
  namespace: string;
  host: string;
  status?: number;
  latencyMs: number;
  prediction?: unknown[];
  certificateDaysToExpiry?: number;
}

export interface RunCanaryStepOutput {
  ok: true;
  checkedAt: string;
  model: string;
  namespaces: CanaryNamespaceSummary[];
}

/**
 * @example
 *   const out = await runCanaryStep({ request }, { secrets, resolver, now: () => new Date(), log, loginCache });
 *   // { ok: true, checkedAt, model, namespaces: [{ namespace, host, status: 200, latencyMs, prediction: [1, 2], certificateDaysToExpiry }] }
 */
export async function runCanaryStep(input: RunCanaryStepInput, deps: RunCanaryDeps): Promise<RunCanaryStepOutput> {
  const { request } = input;
  const result = await runCanary({ request }, deps);
  assertCanaryOk(result);
  const summary: RunCanaryStepOutput = {
    ok: true,
    checkedAt: deps.now().toISOString(),
    model: request.canary.model,
    namespaces: result.results.map((r) => {
      const s: CanaryNamespaceSummary = { namespace: r.namespace, host: r.host, latencyMs: r.latencyMs };
      if (r.status !== undefined) s.status = r.status;
      if (r.prediction !== undefined) s.prediction = r.prediction;
      if (r.certificateDaysToExpiry !== undefined) s.certificateDaysToExpiry = r.certificateDaysToExpiry;
      return s;
    }),
  };
  // Nothing secret is in here by construction; redact() is the second line of defence.
  return redact(summary);
}
