/**
 * ConfigureCluster: the guide's cluster edits, as one server-side-applied plan.
 *
 * 1. Cognito: read the header tokens from Secrets Manager and validate them;
 * 2. read the current objects, the cluster's namespaces, our certificates and
 *    the ownership TXT of every other namespace they serve;
 *    and the hostname settings (config-network, inferenceservice-config, the
 *    InferenceServices: shared/plan/hostnameConfig.ts);
 * 3. compute the listener's certificate list now, not when the run started
 *    ({@link planListenerCertificates}: this run's certificates plus ours for
 *    every other namespace still provisioned and active), build the desired
 *    objects (config-domain key, the two AuthorizationPolicies, the ALB Ingress)
 *    and plan (pure, shared/plan/cluster.ts; refuses to touch objects we do not own unless `adopt`);
 * 4. apply the plan as field manager `kserve-edge`; the Ingress write is
 *    guarded by the resourceVersion read in step 2 (or "still absent"), so a
 *    run that read before another run's write cannot overwrite it: it reads
 *    again and re-plans.
 *
 * Steps 1–3 are {@link planConfigureCluster}, which `kserve-edge plan` calls
 * too, so what the CLI shows is what this step then applies.
 *
 * Idempotent: a rerun plans `none` for everything already in place, so the
 * Task's retries and the reconcile sweep are safe. The output carries no
 * header value (they are secrets); the logged plan is redacted.
 */
import { HostedZoneNotFoundError } from '../errors';
import { registerSecret, type Logger } from '../log';
import { FIELD_MANAGER, isOwnedObject, ownershipRecordName, TAG_DOMAIN } from '../ownership';
import { PatchConflictError, type AcmPort, type KubeObject, type KubePort, type Route53Port, type SecretsPort } from '../ports';
import type { JwtAuth, ProvisionRequest } from '../request';
import {
  ANNOTATION_CERTIFICATE_ARN,
  COGNITO_INGRESS,
  ingressRef,
  ISTIO_NAMESPACE,
  JWT_HEADER_INGRESS,
  OAUTH2_PROXY_NAMESPACE_REF,
  REQUEST_AUTHENTICATION_API_VERSION,
  REQUEST_AUTHENTICATION_REF,
  type JwtClusterState,
  AUTHORIZATION_POLICY_NAMES,
  CONFIG_DOMAIN_REF,
  INGRESS_CLASS_REF,
  authorizationPolicyRef,
  certificateNamespaces,
  desiredClusterState,
  hasChanges,
  ingressRefFor,
  planCluster,
  planListenerCertificates,
  redactClusterPlan,
  splitArns,
  type ClusterAction,
  type ClusterPlan,
  type ClusterState,
  type ListenerCertificateChange,
} from '../plan/cluster';
import { namespaceInfo } from '../plan/lifecycle';
import { ownershipOf, recordsNamed } from '../plan/records';
import { parseHeaderValuesSecret } from '../plan/secrets';
import {
  CONFIG_NETWORK_REF,
  INFERENCESERVICE_API_VERSION,
  inferenceServiceConfigRef,
  planHostnames,
  type HostnameClusterState,
  type HostnamePlan,
} from '../plan/hostnameConfig';
import { expectedLoadBalancer, type ExpectedLoadBalancer } from '../plan/loadBalancer';

/** Read-plan-apply rounds before a conflict is given up on (each round re-reads every object). */
export const MAX_PLAN_ATTEMPTS = 3;

export interface ConfigureClusterInput {
  request: ProvisionRequest;
  /** This run's certificates, in order (the first is the listener's default certificate). */
  certificateArns: string[];
  /** Certificates of ours EnsureCertificates saw (tagged with our owner id); added to what is read now, so none is mistaken for a foreign one. */
  ownedArns?: string[];
}

export interface ConfigureClusterDeps {
  kube: KubePort;
  secrets: SecretsPort;
  /** Our certificates, read when the plan is made (reads only). */
  acm: AcmPort;
  /** Ownership TXT records of the other namespaces (reads only). */
  route53: Route53Port;
  log: Logger;
  now: () => Date;
}

