/**
 * The Task states of each workflow mapped to the very handlers Lambda runs,
 * for local runs in this process (CLI, demo, state-machine tests). Loaded
 * lazily so a command that needs only some steps does not load the
 * Kubernetes client. The end-to-end tests run the packaged bundles instead,
 * each in a process of its own (`packaged.ts`).
 *
 * This table is why the runner lives outside `shared/`: it is the one place
 * that ties the state machines to `functions/`.
 */
import type { StepHandler } from '../shared/handler';

/** Task state name → a lazy import of the function module that implements it. */
export type TaskModules = Readonly<Record<string, () => Promise<{ handler: StepHandler }>>>;

/** A Task handler loaded for a local run: the function's handler with a fake Lambda context bound. */
export type LocalTaskHandler = (input: unknown) => Promise<unknown>;

/** The Task states of `provision.asl.json`. */
export const TASK_MODULES: TaskModules = {
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

/** The Task states of `deprovision.asl.json`. */
export const DEPROVISION_TASK_MODULES: TaskModules = {
  DeprovisionNamespace: () => import('../functions/deprovision-namespace/handler'),
  NotifyFailure: () => import('../functions/notify-failure/handler'),
};

/**
 * Every Task handler of one workflow (default: provisioning), called
 * in-process with a fake Lambda context whose request id counts the
 * invocations of that state.
 *
 * @example
 *   await runStateMachine({ definition: loadDefinition(), handlers: await localTaskHandlers(), input });
 *   await runStateMachine({
 *     definition: loadDefinition('statemachine/deprovision.asl.json'),
 *     handlers: await localTaskHandlers(DEPROVISION_TASK_MODULES),
 *     input,
 *   });
 */
export async function localTaskHandlers(modules: TaskModules = TASK_MODULES): Promise<Record<string, LocalTaskHandler>> {
  const handlers: Record<string, LocalTaskHandler> = {};
  // One at a time: concurrent first imports of modules that share dependencies
  // race in some ESM loaders (jest's among them).
  for (const [state, load] of Object.entries(modules)) {
    const { handler } = await load();
    let invocation = 0;
    handlers[state] = (input: unknown) => handler(input, { awsRequestId: `local-${state}-${++invocation}`, functionName: state });
  }
  return handlers;
}
