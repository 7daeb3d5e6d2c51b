/**
 * Namespace lifecycle, pure: which profile namespaces exist, which are
 * provisioned, which runs to start, and under which execution names.
 *
 * Two triggers feed it (README "Three ways in"):
 *
 * - **events**: the control-plane audit log, through a CloudWatch Logs
 *   subscription filter, tells that a namespace or a Kubeflow Profile was
 *   created or deleted ({@link namespaceEventsFromAudit});
 * - **sweep**: a schedule lists the cluster's namespaces and compares them with
 *   what the workflow's own markers say is provisioned ({@link planSweep}).
 *
 * Both name executions with {@link executionName}: the same namespace
 * incarnation (its uid) gives the same name, so Step Functions itself refuses
 * the duplicate (`ExecutionAlreadyExists`). No database holds any state: the
 * cluster says what should exist, the ownership TXT records and certificate
 * tags say what does.
 *
 * ```
 *  cluster namespace        ownership TXT   issued cert on the listener   → action
 *  profile, active          ours            yes                             none (provisioned)
 *  profile, active          any other combination                           provision  ns-<ns>-<uid hash>
 *  absent or terminating    ours, or a namespace cert       deprovision  del-<ns>-<key hash>
 *  absent or terminating    none (deprovisioned), named by a bundle  rebundle  rebundle-<hash> (bundled only;
 *                           one run for every such name, with certificates.release)
 *  static (template)        —               —               never deprovisioned here
 * ```
 */
import { createHash } from 'node:crypto';
import { InvalidRequestError } from '../errors';
import type { CertificateDetail, KubeObject } from '../ports';
import { TAG_DOMAIN, TAG_SCOPE } from '../ownership';
import { DNS_LABEL, MAX_NAMESPACES, namespaceWildcard, parseProvisionRequest, type ProvisionRequest } from '../request';

/** The label Kubeflow's profile controller puts on every profile namespace. */
export const PROFILE_LABEL = 'app.kubernetes.io/part-of';
export const PROFILE_LABEL_VALUE = 'kubeflow-profile';
/** Step Functions execution names: at most 80 characters. */
export const MAX_EXECUTION_NAME = 80;
/**
 * Namespaces one automatic run may carry: a request's maximum. Beyond one
 * listener's certificates the namespaces get ALB shards (shared/plan/shards.ts);
 * what a layout cannot hold (bundles on one ALB, JWT mode's one ALB) is
 * refused by ValidateRequest and EnsureCertificates, naming the quota.
 */
export const MAX_AUTO_NAMESPACES = MAX_NAMESPACES;

// ------------------------------------------------------------------ namespaces

/** What the lifecycle needs to know about one namespace in the cluster. */
export interface NamespaceInfo {
  name: string;
  uid: string;
  profile: boolean;
  /** Being deleted (`deletionTimestamp` set): treated as gone. */
  terminating: boolean;
}

/** True when the labels mark a Kubeflow profile namespace. */
export function isProfileLabels(labels: Record<string, string> | undefined): boolean {
  return labels?.[PROFILE_LABEL] === PROFILE_LABEL_VALUE;
}

/** A Namespace object as {@link NamespaceInfo}. */
export function namespaceInfo(obj: KubeObject): NamespaceInfo {
  return {
    name: obj.metadata.name,
    uid: obj.metadata.uid ?? `${obj.metadata.name}@${obj.metadata.creationTimestamp ?? ''}`,
    profile: isProfileLabels(obj.metadata.labels),
    terminating: obj.metadata.deletionTimestamp !== undefined && obj.metadata.deletionTimestamp !== null,
  };
}

// ------------------------------------------------------------------ execution names

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

/**
 * A deterministic Step Functions execution name: `<prefix>-<namespace>-<hash of key>[-<suffix>]`,
 * at most 80 characters (the namespace part is cut when needed; the hash keeps it unique).
 *
 * @example
 *   executionName('ns', 'team-a', 'uid-1234')          // 'ns-team-a-3f0c…'
 *   executionName('ns', 'team-a', 'uid-1234', 'r5xk2') // a retry in another period
 */
export function executionName(prefix: 'ns' | 'del', namespace: string, key: string, suffix?: string): string {
  const hash = shortHash(`${namespace}|${key}`);
  const tail = suffix ? `-${hash}-${suffix}` : `-${hash}`;
  const room = MAX_EXECUTION_NAME - prefix.length - 1 - tail.length;
  const ns = namespace.slice(0, Math.max(1, room)).replace(/-+$/, '');
  return `${prefix}-${ns}${tail}`.slice(0, MAX_EXECUTION_NAME);
}