/** What {@link planConfigureCluster} needs: reads only. */
export type PlanConfigureClusterDeps = Pick<ConfigureClusterDeps, 'kube' | 'secrets' | 'acm' | 'route53'>;

/**
 * The cluster plan and the state it was made from. `plan` may hold header
 * values (Cognito's Ingress): pass it through {@link redactClusterPlan} before
 * showing or logging it.
 */
export interface ConfigureClusterPlan {
  plan: ClusterPlan;
  /** Modes in use, the layout each renders, the switch (if any) and the canary's hosts. */
  hostnames: HostnamePlan;
  current: ClusterState;
  /** Every certificate the listener gains, keeps or loses, and why. */
  certificates: ListenerCertificateChange[];
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
  /** The listener's certificates: added, kept or removed, and why. */
  certificates: ListenerCertificateChange[];
  /** The hostname layout, the KServe modes in use and what each renders (shared/plan/hostnameConfig.ts). */
  hostnames?: HostnameSummary;
  /**
   * What the ALB must serve once the controller has deployed the Ingress as
   * this step left it (its certificates and scheme, its resourceVersion, when
   * the write began). GetLoadBalancerAddress waits for it (#10 §4.3).
   */
  expected?: ExpectedLoadBalancer;
}

/** The hostname part of the plan, without the per-namespace details. */
export interface HostnameSummary {
  layout: HostnamePlan['layout'];
  defaultMode: HostnamePlan['defaultMode'];
  modes: Array<{ mode: string; current: string; template: string; changes: boolean }>;
  change?: HostnamePlan['change'];
}

/** {@link HostnamePlan} as the step's output and `kserve-edge plan` show it. */
export function summariseHostnames(plan: HostnamePlan): HostnameSummary {
  return {
    layout: plan.layout,
    defaultMode: plan.defaultMode,
    modes: plan.modes.map((m) => ({ mode: m.mode, current: m.current, template: m.template, changes: m.changes })),
    ...(plan.change ? { change: plan.change } : {}),
  };
}

/**
 * Reads what decides the hostnames: Knative's config-domain and config-network,
 * KServe's inferenceservice-config and every InferenceService (gets and one list).
 * A cluster without the InferenceService CRD has none.
 */
export async function readHostnameState(kube: KubePort, request: Pick<ProvisionRequest, 'kserve'>): Promise<HostnameClusterState> {
  const [configDomain, configNetwork, inferenceServiceConfig, inferenceServices] = await Promise.all([
    kube.get(CONFIG_DOMAIN_REF),
    kube.get(CONFIG_NETWORK_REF),
    kube.get(inferenceServiceConfigRef(request)),
    kube.list(INFERENCESERVICE_API_VERSION, 'InferenceService'),
  ]);
  return { configDomain, configNetwork, inferenceServiceConfig, inferenceServices };
}

/** One plan action as the step's output and `kserve-edge plan` show it: no object, so no secret. */
export function summariseClusterAction(step: ClusterAction): ConfigureClusterAction {
  const out: ConfigureClusterAction = { action: step.action, kind: step.ref.kind, name: step.ref.name, reason: step.reason };
  if (step.ref.namespace !== undefined) out.namespace = step.ref.namespace;
  return out;
}

/** JWT mode's extra reads: the migration's Ingresses, and what decides the RequestAuthentication. */
async function readJwtState(kube: KubePort, auth: JwtAuth): Promise<JwtClusterState> {
  const mode = auth.istioRequestAuthentication;
  const [headerIngress, retiredIngress, oauth2Proxy] = await Promise.all([
    kube.get(ingressRef(JWT_HEADER_INGRESS)),
    kube.get(ingressRef(COGNITO_INGRESS)),
    mode === 'auto' ? kube.get(OAUTH2_PROXY_NAMESPACE_REF) : Promise.resolve(undefined),
  ]);
  // The RequestAuthentication is read only when it may be written (an apiserver without Istio's CRD refuses the read).
  const writes = mode === 'apply' || (mode === 'auto' && oauth2Proxy !== undefined);
  const [requestAuthentication, requestAuthentications] = await Promise.all([
    writes ? kube.get(REQUEST_AUTHENTICATION_REF) : Promise.resolve(undefined),
    mode === 'verify'
      ? kube.list(REQUEST_AUTHENTICATION_API_VERSION, 'RequestAuthentication', { namespace: ISTIO_NAMESPACE })
      : Promise.resolve([]),
  ]);
  return { headerIngress, retiredIngress, oauth2Proxy: oauth2Proxy !== undefined, requestAuthentication, requestAuthentications };
}

