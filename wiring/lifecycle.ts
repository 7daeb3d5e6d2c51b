/**
 * Wiring of the two automatic triggers (namespace events, sweep) from the
 * configuration the stack sets: the request template
 * (`KSERVE_EDGE_REQUEST_TEMPLATE`: JSON, or the Secrets Manager secret id
 * holding it, read through Powertools Parameters, cached), the two state
 * machines (`KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN`,
 * `KSERVE_EDGE_DEPROVISION_STATE_MACHINE_ARN`) and the sweep's retry period
 * (`KSERVE_EDGE_RETRY_PERIOD_MINUTES`).
 */
import { AcmAdapter } from '../shared/aws/acm';
import { readJsonConfig } from '../shared/aws/parameters';
import { Route53Adapter } from '../shared/aws/route53';
import { SfnExecutions } from '../shared/aws/sfn';
import type { Logger } from '../shared/log';
import { parseProvisionRequest } from '../shared/request';
import { parseRequestTemplate, requestForNamespaces, type RequestTemplate } from '../shared/plan/lifecycle';
import type { LifecycleDeps } from '../shared/steps/reconcileNamespaces';
import { cachedSecrets } from './canary';
import { acmClient, route53Client, sfnClient, taggingClient } from './clients';
import { kubeFor } from './cluster';
import { required, type Config } from './config';

export const REQUEST_TEMPLATE_ENV = 'KSERVE_EDGE_REQUEST_TEMPLATE';

/** The request template, validated. */
export async function requestTemplate(config: Config): Promise<RequestTemplate> {
  const region = config.region ?? 'us-east-1';
  return parseRequestTemplate(
    await readJsonConfig(REQUEST_TEMPLATE_ENV, config.lifecycle.requestTemplate, (id) => cachedSecrets(config, region).getConfigString(id)),
  );
}

/** Adapters for the lifecycle steps. */
export async function lifecycleDeps(
  config: Config,
  template: RequestTemplate,
  ctx: { log: Logger; now: () => Date },
): Promise<LifecycleDeps> {
  const statics = template.namespaces ?? [];
  const base = parseProvisionRequest(requestForNamespaces(template, statics.length > 0 ? [] : ['template-check']));
  const region = config.region ?? base.cluster.region;
  const provisionArn = required(config.lifecycle.provisionStateMachineArn, 'KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN');
  const deprovisionArn = required(config.lifecycle.deprovisionStateMachineArn, 'KSERVE_EDGE_DEPROVISION_STATE_MACHINE_ARN');
  return {
    kube: await kubeFor(config, base.cluster),
    route53: new Route53Adapter(route53Client(config)),
    acm: new AcmAdapter(acmClient(config, base.cluster.region), taggingClient(config, base.cluster.region)),
    provisionRuns: new SfnExecutions(sfnClient(config, region), provisionArn),
    deprovisionRuns: new SfnExecutions(sfnClient(config, region), deprovisionArn),
    log: ctx.log,
    now: ctx.now,
    retryPeriodMinutes: config.lifecycle.retryPeriodMinutes,
  };
}