/**
 * The retry period a failed run is retried in: runs of the same period share
 * a name, so several sweeps in one period start at most one retry.
 */
export function retryPeriod(now: Date, periodMinutes: number): string {
  const minutes = Math.max(1, Math.floor(periodMinutes));
  return `r${Math.floor(now.getTime() / (minutes * 60_000)).toString(36)}`;
}

// ------------------------------------------------------------------ the request

/**
 * What the automatic runs start from: a provisioning request without (or
 * with a static list of) namespaces. Everything else (domain, cluster, auth,
 * canary, ...) is the same for every namespace.
 */
export type RequestTemplate = Record<string, unknown> & { namespaces?: string[] };

/** Checks the template's shape once; the full check happens with namespaces filled in. */
export function parseRequestTemplate(raw: unknown): RequestTemplate {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidRequestError('the request template must be a JSON object (a provisioning request; namespaces optional)', {
      path: '(root)',
    });
  }
  const template = raw as RequestTemplate;
  const statics = template.namespaces ?? [];
  if (!Array.isArray(statics) || statics.some((n) => typeof n !== 'string' || !DNS_LABEL.test(n))) {
    throw new InvalidRequestError('template namespaces must be DNS-1123 labels', { path: 'namespaces' });
  }
  // Validate everything else now, with a stand-in namespace, so a broken template fails at load.
  requestForNamespaces(template, statics.length > 0 ? [] : ['template-check']);
  return template;
}

/**
 * The provisioning request for a set of namespaces: the template with
 * `namespaces` = its static ones plus `namespaces`, sorted and de-duplicated.
 * Every run carries the whole set because the ALB Ingress lists the
 * certificates of every namespace: a run for one namespace alone would drop
 * the others' certificates from the listener.
 *
 * @throws InvalidRequestError over {@link MAX_AUTO_NAMESPACES} namespaces, or when the result is not a valid request.
 */
export function requestForNamespaces(template: RequestTemplate, namespaces: readonly string[]): ProvisionRequest & Record<string, unknown> {
  const all = [...new Set([...(template.namespaces ?? []), ...namespaces])].sort();
  if (all.length > MAX_AUTO_NAMESPACES) {
    throw new InvalidRequestError(
      `${all.length} profile namespaces; one run carries at most ${MAX_AUTO_NAMESPACES} (a request's maximum)`,
      { path: 'namespaces' },
    );
  }
  const raw: Record<string, unknown> = { ...template, namespaces: all };
  const canary = template.canary as ({ namespaces?: string[] } & Record<string, unknown>) | undefined;
  if (canary?.namespaces) {
    // The template's canary namespaces, as far as they are in this set; none left = probe all.
    const { namespaces: listed, ...others } = canary;
    const kept = listed.filter((n) => all.includes(n));
    raw.canary = kept.length > 0 ? { ...others, namespaces: kept } : others;
  }
  // Validate, but hand on the user's form (defaults are filled by ValidateRequest in the run).
  parseProvisionRequest(raw);
  return raw as ProvisionRequest & Record<string, unknown>;
}

// ------------------------------------------------------------------ what is provisioned

/** What the workflow's own markers say about one namespace. */
export interface ProvisionedState {
  /** `_kserve-edge.<ns>.<domain>` exists and names our owner. */
  ownershipRecord: boolean;
  /** One of our certificates for the domain covers `*.<ns>.<domain>` and is ISSUED. */
  certificateIssued: boolean;
  /**
   * One of those issued certificates is in the ALB Ingress's certificate-arn
   * list. Without it the namespace's DNS record points at a listener that
   * answers with another certificate (TLS fails), so it is not provisioned.
   */
  certificateOnListener: boolean;
}

/** Our certificates (already filtered by owner) that cover `*.<ns>.<domain>`. */
export function certificatesFor(certs: readonly CertificateDetail[], domain: string, namespace: string): CertificateDetail[] {
  const name = namespaceWildcard({ domain }, namespace);
  return certs.filter((c) => c.tags[TAG_DOMAIN] === domain && c.names.includes(name));
}