/** Reads the objects the cluster plan compares (gets only). */
async function readClusterState(kube: KubePort, request: Pick<ProvisionRequest, 'auth'>): Promise<ClusterState> {
  const [configDomain, ingress, ingressClass, ...policies] = await Promise.all([
    kube.get(CONFIG_DOMAIN_REF),
    kube.get(ingressRefFor(request)),
    kube.get(INGRESS_CLASS_REF),
    ...AUTHORIZATION_POLICY_NAMES.map((name) => kube.get(authorizationPolicyRef(name))),
  ]);
  const authorizationPolicies: Record<string, KubeObject | undefined> = {};
  AUTHORIZATION_POLICY_NAMES.forEach((name, i) => {
    authorizationPolicies[name] = policies[i];
  });
  const state: ClusterState = { configDomain, authorizationPolicies, ingress, ingressClass };
  if (request.auth.provider === 'jwt') state.jwt = await readJwtState(kube, request.auth);
  return state;
}

/**
 * Reads what decides which other namespaces keep their certificate on the
 * listener: the active Namespaces, our certificates for the domain, and the
 * ownership TXT of each namespace they serve outside this run.
 */
async function readListenerInputs(request: ProvisionRequest, deps: PlanConfigureClusterDeps) {
  const [namespaces, owned] = await Promise.all([deps.kube.list('v1', 'Namespace'), deps.acm.listOwnedCertificates(request.ownerId)]);
  const active = new Set(
    namespaces
      .map(namespaceInfo)
      .filter((n) => !n.terminating)
      .map((n) => n.name),
  );
  const ours = owned.filter((c) => c.tags[TAG_DOMAIN] === request.domain);
  const run = new Set(request.namespaces);
  const others = [...new Set(ours.flatMap((c) => certificateNamespaces(c, request.domain)))].filter((ns) => !run.has(ns) && active.has(ns));
  const provisioned = new Set<string>();
  if (others.length > 0) {
    const zoneId = request.hostedZoneId ?? (await deps.route53.findHostedZone(request.domain))?.id;
    if (!zoneId) throw new HostedZoneNotFoundError(`no public Route 53 hosted zone serves ${request.domain}`, { path: 'domain' });
    // Every namespace's ownership TXT in one pass over the zone's listing (not one read per namespace).
    const txt = await deps.route53.listRecordsNamed(
      zoneId,
      others.map((ns) => ownershipRecordName(ns, request.domain)),
    );
    for (const ns of others) {
      if (ownershipOf(recordsNamed(txt, ownershipRecordName(ns, request.domain)), request.ownerId) === 'ours') provisioned.add(ns);
    }
  }
  return { active, owned: ours, provisioned };
}

/** Runs the plan in order, as field manager {@link FIELD_MANAGER}. */
async function applyClusterPlan(kube: KubePort, plan: ClusterPlan): Promise<void> {
  for (const step of plan) {
    if (step.action === 'apply' && step.object) {
      const options = { fieldManager: FIELD_MANAGER, force: step.force ?? false };
      await kube.apply(step.object, step.precondition === undefined ? options : { ...options, precondition: step.precondition });
    } else if (step.action === 'patch' && step.ops) {
      await kube.jsonPatch(step.ref, step.ops, { fieldManager: FIELD_MANAGER });
    }
  }
}

/** Reads and validates the header tokens (Cognito, JWT's transition) before anything is read from the cluster. */
async function headerValuesFor(request: ProvisionRequest, secrets: SecretsPort): Promise<string[] | undefined> {
  const auth = request.auth;
  const secretId =
    auth.provider === 'cognito' ? auth.headerValuesSecretId : auth.provider === 'jwt' ? auth.transition?.headerValuesSecretId : undefined;
  if (secretId === undefined) return undefined;
  const raw = await secrets.getSecretString(secretId);
  // Register before anything can fail and log: the adapter does too, this is the second line of defence.
  registerSecret(raw);
  const headerValues = parseHeaderValuesSecret(raw);
  headerValues.forEach(registerSecret);
  return headerValues;
}

