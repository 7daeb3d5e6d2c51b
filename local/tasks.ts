/**
 * The Task states of `provision.asl.json` mapped to the very handlers Lambda
 * runs, for local runs (CLI, demo, end-to-end tests). Loaded lazily so a
 * command that needs only some steps does not load the Kubernetes client.
 */
import type { StepHandler } from '../shared/handler';

export const TASK_MODULES: Readonly<Record<string, () => Promise<{ handler: StepHandler }>>> = {
  ValidateRequest: () => import('../functions/validate-request/handler'),
  EnsureCertificates: () => import('../functions/ensure-certificates/handler'),
  PublishValidationRecords: () => import('../functions/publish-validation-records/handler'),
  CheckCertificates: () => import('../functions/check-certificates/handler'),
  ConfigureCluster: () => import('../functions/configure-cluster/handler'),
  GetLoadBalancerAddress: () => import('../functions/get-load-balancer-address/handler'),
  UpsertDnsRecords: () => import('../functions/upsert-dns-records/handler'),
  CheckDnsChange: () => import('../functions/check-dns-change/handler'),
  RunCanary: () => import('../functions/run-canary/handler'),
  NotifyFailure: () => import('../functions/notify-failure/handler'),
};

/** Every Task handler, called in-process with a fake Lambda context. */
export async function localTaskHandlers(): Promise<Record<string, (input: unknown) => Promise<unknown>>> {
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  // One at a time: concurrent first imports of modules that share dependencies
  // race in some ESM loaders (jest's among them).
  for (const [state, load] of Object.entries(TASK_MODULES)) {
    const { handler } = await load();
    let invocation = 0;
    handlers[state] = (input: unknown) => handler(input, { awsRequestId: `local-${state}-${++invocation}`, functionName: state });
  }
  return handlers;
}

/** The Task states of `deprovision.asl.json`, as {@link TASK_MODULES} for the provisioning workflow. */
export const DEPROVISION_TASK_MODULES: Readonly<Record<string, () => Promise<{ handler: StepHandler }>>> = {
  DeprovisionNamespace: () => import('../functions/deprovision-namespace/handler'),
  NotifyFailure: () => import('../functions/notify-failure/handler'),
};

/** Every Task handler of the deprovision workflow, called in-process. */
export async function localDeprovisionHandlers(): Promise<Record<string, (input: unknown) => Promise<unknown>>> {
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [state, load] of Object.entries(DEPROVISION_TASK_MODULES)) {
    const { handler } = await load();
    let invocation = 0;
    handlers[state] = (input: unknown) => handler(input, { awsRequestId: `local-${state}-${++invocation}`, functionName: state });
  }
  return handlers;
}
