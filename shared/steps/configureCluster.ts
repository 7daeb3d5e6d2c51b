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
import { HostedZoneNotFoundError, InvalidRequestError } from '../errors';
import { registerSecret, type Logger } from '../log';
import { FIELD_MANAGER, isOwnedObject, ownershipRecordName, TAG_DOMAIN } from '../ownership';
import {
  PatchConflictError,
  type AcmPort,
  type CertificateDetail,
  type KubeObject,
  type KubePort,
  type LoadBalancersPort,
  type Route53Port,
  type SecretsPort,
} from '../ports';
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
  baseIngressName,
  CONFIG_DOMAIN_REF,
  INGRESS_CLASS_REF,
  authorizationPolicyRef,
  certificateNamespaces,
  desiredClusterState,
  hasChanges,
  ingressRefFor,
  loadBalancerAddress,
  planCluster,
  planIngress,
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
import { planValidationRecordDeletions } from '../plan/deprovision';
import { parseHeaderValuesSecret } from '../plan/secrets';
import { expectedLoadBalancer, HTTPS_PORT, type ExpectedLoadBalancer } from '../plan/loadBalancer';
import { bundleListener, currentBundles, type BundleCertificate } from '../plan/bundles';
import { TAG_SCOPE } from '../ownership';
import { FAILED_STATUSES } from '../plan/certificates';
import { assignShards, checkShardQuotas, MAX_SHARDS, quotasFrom, shardIndexOf, type ShardQuotas, type ShardView } from '../plan/shards';

/** Above this many listener entries the step's output lists only the changes (Step Functions' 256 KiB payload). */
export const MAX_LISTED_CERTIFICATE_CHANGES = 100;
import {
  CONFIG_NETWORK_REF,
  INFERENCESERVICE_API_VERSION,
  inferenceServiceConfigRef,
  planHostnames,
  type HostnameClusterState,
  type HostnamePlan,
} from '../plan/hostnameConfig';

/** Read-plan-apply rounds before a conflict is given up on (each round re-reads every object). */
export const MAX_PLAN_ATTEMPTS = 3;

export interface ConfigureClusterInput {
  request: ProvisionRequest;
  /** This run's certificates, in order (the first is the listener's default certificate). */
  certificateArns: string[];
  /** Certificates of ours EnsureCertificates saw (tagged with our owner id); added to what is read now, so none is mistaken for a foreign one. */
  ownedArns?: string[];
  /**
   * The names of each of this run's certificates, parallel to `certificateArns`
   * (EnsureCertificates' items): which namespace a just-requested certificate
   * serves, before ACM's tag listing shows it. Without it, the names are read.
   */
  certificateNames?: string[][];
}

export interface ConfigureClusterDeps {
  kube: KubePort;
  secrets: SecretsPort;
  /** Our certificates, read when the plan is made (reads only). */
  acm: AcmPort;
  /** Ownership TXT records of the other namespaces (reads only). */
  route53: Route53Port;
  /** The account's ALB quotas (DescribeAccountLimits); without it, ELBv2's defaults. */
  loadBalancers?: LoadBalancersPort;
  log: Logger;
  now: () => Date;
}

/** What {@link planConfigureCluster} needs: reads only. */
export type PlanConfigureClusterDeps = Pick<ConfigureClusterDeps, 'kube' | 'secrets' | 'acm' | 'route53' | 'loadBalancers'>;

/**
 * The cluster plan and the state it was made from. `plan` may hold header
 * values (Cognito's Ingress): pass it through {@link redactClusterPlan} before
 * showing or logging it.
 */
