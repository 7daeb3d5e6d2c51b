/**
 * ConfigureCluster: the guide's cluster edits, as one server-side-applied plan.
 *
 * 1. Cognito: read the header tokens from Secrets Manager and validate them;
 * 2. build the desired objects (config-domain key, the two AuthorizationPolicies,
 *    the ALB Ingress) and read the current ones;
 * 3. plan (pure, shared/plan/cluster.ts; refuses to touch objects we do not own unless `adopt`);
 * 4. apply the plan as field manager `kserve-edge`.
 *
 * Steps 1–3 are {@link planConfigureCluster}, which `kserve-edge plan` calls
 * too, so what the CLI shows is what this step then applies.
 *
 * Idempotent: a rerun plans `none` for everything already in place, so the
 * Task's retries and the reconcile sweep are safe. The output carries no
 * header value (they are secrets); the logged plan is redacted.
 */
import { registerSecret, type Logger } from '../log';
import { FIELD_MANAGER } from '../ownership';
import { PatchConflictError, type KubeObject, type KubePort, type SecretsPort } from '../ports';
import type { ProvisionRequest } from '../request';
import {
  AUTHORIZATION_POLICY_NAMES,
  CONFIG_DOMAIN_REF,
  authorizationPolicyRef,
  desiredClusterState,
  hasChanges,
  ingressRefFor,
  planCluster,
  redactClusterPlan,
  type ClusterAction,
  type ClusterPlan,
  type ClusterState,
  type DesiredClusterState,
} from '../plan/cluster';
import { parseHeaderValuesSecret } from '../plan/secrets';
import { expectedLoadBalancer, type ExpectedLoadBalancer } from '../plan/loadBalancer';

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
}

/** What {@link planConfigureCluster} needs: reads only. */
export type PlanConfigureClusterDeps = Pick<ConfigureClusterDeps, 'kube' | 'secrets'>;

/**
 * The cluster plan and the state it was made from. `plan` may hold header
 * values (Cognito's Ingress): pass it through {@link redactClusterPlan} before
 * showing or logging it.
 */
export interface ConfigureClusterPlan {
  plan: ClusterPlan;
  current: ClusterState;
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
  /**
   * What the ALB must serve once the controller has deployed the Ingress as
   * this step left it (its certificates and scheme, its resourceVersion, when
   * the write began). GetLoadBalancerAddress waits for it (#10 §4.3).
   */
  expected?: ExpectedLoadBalancer;
}

/** One plan action as the step's output and `kserve-edge plan` show it: no object, so no secret. */
export function summariseClusterAction(step: ClusterAction): ConfigureClusterAction {
  const out: ConfigureClusterAction = { action: step.action, kind: step.ref.kind, name: step.ref.name, reason: step.reason };
  if (step.ref.namespace !== undefined) out.namespace = step.ref.namespace;
  return out;
}

/** Reads the objects the cluster plan compares (gets only). */
async function readClusterState(kube: KubePort, request: Pick<ProvisionRequest, 'auth'>): Promise<ClusterState> {
  const [configDomain, ingress, ...policies] = await Promise.all([
    kube.get(CONFIG_DOMAIN_REF),
    kube.get(ingressRefFor(request)),
    ...AUTHORIZATION_POLICY_NAMES.map((name) => kube.get(authorizationPolicyRef(name))),
  ]);
  const authorizationPolicies: Record<string, KubeObject | undefined> = {};
  AUTHORIZATION_POLICY_NAMES.forEach((name, i) => {
    authorizationPolicies[name] = policies[i];
  });
  return { configDomain, authorizationPolicies, ingress };
}

/** Runs the plan in order, as field manager {@link FIELD_MANAGER}. */
async function applyClusterPlan(kube: KubePort, plan: ClusterPlan): Promise<void> {
  for (const step of plan) {
    if (step.action === 'apply' && step.object) {
      await kube.apply(step.object, { fieldManager: FIELD_MANAGER, force: step.force ?? false });
    } else if (step.action === 'patch' && step.ops) {
      await kube.jsonPatch(step.ref, step.ops, { fieldManager: FIELD_MANAGER });
    }
  }
}

/** Reads the header tokens (Cognito) and builds the desired objects; validates before anything is read from the cluster. */
async function desiredFor(input: ConfigureClusterInput, secrets: SecretsPort): Promise<DesiredClusterState> {
  const { request } = input;
  let headerValues: string[] | undefined;
  if (request.auth.provider === 'cognito') {
    const raw = await secrets.getSecretString(request.auth.headerValuesSecretId);
    // Register before anything can fail and log: the adapter does too, this is the second line of defence.
    registerSecret(raw);
    headerValues = parseHeaderValuesSecret(raw);
    headerValues.forEach(registerSecret);
  }
  return desiredClusterState({ request, certificateArns: input.certificateArns, headerValues });
}

async function readAndPlan(input: ConfigureClusterInput, desired: DesiredClusterState, kube: KubePort): Promise<ConfigureClusterPlan> {
  const { request } = input;
  const current = await readClusterState(kube, request);
  const plan = planCluster(current, desired, { ownerId: request.ownerId, adopt: request.adopt, ownedArns: input.ownedArns });
  return { plan, current };
}

/**
 * Steps 1–3 of the module comment: reads the secret and the cluster, returns
 * the plan; writes nothing.
 *
 * @throws InvalidSecretError for weak or malformed tokens (before the cluster is read).
 * @throws ObjectOwnedByAnotherError for a foreign object the plan would have to change, unless `adopt`.
 */
export async function planConfigureCluster(input: ConfigureClusterInput, deps: PlanConfigureClusterDeps): Promise<ConfigureClusterPlan> {
  return readAndPlan(input, await desiredFor(input, deps.secrets), deps.kube);
}

/** See the module comment. */
export async function configureCluster(input: ConfigureClusterInput, deps: ConfigureClusterDeps): Promise<ConfigureClusterOutput> {
  const { request } = input;
  const desired = await desiredFor(input, deps.secrets);
  const log = deps.log.child({ step: 'ConfigureCluster' });
  let plan: ClusterAction[];
  // Before the first read: a refusal the controller reports from here on may be about this write.
  const writtenAt = deps.now().toISOString();
  // Read → plan → apply. A guarded patch refused because the object changed
  // since the read (a concurrent run, a human) means: read again and re-plan.
  for (let attempt = 1; ; attempt++) {
    ({ plan } = await readAndPlan(input, desired, deps.kube));
    log.info('cluster plan', { plan: redactClusterPlan(plan), changes: hasChanges(plan), attempt });
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
  // Read back, not taken from the plan: the Ingress may hold certificates that are not this run's (Kubeflow's
  // shared Ingress, other namespaces'), and the controller deploys all of them or none.
  const applied = await deps.kube.get(ref);
  const out: ConfigureClusterOutput = {
    configuredAt: deps.now().toISOString(),
    ingress: { namespace: ref.namespace ?? 'istio-system', name: ref.name },
    actions: plan.map(summariseClusterAction),
  };
  if (applied) out.expected = expectedLoadBalancer(applied, writtenAt);
  return out;
}