async function readAndPlan(
  input: ConfigureClusterInput,
  headerValues: string[] | undefined,
  deps: PlanConfigureClusterDeps,
): Promise<ConfigureClusterPlan> {
  const { request } = input;
  // This run's list is checked (ACM ARNs, not empty) before anything is read.
  desiredClusterState({ request, certificateArns: input.certificateArns, headerValues });
  const [current, listenerInputs, hostnameState] = await Promise.all([
    readClusterState(deps.kube, request),
    readListenerInputs(request, deps),
    readHostnameState(deps.kube, request),
  ]);
  const hostnames = planHostnames(request, hostnameState);
  const listener = planListenerCertificates({
    domain: request.domain,
    // As planCluster decides: only Kubeflow's own (not ours) Ingress is shared; foreign ARNs on ours are not kept.
    ingressMode:
      request.auth.provider === 'dex' && current.ingress && !isOwnedObject(current.ingress.metadata.labels, request.ownerId)
        ? 'shared'
        : 'owned',
    runNamespaces: request.namespaces,
    runArns: input.certificateArns,
    owned: listenerInputs.owned,
    alsoOurs: input.ownedArns ?? [],
    current: splitArns(current.ingress?.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]),
    activeNamespaces: listenerInputs.active,
    provisionedNamespaces: listenerInputs.provisioned,
  });
  const desired = desiredClusterState({ request, certificateArns: listener.arns, headerValues });
  const ownedArns = [...new Set([...listenerInputs.owned.map((c) => c.arn), ...(input.ownedArns ?? []), ...input.certificateArns])];
  const knative = hostnames.modes.some((m) => m.mode === 'Knative');
  const clusterPlan = planCluster(current, desired, { ownerId: request.ownerId, adopt: request.adopt, ownedArns, knative });
  // Hostname settings right after config-domain (or first, when no mode uses Knative): all before the Ingress.
  const at = knative ? 1 : 0;
  const plan: ClusterPlan = [...clusterPlan.slice(0, at), ...hostnames.actions, ...clusterPlan.slice(at)];
  return { plan, current, certificates: listener.changes, hostnames };
}

/**
 * Steps 1–3 of the module comment: reads the secret, the cluster, our
 * certificates and the ownership records, returns the plan; writes nothing.
 *
 * @throws InvalidSecretError for weak or malformed tokens (before the cluster is read).
 * @throws ObjectOwnedByAnotherError for a foreign object the plan would have to change, unless `adopt`.
 * @throws InvalidRequestError when the listener would hold more certificates than an ALB takes.
 * @throws PrerequisiteMissingError for a missing config-domain or IngressClass `alb`.
 */
export async function planConfigureCluster(input: ConfigureClusterInput, deps: PlanConfigureClusterDeps): Promise<ConfigureClusterPlan> {
  return readAndPlan(input, await headerValuesFor(input.request, deps.secrets), deps);
}

/** See the module comment. */
export async function configureCluster(input: ConfigureClusterInput, deps: ConfigureClusterDeps): Promise<ConfigureClusterOutput> {
  const { request } = input;
  const headerValues = await headerValuesFor(request, deps.secrets);
  const log = deps.log.child({ step: 'ConfigureCluster' });
  let plan: ClusterAction[];
  let certificates: ListenerCertificateChange[];
  let hostnames: HostnamePlan;
  // Before the first read: a refusal the controller reports from here on may be about this write.
  const writtenAt = deps.now().toISOString();
  // Read → plan → apply. A guarded write refused because the object changed
  // since the read (a concurrent run, a human) means: read again and re-plan.
  for (let attempt = 1; ; attempt++) {
    ({ plan, certificates, hostnames } = await readAndPlan(input, headerValues, deps));
    log.info('cluster plan', {
      plan: redactClusterPlan(plan),
      certificates,
      hostnames: summariseHostnames(hostnames),
      changes: hasChanges(plan),
      attempt,
    });
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
    certificates,
    hostnames: summariseHostnames(hostnames),
  };
  if (applied) out.expected = expectedLoadBalancer(applied, writtenAt);
  return out;
}