/** Namespaces that have a per-namespace certificate of ours (scope tag `namespace:<ns>`) for the domain. */
export function namespacesWithCertificates(certs: readonly CertificateDetail[], domain: string): string[] {
  const out = new Set<string>();
  for (const c of certs) {
    const scope = c.tags[TAG_SCOPE] ?? '';
    if (c.tags[TAG_DOMAIN] === domain && scope.startsWith('namespace:')) out.add(scope.slice('namespace:'.length));
  }
  return [...out].sort();
}

/** True when the markers say the namespace is fully provisioned. */
export function isProvisioned(state: ProvisionedState | undefined): boolean {
  return state !== undefined && state.ownershipRecord && state.certificateIssued && state.certificateOnListener;
}

// ------------------------------------------------------------------ sweep

export interface SweepInput {
  /** Every namespace in the cluster. */
  namespaces: readonly NamespaceInfo[];
  /** The template's static namespaces: always desired, never deprovisioned here. */
  staticNamespaces: readonly string[];
  /** Markers per namespace (desired ones, and candidates for deprovisioning). */
  provisioned: ReadonlyMap<string, ProvisionedState>;
  /** Namespaces that still have a per-namespace certificate of ours. */
  withCertificates: readonly string[];
  /** The template's certificate mode: only `bundled` plans a {@link SweepPlan.rebundle}. */
  certificateMode?: ProvisionRequest['certificates']['mode'];
  /** `bundled`: our bundle certificates for the domain (scope `bundle`) and the namespaces each names. */
  bundles?: ReadonlyArray<{ arn: string; namespaces: readonly string[] }>;
}

/** The one run that takes gone namespaces out of their bundle certificates. */
export interface RebundleAction {
  /** Namespaces to release (`certificates.release`), sorted. */
  release: string[];
  /** `rebundle-<hash>`: the same for every sweep until the run has changed the bundles. */
  executionName: string;
  reason: string;
}

export interface SweepAction {
  namespace: string;
  /** The execution name: the same as the event path's for this namespace incarnation. */
  executionName: string;
  reason: string;
}

export interface SweepPlan {
  /** Every namespace a provisioning run must cover (static + active profile namespaces), sorted. */
  desired: string[];
  provision: SweepAction[];
  deprovision: SweepAction[];
  inSync: string[];
  /**
   * `bundled`: namespaces our bundle certificates still name although they are gone and deprovisioned
   * (no ownership TXT of ours): one provisioning run for `desired` with `certificates.release` takes them out.
   */
  rebundle?: RebundleAction;
}

/**
 * The rebundle run's execution name: `rebundle-<hash of the released names and the bundle certificates naming
 * them>[-<suffix>]`. Deterministic, so repeated sweeps start one run; once the run has swapped the bundles no
 * certificate names them and no further run is planned. The certificates make a later release of a re-created
 * namespace of the same name (another incarnation, other certificates) a new name.
 */
export function rebundleExecutionName(release: readonly string[], certificateArns: readonly string[], suffix?: string): string {
  const hash = shortHash(`${[...release].sort().join(',')}|${[...certificateArns].sort().join(',')}`);
  return `rebundle-${hash}${suffix ? `-${suffix}` : ''}`.slice(0, MAX_EXECUTION_NAME);
}

/**
 * Compares the cluster with the markers. Pure.
 *
 * @example
 *   const plan = planSweep({ namespaces, staticNamespaces: [], provisioned, withCertificates });
 *   for (const p of plan.provision) await executions.start(p.executionName, requestForNamespaces(template, plan.desired));
 */