export interface ConfigureClusterPlan {
  /** Shard 0's actions (config-domain, policies, its Ingress), then every other shard's Ingress action. */
  plan: ClusterPlan;
  /** Modes in use, the layout each renders, the switch (if any) and the canary's hosts. */
  hostnames: HostnamePlan;
  current: ClusterState;
  /** Every certificate the listeners gain, keep or lose, and why (with `shard` when there are several). */
  certificates: ListenerCertificateChange[];
  /** Every ALB shard after the plan: its Ingress, the namespaces it serves, and this run's among them. */
  shards: PlannedShard[];
  quotas: ShardQuotas;
  /** `bundled`: the make-before-break state of the bundle certificates (shared/plan/bundles.ts). */
  bundles?: BundleSwap;
  /** `bundled`: our certificates as this plan read them (their validation records are needed once some are deleted). */
  owned?: readonly CertificateDetail[];
}

/** Bundle certificates being swapped: what stays for now and what goes. */
export interface BundleSwap {
  /** Bundle certificates on the listener after the plan (the superseded ones still held among them). */
  attach: string[];
  /** Superseded certificates kept on the listener until their namespaces' new one is on the ALB. */
  holding: Array<{ arn: string; waitingFor: string[] }>;
  /** Superseded (or failed) certificates taken off the listener; deleted once the ALB no longer holds them. */
  retiring: string[];
  /** The certificates the ALB's HTTPS listener held when the plan was made (ELBv2). */
  onAlb: string[];
}

