/**
 * ConfigureCluster: the guide's cluster edits, as one server-side-applied plan.
 *
 * 1. Cognito: read the header tokens from Secrets Manager and validate them;
 * 2. build the desired objects (config-domain key, the two AuthorizationPolicies,
 *    the ALB Ingress) and read the current ones;
 * 3. plan (pure; refuses to touch objects we do not own unless `adopt`);
 * 4. apply the plan as field manager `kserve-edge` — or, in a dry run, only log it.
 *
 * Idempotent: a rerun plans `none` for everything already in place, so the
 * Task's retries and the reconcile sweep are safe. The output carries no
 * header value (they are secrets); the logged plan is redacted.
 */
import { registerSecret, type Logger } from '../log';
import { PatchConflictError, type KubePort, type SecretsPort } from '../ports';
import type { ProvisionRequest } from '../request';
import {
  applyClusterPlan,
  desiredClusterState,
  hasChanges,
  ingressRefFor,
  planCluster,
  readClusterState,
  redactClusterPlan,
  type ClusterAction,
} from '../plan/cluster';
import { parseHeaderValuesSecret } from '../plan/secrets';

/** Read-plan-apply rounds before a conflict is given up on (each round re-reads every object). */
export const MAX_PLAN_ATTEMPTS = 3;

export interface ConfigureClusterInput {
  request: ProvisionRequest;
  /** Certificates to put on the ALB listener, in order (the first is the default certificate). */
  certificateArns: string[];
  /** Every certificate of ours (tagged with our owner id), so Dex's shared Ingress drops stale ones and keeps foreign ones. */
  ownedArns: string[];
}

export interface ConfigureClusterDeps {
  kube: KubePort;
  secrets: SecretsPort;
  log: Logger;
  now: () => Date;
  /** Plan and log only; write nothing. */
  dryRun?: boolean;
}

/** One planned action, without the object itself (it may hold secrets). */
export interface ConfigureClusterAction {
  action: string;
  kind: string;
  namespace?: string;
  name: string;
  reason: string;
}

export interface ConfigureClusterOutput {
  /** When the cluster was configured; the ALB wait measures its deadline from here. */
  configuredAt: string;
  /** The Ingress whose status will carry the ALB address. */
  ingress: { namespace: string; name: string };
  actions: ConfigureClusterAction[];
}

function summarise(step: ClusterAction): ConfigureClusterAction {
  const out: ConfigureClusterAction = { action: step.action, kind: step.ref.kind, name: step.ref.name, reason: step.reason };
  if (step.ref.namespace !== undefined) out.namespace = step.ref.namespace;
  return out;
}

/** See the module comment. */
export async function configureCluster(input: ConfigureClusterInput, deps: ConfigureClusterDeps): Promise<ConfigureClusterOutput> {
  const { request } = input;
  let headerValues: string[] | undefined;
  if (request.auth.provider === 'cognito') {
    const raw = await deps.secrets.getSecretString(request.auth.headerValuesSecretId);
    // Register before anything can fail and log: the adapter does too, this is the second line of defence.
    registerSecret(raw);
    headerValues = parseHeaderValuesSecret(raw);
    headerValues.forEach(registerSecret);
  }

  const desired = desiredClusterState({ request, certificateArns: input.certificateArns, headerValues });
  const log = deps.log.child({ step: 'ConfigureCluster', dryRun: deps.dryRun === true });
  let plan: ClusterAction[];
  // Read → plan → apply. A guarded patch refused because the object changed
  // since the read (a concurrent run, a human) means: read again and re-plan.
  for (let attempt = 1; ; attempt++) {
    const current = await readClusterState(deps.kube, request);
    plan = planCluster(current, desired, { ownerId: request.ownerId, adopt: request.adopt, ownedArns: input.ownedArns });
    log.info('cluster plan', { plan: redactClusterPlan(plan), changes: hasChanges(plan), attempt });
    if (deps.dryRun) {
      log.info('dry run: not applying the cluster plan');
      break;
    }
    if (!hasChanges(plan)) break;
    try {
      await applyClusterPlan(deps.kube, plan);
      log.info('cluster plan applied', { applied: plan.filter((a) => a.action !== 'none').length });
      break;
    } catch (err) {
      if (!(err instanceof PatchConflictError) || attempt >= MAX_PLAN_ATTEMPTS) throw err;
      log.warn('an object changed while the plan was applied; reading it again', { attempt, reason: err.message });
    }
  }

  const ref = ingressRefFor(request);
  return {
    configuredAt: deps.now().toISOString(),
    ingress: { namespace: ref.namespace ?? 'istio-system', name: ref.name },
    actions: plan.map(summarise),
  };
}