export function planSweep(input: SweepInput): SweepPlan {
  const active = input.namespaces.filter((n) => !n.terminating);
  const byName = new Map(input.namespaces.map((n) => [n.name, n]));
  const desiredInfos = active.filter((n) => n.profile || input.staticNamespaces.includes(n.name));
  const desired = [...new Set([...input.staticNamespaces, ...desiredInfos.map((n) => n.name)])].sort();

  const provision: SweepAction[] = [];
  const inSync: string[] = [];
  for (const ns of desired) {
    const info = byName.get(ns);
    if (isProvisioned(input.provisioned.get(ns))) {
      inSync.push(ns);
      continue;
    }
    const state = input.provisioned.get(ns);
    const missing = [
      state?.ownershipRecord ? '' : 'ownership record',
      state?.certificateIssued ? '' : 'issued certificate',
      // Only worth saying for an issued certificate: one that is not issued cannot be on the listener.
      !state?.certificateIssued || state.certificateOnListener ? '' : 'certificate on the listener',
    ].filter(Boolean);
    provision.push({
      namespace: ns,
      executionName: executionName('ns', ns, info?.uid ?? `static:${ns}`),
      reason: `no ${missing.join(' and no ')}`,
    });
  }

  const candidates = new Set<string>(input.withCertificates);
  for (const [ns, state] of input.provisioned) if (state.ownershipRecord) candidates.add(ns);
  const deprovision: SweepAction[] = [];
  for (const ns of [...candidates].sort()) {
    if (desired.includes(ns)) continue;
    const info = byName.get(ns);
    // A namespace that exists and is active but is not (or no longer) a profile is left alone:
    // only namespaces that are gone or going are cleaned up.
    if (info && !info.terminating) continue;
    deprovision.push({
      namespace: ns,
      executionName: executionName('del', ns, info?.uid ?? `gone:${ns}`),
      reason: info ? 'namespace is terminating' : 'namespace no longer exists',
    });
  }
  const plan: SweepPlan = { desired, provision, deprovision, inSync };
  const rebundle = planRebundle(input, desired, new Set(deprovision.map((d) => d.namespace)));
  if (rebundle) plan.rebundle = rebundle;
  return plan;
}

/**
 * Released-but-still-bundled names: named by a bundle certificate of ours, not desired, gone from the cluster
 * (absent or terminating) and deprovisioned (no ownership TXT of ours, no deprovisioning planned now). Pure.
 */
function planRebundle(input: SweepInput, desired: readonly string[], deprovisioning: ReadonlySet<string>): RebundleAction | undefined {
  if (input.certificateMode !== 'bundled' || !input.bundles) return undefined;
  // A request needs one namespace at least: with none desired the last bundle stays until one is.
  if (desired.length === 0) return undefined;
  const byName = new Map(input.namespaces.map((n) => [n.name, n]));
  const wanted = new Set(desired);
  const release = [...new Set(input.bundles.flatMap((b) => b.namespaces))]
    .filter((ns) => {
      if (wanted.has(ns) || deprovisioning.has(ns)) return false;
      const info = byName.get(ns);
      if (info && !info.terminating) return false;
      return !input.provisioned.get(ns)?.ownershipRecord;
    })
    .sort();
  if (release.length === 0) return undefined;
  const arns = input.bundles.filter((b) => b.namespaces.some((ns) => release.includes(ns))).map((b) => b.arn);
  return {
    release,
    executionName: rebundleExecutionName(release, arns),
    reason: `deprovisioned, still named by ${arns.length === 1 ? 'a bundle certificate' : `${arns.length} bundle certificates`}`,
  };
}

// ------------------------------------------------------------------ first canary (flat hostnames)

/**
 * Event path, flat hostnames: a created profile namespace is in sync at once
 * (the one `*.<domain>` certificate and record serve `<model>-<ns>.<domain>`),
 * so {@link planSweep} starts no run for it, and nothing would ever probe it:
 * the scheduled canary probes the requests it is configured with. One run is
 * started for it anyway, under the name a provisioning run of that namespace
 * incarnation would have (so at most one): it writes nothing (every step finds
 * its state in place) and its RunCanary is the namespace's first check, with
 * the usual failure notification when the namespace does not serve within the
 * canary deadline. Pure.
 *
 * @param created namespaces the events say were created.
 * @returns the runs to start, for namespaces the plan has in sync and does not already run.
 *
 * @example
 *   firstCanaryRuns(plan, ['team-c'], infos) // [{ namespace: 'team-c', executionName: 'ns-team-c-…', reason: 'flat hostnames: …' }]
 */
export function firstCanaryRuns(plan: SweepPlan, created: readonly string[], infos: readonly NamespaceInfo[]): SweepAction[] {
  const running = new Set(plan.provision.map((p) => p.namespace));
  const byName = new Map(infos.map((n) => [n.name, n]));
  const out: SweepAction[] = [];
  for (const ns of [...new Set(created)].sort()) {
    const info = byName.get(ns);
    if (!info || info.terminating || !plan.inSync.includes(ns) || running.has(ns)) continue;
    out.push({
      namespace: ns,
      executionName: executionName('ns', ns, info.uid),
      reason: 'flat hostnames: served by the *.<domain> certificate and record already; a run for its first canary (writes nothing)',
    });
  }
  return out;
}