/** One ALB shard as planned. */
export interface PlannedShard {
  index: number;
  ingress: { namespace: string; name: string };
  /** Every namespace it serves (this run's and others'). */
  namespaces: string[];
  /** This run's namespaces on it: their records point at its ALB. */
  runNamespaces: string[];
  /** The Ingress is written by this plan. */
  changed: boolean;
  /** The Ingress is created by this plan (a new ALB). */
  created: boolean;
  /** Its ALB's address as the Ingress status has it now, if any. */
  hostname?: string;
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
  /** The Ingress whose status will carry the ALB address (shard 0's; see `shards`). */
  ingress: { namespace: string; name: string };
  actions: ConfigureClusterAction[];
  /**
   * The listeners' certificates: added, kept or removed, and why. Above
   * {@link MAX_LISTED_CERTIFICATE_CHANGES} entries only removals are listed and
   * `keptCertificates`/`addedCertificates` count the rest (the state stays far under 256 KiB).
   */
  certificates: ListenerCertificateChange[];
  /** Above {@link MAX_LISTED_CERTIFICATE_CHANGES} entries: how many certificates are kept and added (not listed). */
  keptCertificates?: number;
  addedCertificates?: number;
  /**
   * The ALB shards this run's namespaces are on, or that this run changed: each
   * with its Ingress, this run's namespaces on it, and (when changed) what its
   * ALB must serve. GetLoadBalancerAddress waits for each; UpsertDnsRecords
   * points each namespace at its shard's ALB.
   */
  shards?: Array<{ index: number; ingress: { namespace: string; name: string }; namespaces: string[]; expected?: ExpectedLoadBalancer }>;
  /** The hostname layout, the KServe modes in use and what each renders (shared/plan/hostnameConfig.ts). */
  hostnames?: HostnameSummary;
  /**
   * What the ALB must serve once the controller has deployed the Ingress as
   * this step left it (its certificates and scheme, its resourceVersion, when
   * the write began). GetLoadBalancerAddress waits for it (#10 §4.3).
   */
  expected?: ExpectedLoadBalancer;
  /**
   * `bundled`: a bundle swap is under way (a superseded certificate is still
   * held or not yet deleted). The state machine comes back here once
   * GetLoadBalancerAddress has seen the ALB take this pass's list.
   */
  swapping?: boolean;
  /** `bundled`: the swap's state, and the superseded certificates this pass deleted. */
  bundles?: BundleSwap & { deleted: string[] };
  /** `bundled`: validation CNAMEs that went with the deleted certificates (a released namespace's). */
  validationRecordsDeleted?: string[];
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

/**
 * The shard Ingresses n ≥ 1 that exist, by index. One get per possible name
 * ({@link MAX_SHARDS}), in parallel: the workflow's RBAC does not list
 * Ingresses (istio-system may hold others' Ingresses and secrets in their
 * annotations), it names each shard it may read. None in JWT mode.
 */
export async function readShardIngresses(kube: KubePort, request: Pick<ProvisionRequest, 'auth'>): Promise<Map<number, KubeObject>> {
  // JWT mode runs on one ALB (ValidateRequest refuses a second shard); its shard names are not in the RBAC.
  if (request.auth.provider === 'jwt') return new Map();
  const indices = Array.from({ length: MAX_SHARDS - 1 }, (_, i) => i + 1);
  const found = await Promise.all(indices.map((i) => kube.get(ingressRefFor(request, i))));
  const out = new Map<number, KubeObject>();
  indices.forEach((i, k) => {
    const ingress = found[k];
    if (ingress && shardIndexOf(baseIngressName(request), ingress.metadata.name) === i) out.set(i, ingress);
  });
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
async function readClusterState(
  kube: KubePort,
  request: Pick<ProvisionRequest, 'auth'>,
): Promise<{ state: ClusterState; shards: Map<number, KubeObject> }> {
  const [configDomain, ingress, ingressClass, shards, ...policies] = await Promise.all([
    kube.get(CONFIG_DOMAIN_REF),
    kube.get(ingressRefFor(request)),
    kube.get(INGRESS_CLASS_REF),
    readShardIngresses(kube, request),
    ...AUTHORIZATION_POLICY_NAMES.map((name) => kube.get(authorizationPolicyRef(name))),
  ]);
  const authorizationPolicies: Record<string, KubeObject | undefined> = {};
  AUTHORIZATION_POLICY_NAMES.forEach((name, i) => {
    authorizationPolicies[name] = policies[i];
  });
  const state: ClusterState = { configDomain, authorizationPolicies, ingress, ingressClass };
  if (request.auth.provider === 'jwt') state.jwt = await readJwtState(kube, request.auth);
  return { state, shards };
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
  desiredClusterState({ request, certificateArns: input.certificateArns.slice(0, 1), headerValues });
  const [{ state: current, shards: shardIngresses }, listenerInputs, limits, hostnameState] = await Promise.all([
    readClusterState(deps.kube, request),
    readListenerInputs(request, deps),
    deps.loadBalancers?.accountLimits ? deps.loadBalancers.accountLimits() : Promise.resolve(undefined),
    readHostnameState(deps.kube, request),
  ]);
  const hostnames = planHostnames(request, hostnameState);
  const knative = hostnames.modes.some((m) => m.mode === 'Knative');
  const quotas = quotasFrom(limits);
  const maxCertificates = quotas.sniCertificatesPerAlb + 1;
  const ownedArns = [...new Set([...listenerInputs.owned.map((c) => c.arn), ...(input.ownedArns ?? []), ...input.certificateArns])];
  const ours = new Set(ownedArns);
  const details = new Map(listenerInputs.owned.map((c) => [c.arn, c]));
  const runArns = [...new Set(input.certificateArns)];
  const namesOf = (arn: string): string[] => {
    const i = input.certificateArns.indexOf(arn);
    return input.certificateNames?.[i] ?? details.get(arn)?.names ?? [];
  };
  const namespacesOf = (arn: string) => certificateNamespaces({ names: namesOf(arn) }, request.domain);

  // Every shard Ingress as it is: 0 (today's), then ours n ≥ 1.
  const ingressOf = new Map<number, KubeObject | undefined>([[0, current.ingress], ...shardIngresses]);
  const sharedZero =
    request.auth.provider === 'dex' && current.ingress !== undefined && !isOwnedObject(current.ingress.metadata.labels, request.ownerId);
  const listed = (i: number) => splitArns(ingressOf.get(i)?.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]);

  // Namespaces to serve: this run's, and every other one still provisioned (or listed) and active with an issued certificate of ours.
  const run = new Set(request.namespaces);
  const listedNamespaces = new Set(
    [...ingressOf.keys()].flatMap((i) =>
      listed(i)
        .filter((a) => ours.has(a))
        .flatMap(namespacesOf),
    ),
  );
  const issuedFor = new Set(
    listenerInputs.owned.filter((c) => c.status === 'ISSUED').flatMap((c) => certificateNamespaces(c, request.domain)),
  );
  const others = [...new Set([...listenerInputs.provisioned, ...listedNamespaces])]
    .filter((ns) => !run.has(ns) && listenerInputs.active.has(ns) && issuedFor.has(ns))
    .sort();
  // `certificates.release` (bundled): namespaces that are gone; never served, and taken out of their bundles.
  const released = new Set(request.certificates.release ?? []);
  const serve = [...request.namespaces, ...others.filter((ns) => !released.has(ns))];
  const keepSlots = new Set([...listedNamespaces].filter((ns) => !listenerInputs.active.has(ns)));

  let assignment: ReturnType<typeof assignShards>;
  if (request.certificates.mode === 'single' || request.certificates.mode === 'bundled' || request.hostnames === 'flat') {
    // One certificate holds every name, or bundles of names (checkBundleQuotas: one listener), or flat hostnames
    // (`*.<domain>` serves every namespace, no certificate per namespace): shard 0.
    assignment = {
      shardOf: Object.fromEntries(serve.map((ns) => [ns, 0])),
      shards: [{ index: 0, namespaces: [...serve].sort(), created: !current.ingress }],
    };
  } else {
    const views: ShardView[] = [...ingressOf.entries()]
      .filter(([, ing]) => ing !== undefined)
      .map(([index]) => {
        const arns = listed(index);
        const namespaces = [...new Set(arns.filter((a) => ours.has(a)).flatMap(namespacesOf))];
        return {
          index,
          namespaces,
          foreign: index === 0 && sharedZero ? arns.filter((a) => !ours.has(a)).length : 0,
          closed: index > 0 && !namespaces.some((ns) => serve.includes(ns)),
        };
      });
    assignment = assignShards({ shards: views, serve, sniQuota: quotas.sniCertificatesPerAlb, keepSlots });
    const open = assignment.shards.filter((s) => s.namespaces.length > 0 || s.index === 0 || ingressOf.get(s.index) !== undefined);
    checkShardQuotas(serve.length, quotas);
    if (open.some((s) => s.index >= MAX_SHARDS)) {
      throw new InvalidRequestError(
        `the namespaces need ALB shard ${Math.max(...open.map((s) => s.index))}; the workflow's RBAC (deploy/rbac.yaml) names ${MAX_SHARDS}`,
        {
          path: 'namespaces',
        },
      );
    }
    if (request.auth.provider === 'jwt' && open.length > 1) {
      // Not built: JWT mode's Ingresses (the token rule, the transition's header rule) live in one IngressGroup on one ALB.
      throw new InvalidRequestError(
        `the namespaces need ${open.length} ALB shards; JWT mode ("auth.provider": "jwt") runs on one ALB (at most ${quotas.sniCertificatesPerAlb} namespaces with per-namespace certificates): use "hostnames": "flat" (one certificate), or fewer namespaces`,
        { path: 'namespaces' },
      );
    }
    if (open.length > quotas.loadBalancers) {
      throw new InvalidRequestError(
        `the namespaces need ${open.length} ALBs; the account's quota application-load-balancers is ${quotas.loadBalancers}`,
        { path: 'namespaces' },
      );
    }
  }

  // Bundles: which bundle certificates the listener carries now, read against what the ALB holds (make-before-break).
  let bundleSwap: BundleSwap | undefined;
  if (request.certificates.mode === 'bundled') {
    // Released namespaces are read as if no certificate named them: the bundle that lost one is then superseded
    // by its re-requested successor (a swap, as for an addition), and one that named only released ones is
    // superseded by nothing (retired).
    const bundleCerts = withoutReleased(bundleCertificatesOf(request, listenerInputs.owned, input), released);
    const onAlb = await albCertificates(deps.loadBalancers, current.ingress);
    // Besides the served namespaces, every namespace a listed bundle names that is not released: a certificate
    // that serves a namespace nobody released (deleted but not yet deprovisioned, say) is never taken off
    // before that namespace has an Issued successor on the ALB.
    const listedBundled = bundleCerts.filter((c) => listed(0).includes(c.arn)).flatMap((c) => c.namespaces);
    const want = [...new Set([...serve, ...listedBundled])];
    const decision = bundleListener({ certificates: bundleCerts, want, onAlb });
    const { bundles: live, superseded } = currentBundles(bundleCerts);
    const failedOrOld = new Set([...superseded, ...bundleCerts.filter((c) => FAILED_STATUSES.has(c.status)).map((c) => c.arn)]);
    // A current bundle none of whose namespaces is served any more stays where it is: a run never infers a removal
    // (it may name a subset); its names leave it only by `certificates.release` (the sweep's rebundle run).
    const keepListed = live.filter((b) => !decision.attach.includes(b.arn) && listed(0).includes(b.arn)).map((b) => b.arn);
    bundleSwap = {
      attach: [...decision.attach, ...keepListed],
      holding: decision.holding,
      retiring: decision.retire.filter((a) => failedOrOld.has(a)),
      onAlb: [...onAlb].filter((a) => ours.has(a)),
    };
  }

  const baseArn = runArns[0]!;
  const plan: ClusterPlan = [];
  const certificates: ListenerCertificateChange[] = [];
  const shards: PlannedShard[] = [];
  for (const shard of assignment.shards) {
    const ingress = ingressOf.get(shard.index);
    // A shard that serves nothing is left as it is: deprovisioning removes it (n ≥ 1) once its records are gone.
    if (shard.index > 0 && shard.namespaces.length === 0) continue;
    const onShard = new Set(shard.namespaces);
    const runHere = request.namespaces.filter((ns) => onShard.has(ns));
    // This run's certificates for the shard's namespaces; one that names no namespace goes with shard 0.
    const shardRunArns = [
      baseArn,
      ...runArns.slice(1).filter((a) => {
        const served = namespacesOf(a);
        return served.length === 0 ? shard.index === 0 : served.some((ns) => onShard.has(ns));
      }),
    ];
    const shared = shard.index === 0 && sharedZero;
    const listener = bundleSwap
      ? bundledListener(request, runArns[0]!, listed(shard.index), bundleSwap, ours, namespacesOf)
      : planListenerCertificates({
          domain: request.domain,
          // As planCluster decides: only Kubeflow's own (not ours) Ingress is shared; foreign ARNs on ours are not kept.
          ingressMode: shared ? 'shared' : 'owned',
          runNamespaces: runHere,
          runArns: request.certificates.mode === 'single' ? runArns : shardRunArns,
          owned: listenerInputs.owned,
          alsoOurs: [...(input.ownedArns ?? []), ...input.certificateArns],
          current: listed(shard.index),
          activeNamespaces: listenerInputs.active,
          provisionedNamespaces: listenerInputs.provisioned,
          servedNamespaces: onShard,
          maxCertificates,
        });
    const desired = desiredClusterState({ request, certificateArns: listener.arns, headerValues, shard: shard.index, maxCertificates });
    const options = { ownerId: request.ownerId, adopt: request.adopt, ownedArns, maxCertificates, knative };
    let steps: ClusterPlan;
    if (shard.index === 0) {
      const clusterPlan = planCluster(current, desired, options);
      // Hostname settings right after config-domain (or first, when no mode uses Knative): all before any Ingress.
      const at = knative ? 1 : 0;
      steps = [...clusterPlan.slice(0, at), ...hostnames.actions, ...clusterPlan.slice(at)];
    } else {
      steps = [planIngress(ingress, current.ingressClass, desired, options)];
    }
    plan.push(...steps);
    const multi = assignment.shards.length > 1;
    certificates.push(...(multi ? listener.changes.map((c) => ({ ...c, shard: shard.index })) : listener.changes));
    const ref = ingressRefFor(request, shard.index);
    // The shard's own Ingress step (JWT mode plans its migration's Ingresses around it).
    const ingressStep = steps.find((st) => st.ref.kind === 'Ingress' && st.ref.name === ref.name) ?? steps[steps.length - 1]!;
    shards.push({
      index: shard.index,
      ingress: { namespace: ref.namespace ?? 'istio-system', name: ref.name },
      namespaces: shard.namespaces,
      runNamespaces: runHere,
      changed: ingressStep.action !== 'none',
      created: ingress === undefined,
      ...(loadBalancerAddress(ingress) ? { hostname: loadBalancerAddress(ingress)! } : {}),
    });
  }
  if (bundleSwap) {
    return { plan, current, certificates, hostnames, shards, quotas, bundles: bundleSwap, owned: listenerInputs.owned };
  }
  return { plan, current, certificates, hostnames, shards, quotas };
}

/**
 * The bundle certificates as they are after `certificates.release`: the
 * released namespaces taken out of every certificate's names. Pure.
 */
export function withoutReleased(certificates: readonly BundleCertificate[], released: ReadonlySet<string>): BundleCertificate[] {
  if (released.size === 0) return [...certificates];
  return certificates.map((c) => ({ ...c, namespaces: c.namespaces.filter((ns) => !released.has(ns)) }));
}

/** Our bundle certificates (scope `bundle`) for the domain, with the run's just-requested ones the listing may not show yet. */
function bundleCertificatesOf(
  request: ProvisionRequest,
  owned: readonly CertificateDetail[],
  input: ConfigureClusterInput,
): BundleCertificate[] {
  const out = new Map<string, BundleCertificate>();
  for (const c of owned) {
    if (c.tags[TAG_SCOPE] !== 'bundle') continue;
    out.set(c.arn, {
      arn: c.arn,
      namespaces: certificateNamespaces(c, request.domain),
      status: c.status,
      ...(c.createdAt ? { createdAt: c.createdAt } : {}),
    });
  }
  input.certificateArns.forEach((arn, i) => {
    const namespaces = certificateNamespaces({ names: input.certificateNames?.[i] ?? [] }, request.domain);
    // Not listed yet: CheckCertificates saw it Issued moments ago, so it is the newest of all.
    if (i === 0 || namespaces.length === 0 || out.has(arn) || owned.some((c) => c.arn === arn)) return;
    out.set(arn, { arn, namespaces, status: 'ISSUED', createdAt: '9999' });
  });
  return [...out.values()];
}

/**
 * The certificates the ALB of `ingress` holds on HTTPS:443 (ELBv2), or none
 * when there is no ALB yet: make-before-break needs the ALB's word, not the
 * Ingress's, that a new bundle is deployed before the old one goes.
 */
async function albCertificates(loadBalancers: LoadBalancersPort | undefined, ingress: KubeObject | undefined): Promise<Set<string>> {
  const hostname = loadBalancerAddress(ingress);
  if (!loadBalancers || !hostname) return new Set();
  const lb = await loadBalancers.findByDnsName(hostname);
  if (!lb) return new Set();
  const https = (await loadBalancers.listListeners(lb.arn)).find((l) => l.port === HTTPS_PORT && l.protocol === 'HTTPS');
  return new Set(https ? await loadBalancers.listListenerCertificates(https.arn) : []);
}

/** The listener list of `bundled`: `*.<domain>` first, then the bundles {@link bundleListener} attaches. */
function bundledListener(
  request: ProvisionRequest,
  baseArn: string,
  current: readonly string[],
  swap: BundleSwap,
  ours: ReadonlySet<string>,
  namespacesOf: (arn: string) => string[],
): { arns: string[]; changes: ListenerCertificateChange[] } {
  const arns = [baseArn, ...swap.attach.filter((a) => a !== baseArn)];
  const onListener = new Set(current);
  const held = new Map(swap.holding.map((h) => [h.arn, h.waitingFor]));
  const changes: ListenerCertificateChange[] = arns.map((arn) => {
    const namespaces = namespacesOf(arn);
    const waiting = held.get(arn);
    return {
      arn,
      action: onListener.has(arn) ? 'keep' : 'add',
      owner: 'ours',
      namespaces,
      reason:
        arn === baseArn
          ? `*.${request.domain} (listener default)`
          : waiting
            ? `superseded bundle, kept until the ALB holds the new certificate of ${waiting.join(', ')} (make-before-break)`
            : `bundle of ${namespaces.join(', ')}`,
    };
  });
  const kept = new Set(arns);
  for (const arn of current) {
    if (!ours.has(arn) || kept.has(arn)) continue;
    changes.push({
      arn,
      action: 'remove',
      owner: 'ours',
      namespaces: namespacesOf(arn),
      reason: swap.retiring.includes(arn)
        ? namespacesOf(arn).some((ns) => !(request.certificates.release ?? []).includes(ns))
          ? 'superseded bundle: every namespace it served has its new certificate on the ALB'
          : `bundle of released namespaces only (${namespacesOf(arn).join(', ')})`
        : 'ours and needed by no namespace any more',
    });
  }
  return { arns, changes };
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

/**
 * After bundle certificates are deleted: their validation CNAMEs that no
 * remaining certificate in the region needs (a released namespace's
 * `_x.<ns>.<domain>`), by the deprovision planner's rule
 * ({@link planValidationRecordDeletions}: exactly ACM's value, nothing else
 * validates through it). One DELETE batch; returns the names deleted.
 */
async function deleteValidationRecords(
  request: ProvisionRequest,
  before: readonly CertificateDetail[],
  deleted: readonly string[],
  deps: Pick<ConfigureClusterDeps, 'acm' | 'route53'>,
  log: Logger,
): Promise<string[]> {
  const gone = new Set(deleted);
  const going = before.filter((c) => gone.has(c.arn));
  const names = [...new Set(going.flatMap((c) => c.validationRecords.map((v) => v.name.replace(/\.$/, ''))))];
  if (names.length === 0) return [];
  const zoneId = request.hostedZoneId ?? (await deps.route53.findHostedZone(request.domain))?.id;
  if (!zoneId) throw new HostedZoneNotFoundError(`no public Route 53 hosted zone serves ${request.domain}`, { path: 'domain' });
  const [all, records] = await Promise.all([
    deps.acm.listAllCertificateNames ? deps.acm.listAllCertificateNames() : Promise.resolve([]),
    deps.route53.listRecordsNamed(zoneId, names),
  ]);
  // Every certificate in the region, and ours as the plan read them: what is left must not validate through a deleted one's CNAME.
  const remaining = [...all, ...before].filter((c) => !gone.has(c.arn));
  const plan = planValidationRecordDeletions({ going, remaining, records });
  for (const k of plan.kept) log.info('validation record kept', { ...k });
  if (plan.deletes.length === 0) return [];
  await deps.route53.changeRecords(
    zoneId,
    plan.deletes,
    `kserve-edge (${request.ownerId}): validation records of deleted bundle certificates`,
  );
  const out = plan.deletes.map((d) => d.record.name);
  log.info('validation records deleted', { names: out });
  return out;
}

/** See the module comment. */
export async function configureCluster(input: ConfigureClusterInput, deps: ConfigureClusterDeps): Promise<ConfigureClusterOutput> {
  const { request } = input;
  const headerValues = await headerValuesFor(request, deps.secrets);
  const log = deps.log.child({ step: 'ConfigureCluster' });
  let planned: ConfigureClusterPlan;
  // Before the first read: a refusal the controller reports from here on may be about this write.
  const writtenAt = deps.now().toISOString();
  // Read → plan → apply. A guarded write refused because the object changed
  // since the read (a concurrent run, a human) means: read again and re-plan.
  for (let attempt = 1; ; attempt++) {
    planned = await readAndPlan(input, headerValues, deps);
    const { plan } = planned;
    log.info('cluster plan', {
      plan: redactClusterPlan(plan),
      certificates: planned.certificates.length > MAX_LISTED_CERTIFICATE_CHANGES ? planned.certificates.length : planned.certificates,
      shards: planned.shards.map((s) => ({
        index: s.index,
        namespaces: s.namespaces.length,
        run: s.runNamespaces.length,
        changed: s.changed,
      })),
      quotas: planned.quotas,
      hostnames: summariseHostnames(planned.hostnames),
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

  const { plan, certificates } = planned;
  // The shards this run's records need, and those it changed: GetLoadBalancerAddress waits for each.
  const relevant = planned.shards.filter((s) => s.index === 0 || s.runNamespaces.length > 0 || s.changed);
  // Read back, not taken from the plan: the Ingress may hold certificates that are not this run's (Kubeflow's
  // shared Ingress, other namespaces'), and the controller deploys all of them or none.
  const applied = await Promise.all(relevant.map((s) => deps.kube.get(ingressRefFor(request, s.index))));
  const ref = ingressRefFor(request);
  const big = certificates.length > MAX_LISTED_CERTIFICATE_CHANGES;
  const out: ConfigureClusterOutput = {
    configuredAt: deps.now().toISOString(),
    ingress: { namespace: ref.namespace ?? 'istio-system', name: ref.name },
    actions: plan.map(summariseClusterAction),
    certificates: big ? certificates.filter((c) => c.action === 'remove') : certificates,
    hostnames: summariseHostnames(planned.hostnames),
  };
  if (big) {
    out.keptCertificates = certificates.filter((c) => c.action === 'keep').length;
    out.addedCertificates = certificates.filter((c) => c.action === 'add').length;
  }
  const zero = applied[relevant.findIndex((s) => s.index === 0)];
  if (zero) out.expected = expectedLoadBalancer(zero, writtenAt);
  if (planned.bundles) {
    // Make-before-break, second half: a superseded bundle that is off the Ingress (as just written) and
    // off the ALB (ELBv2, read before the write) serves nothing: delete it. ACM refuses while anything
    // still uses it (ResourceInUse): then a later pass does.
    const listedNow = new Set(splitArns(zero?.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]));
    const onAlb = new Set(planned.bundles.onAlb);
    const deleted: string[] = [];
    // Their validation records as the plan read them (for the CNAMEs below).
    const before = planned.owned ?? [];
    for (const arn of planned.bundles.retiring) {
      if (listedNow.has(arn) || onAlb.has(arn)) continue;
      try {
        await deps.acm.deleteCertificate(arn);
        deleted.push(arn);
        log.info('superseded bundle certificate deleted', { arn });
      } catch (err) {
        if (!/ResourceInUse/.test(`${(err as Error).name} ${(err as Error).message} ${String((err as { cause?: Error }).cause?.name)}`))
          throw err;
        log.info('superseded bundle certificate still in use; a later pass deletes it', { arn });
      }
    }
    if (deleted.length > 0) out.validationRecordsDeleted = await deleteValidationRecords(request, before, deleted, deps, log);
    // Still on the ALB: GetLoadBalancerAddress waits (in the state machine) until it has let go of them, then
    // the next pass deletes them. One ACM still calls in use although neither the Ingress nor the ALB holds it
    // is left for a later run (the run does not go round without waiting for anything).
    const absent = planned.bundles.retiring.filter((a) => !deleted.includes(a) && onAlb.has(a) && !listedNow.has(a));
    out.bundles = { ...planned.bundles, deleted };
    out.swapping = planned.bundles.holding.length > 0 || absent.length > 0;
    if (out.expected && absent.length > 0) out.expected.absent = absent;
  }
  if (planned.shards.length > 1 || relevant.some((s) => s.index > 0)) {
    out.shards = relevant.map((s, i) => {
      const ingress = applied[i];
      return {
        index: s.index,
        ingress: s.ingress,
        namespaces: s.runNamespaces,
        ...(ingress && (s.changed || s.runNamespaces.length > 0) ? { expected: expectedLoadBalancer(ingress, writtenAt) } : {}),
      };
    });
  }
  return out;
}
