/**
 * Wiring of the two automatic triggers (namespace events, sweep) from the
 * environment the stack sets:
 *
 * | variable                                    | meaning                                                       |
 * |---------------------------------------------|---------------------------------------------------------------|
 * | `KSERVE_EDGE_REQUEST_TEMPLATE`              | the request template: JSON, or the Secrets Manager secret id holding it (read through Powertools Parameters, cached) |
 * | `KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN`   | the provisioning state machine                                |
 * | `KSERVE_EDGE_DEPROVISION_STATE_MACHINE_ARN` | the deprovisioning state machine                              |
 * | `KSERVE_EDGE_RETRY_PERIOD_MINUTES`          | a failed run is retried by the sweep at most once per period (default 360) |
 */
import { acmClient, route53Client, sfnClient } from './aws/clients';
import { AcmAdapter } from './aws/acm';
import { readJsonConfig } from './aws/parameters';
import { Route53Adapter } from './aws/route53';
import { SfnExecutions } from './aws/sfn';
import { cachedSecrets } from './canary/scheduled';
import { kubeFor } from './k8s/connect';
import type { Logger } from './log';
import { parseProvisionRequest } from './request';
import { parseRequestTemplate, requestForNamespaces, type RequestTemplate } from './plan/lifecycle';
import { DEFAULT_RETRY_PERIOD_MINUTES, type LifecycleDeps } from './steps/reconcileNamespaces';

export const REQUEST_TEMPLATE_ENV = 'KSERVE_EDGE_REQUEST_TEMPLATE';
export const PROVISION_ARN_ENV = 'KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN';
export const DEPROVISION_ARN_ENV = 'KSERVE_EDGE_DEPROVISION_STATE_MACHINE_ARN';
export const RETRY_PERIOD_ENV = 'KSERVE_EDGE_RETRY_PERIOD_MINUTES';

function required(env: NodeJS.ProcessEnv, key: string): string {
  const v = env[key]?.trim();
  if (!v) throw new TypeError(`Environment variable ${key} is required`);
  return v;
}

/** The request template, validated. */
export async function requestTemplateFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<RequestTemplate> {
  const region = env.AWS_REGION || 'us-east-1';
  return parseRequestTemplate(await readJsonConfig(REQUEST_TEMPLATE_ENV, env, (id) => cachedSecrets(region).getConfigString(id)));
}

/** Adapters for the lifecycle steps. */
export async function lifecycleDepsFromEnv(
  template: RequestTemplate,
  ctx: { log: Logger; now: () => Date },
  env: NodeJS.ProcessEnv = process.env,
): Promise<LifecycleDeps> {
  const statics = template.namespaces ?? [];
  const base = parseProvisionRequest(requestForNamespaces(template, statics.length > 0 ? [] : ['template-check']));
  const region = env.AWS_REGION || base.cluster.region;
  const period = env[RETRY_PERIOD_ENV] ? Number(env[RETRY_PERIOD_ENV]) : DEFAULT_RETRY_PERIOD_MINUTES;
  if (!Number.isInteger(period) || period < 1) throw new TypeError(`Environment variable ${RETRY_PERIOD_ENV} must be a positive integer`);
  return {
    kube: await kubeFor(base.cluster, env),
    route53: new Route53Adapter(route53Client()),
    acm: new AcmAdapter(acmClient(base.cluster.region)),
    provisionRuns: new SfnExecutions(sfnClient(region), required(env, PROVISION_ARN_ENV)),
    deprovisionRuns: new SfnExecutions(sfnClient(region), required(env, DEPROVISION_ARN_ENV)),
    log: ctx.log,
    now: ctx.now,
    retryPeriodMinutes: period,
  };
}
