/**
 * The two automatic ways in: the namespace sweep and the namespace events.
 * Both read the same state and run the same planner (shared/plan/lifecycle.ts);
 * they differ only in which namespaces they act on:
 *
 * - {@link sweepNamespaces}: every namespace the plan says needs a run, and
 *   (`certificates.mode: "bundled"`) one `rebundle-<hash>` provisioning run with
 *   `certificates.release` for deprovisioned names still in a bundle certificate;
 * - {@link handleNamespaceEvents}: only the namespaces named in the audit events.
 *
 * Reading: the cluster's namespaces (KubePort list), the ALB Ingress's
 * certificate list, our certificates (ACM tags) and, per namespace, the
 * ownership TXT record (Route 53). Writing:
 * StartExecution only, with deterministic names, so two triggers for the same
 * namespace start one run.
 *
 * ```
 *  start(name) ── started ────────────────────────────────► started
 *       │
 *       └─ exists ─ status(name) ─ RUNNING ───────────────► running (nothing to do)
 *                        │
 *                        └─ closed, sweep only ─ start(name-<period>) ─ started ► retried
 *                                                              └─ exists ──────► retry-pending
 * ```
 */
import { HostedZoneNotFoundError } from '../errors';
import type { Logger } from '../log';
import type { AcmPort, ExecutionsPort, KubePort, Route53Port } from '../ports';
import { ownershipRecordName, TAG_DOMAIN, TAG_SCOPE } from '../ownership';
import { namespaceOwnershipName, namespaceWildcard, parseProvisionRequest, type ProvisionRequest } from '../request';
import {
  certificatesFor,
  executionName,
  firstCanaryRuns,
  namespaceInfo,
  namespacesWithCertificates,
  planSweep,
  requestForNamespaces,
  retryPeriod,
  type NamespaceInfo,
  type ProvisionedState,
  type RequestTemplate,
  type SweepPlan,
} from '../plan/lifecycle';
import type { NamespaceEvent, UnparsedAuditMessage } from '../plan/namespaceEvents';
import { ownershipOf, recordsNamed } from '../plan/records';
import { ANNOTATION_CERTIFICATE_ARN, certificateNamespaces, ingressRefFor, splitArns } from '../plan/cluster';
import { readShardIngresses } from './configureCluster';

/** Default retry period of failed runs, in minutes. */
export const DEFAULT_RETRY_PERIOD_MINUTES = 360;

export interface LifecycleDeps {
  kube: KubePort;
  route53: Route53Port;
  acm: AcmPort;
  /** The provisioning state machine. */
  provisionRuns: ExecutionsPort;
  /** The deprovisioning state machine. */
  deprovisionRuns: ExecutionsPort;
  log: Logger;
  now: () => Date;
  /** A failed run is retried at most once per period (sweep only). */
  retryPeriodMinutes?: number;
}

export type RunOutcome = 'started' | 'running' | 'retried' | 'retry-pending' | 'duplicate';

export interface LifecycleRun {
  /** `rebundle`: a provisioning run for the desired set with `certificates.release` (bundled; sweep only). */
  kind: 'provision' | 'deprovision' | 'rebundle';
  /** The namespace; for `rebundle`, the released namespaces joined by commas. */
  namespace: string;
  executionName: string;
  outcome: RunOutcome;
  reason: string;
}

export interface LifecycleOutput {
  desired: string[];
  inSync: string[];
  runs: LifecycleRun[];
  /** Event path: namespaces an event named that needed nothing, and why. */
  ignored: Array<{ namespace: string; reason: string }>;
}

/** The template with a stand-in namespace, parsed: domain, owner, cluster, zone. */
function templateRequest(template: RequestTemplate): ProvisionRequest {
  const statics = template.namespaces ?? [];
  return parseProvisionRequest(requestForNamespaces(template, statics.length > 0 ? [] : ['template-check']));
}

/** Reads the cluster and the markers, and plans. `extra` = namespaces whose markers must be read too. */
async function readAndPlan(
  template: RequestTemplate,
  extra: readonly string[],
  deps: LifecycleDeps,
): Promise<{ plan: SweepPlan; infos: NamespaceInfo[] }> {
  const base = templateRequest(template);
  const zoneId = base.hostedZoneId ?? (await deps.route53.findHostedZone(base.domain))?.id;
  if (!zoneId) throw new HostedZoneNotFoundError(`no public Route 53 hosted zone serves ${base.domain}`, { path: 'domain' });

  const [objects, owned, ingress, shards] = await Promise.all([
    deps.kube.list('v1', 'Namespace'),
    deps.acm.listOwnedCertificates(base.ownerId),
    deps.kube.get(ingressRefFor(base)),
    readShardIngresses(deps.kube, base),
  ]);
  // What the listeners serve (every ALB shard's): a namespace whose certificate is on none fails TLS, whatever its DNS says.
  const listed = new Set([ingress, ...shards.values()].flatMap((i) => splitArns(i?.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN])));
  const infos = objects.map(namespaceInfo);
  const certs = owned.filter((c) => c.tags[TAG_DOMAIN] === base.domain);
  const withCertificates = namespacesWithCertificates(certs, base.domain);
  // `bundled`: the namespaces our bundle certificates name; a gone one without its ownership TXT is released.
  const bundles =
    base.certificates.mode === 'bundled'
      ? certs.filter((c) => c.tags[TAG_SCOPE] === 'bundle').map((c) => ({ arn: c.arn, namespaces: certificateNamespaces(c, base.domain) }))
      : undefined;
  const toRead = new Set<string>([
    ...(template.namespaces ?? []),
    ...infos.filter((n) => n.profile || n.terminating).map((n) => n.name),
    ...withCertificates,
    ...(bundles ?? []).flatMap((b) => b.namespaces),
    ...extra,
  ]);
  const provisioned = new Map<string, ProvisionedState>();
  // Every namespace's ownership TXT in one pass over the zone's listing (not one read per namespace).
  // Flat layout: one `*.<domain>` record (TXT `_kserve-edge.<domain>`) and certificate serve every namespace,
  // so an active namespace is provisioned when those are; a new one needs no certificate or record of its own.
  const flatName = base.hostnames === 'flat' ? namespaceOwnershipName(base, '') : undefined;
  const txt = await deps.route53.listRecordsNamed(zoneId, [
    ...[...toRead].map((ns) => ownershipRecordName(ns, base.domain)),
    ...(flatName !== undefined ? [flatName] : []),
  ]);
  const activeNames = new Set(infos.filter((n) => !n.terminating).map((n) => n.name));
  for (const ns of toRead) {
    const flat = flatName !== undefined && (activeNames.has(ns) || (template.namespaces ?? []).includes(ns));
    const issued = (
      flat ? certs.filter((c) => c.names.includes(namespaceWildcard(base, ns))) : certificatesFor(certs, base.domain, ns)
    ).filter((c) => c.status === 'ISSUED');
    const txtName = flat ? flatName : ownershipRecordName(ns, base.domain);
    provisioned.set(ns, {
      ownershipRecord: ownershipOf(recordsNamed(txt, txtName), base.ownerId) === 'ours',
      certificateIssued: issued.length > 0,
      certificateOnListener: issued.some((c) => listed.has(c.arn)),
    });
  }
  const plan = planSweep({
    namespaces: infos,
    staticNamespaces: template.namespaces ?? [],
    provisioned,
    withCertificates,
    certificateMode: base.certificates.mode,
    ...(bundles ? { bundles } : {}),
  });
  return { plan, infos };
}

async function startRun(
  runs: ExecutionsPort,
  name: string,
  input: unknown,
  retry: { allowed: boolean; suffixName: () => string },
): Promise<{ outcome: RunOutcome; executionName: string }> {
  if ((await runs.start(name, input)) === 'started') return { outcome: 'started', executionName: name };
  const status = await runs.status(name);
  if (status === undefined || status === 'RUNNING' || status === 'PENDING_REDRIVE') return { outcome: 'running', executionName: name };
  if (!retry.allowed) return { outcome: 'duplicate', executionName: name };
  const retryName = retry.suffixName();
  const outcome = await runs.start(retryName, input);
  return { outcome: outcome === 'started' ? 'retried' : 'retry-pending', executionName: retryName };
}

async function startPlanned(
  template: RequestTemplate,
  plan: SweepPlan,
  only: ReadonlySet<string> | undefined,
  infos: readonly NamespaceInfo[],
  deps: LifecycleDeps,
  retryAllowed: boolean,
): Promise<LifecycleRun[]> {
  const runs: LifecycleRun[] = [];
  const period = retryPeriod(deps.now(), deps.retryPeriodMinutes ?? DEFAULT_RETRY_PERIOD_MINUTES);
  const uid = (ns: string, fallback: string): string => infos.find((n) => n.name === ns)?.uid ?? fallback;
  const provision = plan.provision.filter((p) => !only || only.has(p.namespace));
  if (provision.length > 0) {
    // Every run carries every desired namespace (the Ingress lists all their certificates).
    const request = requestForNamespaces(template, plan.desired);
    for (const p of provision) {
      const started = await startRun(deps.provisionRuns, p.executionName, request, {
        allowed: retryAllowed,
        suffixName: () => executionName('ns', p.namespace, uid(p.namespace, `static:${p.namespace}`), period),
      });
      runs.push({ kind: 'provision', namespace: p.namespace, ...started, reason: p.reason });
    }
  }
  for (const d of plan.deprovision.filter((x) => !only || only.has(x.namespace))) {
    const input = { request: requestForNamespaces(template, [d.namespace]), namespace: d.namespace };
    const started = await startRun(deps.deprovisionRuns, d.executionName, input, {
      allowed: retryAllowed,
      suffixName: () => executionName('del', d.namespace, uid(d.namespace, `gone:${d.namespace}`), period),
    });
    runs.push({ kind: 'deprovision', namespace: d.namespace, ...started, reason: d.reason });
  }
  if (plan.rebundle && !only) {
    // Sweep only: the released names come from what the sweep reads, not from an event.
    const { release, executionName: name, reason } = plan.rebundle;
    const request = requestForNamespaces(template, plan.desired);
    const certificates = { ...((request.certificates as Record<string, unknown> | undefined) ?? {}), release };
    const started = await startRun(
      deps.provisionRuns,
      name,
      { ...request, certificates },
      {
        allowed: retryAllowed,
        suffixName: () => `${name}-${period}`,
      },
    );
    runs.push({ kind: 'rebundle', namespace: release.join(','), ...started, reason });
  }
  for (const r of runs) deps.log.info('lifecycle run', { ...r });
  return runs;
}

/**
 * Sweep: start provisioning for every profile namespace that is not
 * provisioned, and deprovisioning for every namespace that is gone but still
 * has our certificate. Failed runs are retried once per retry period.
 *
 * @example
 *   const out = await sweepNamespaces({ template }, deps);
 *   // { desired: ['team-a', 'team-b'], inSync: ['team-a'], runs: [{ kind: 'provision', namespace: 'team-b', outcome: 'started', … }] }
 */
export async function sweepNamespaces(input: { template: RequestTemplate }, deps: LifecycleDeps): Promise<LifecycleOutput> {
  const { plan, infos } = await readAndPlan(input.template, [], deps);
  const runs = await startPlanned(input.template, plan, undefined, infos, deps, true);
  return { desired: plan.desired, inSync: plan.inSync, runs, ignored: [] };
}

/**
 * Event path: act on the namespaces the audit events name, as the plan says
 * (a created namespace that is not a profile, or not there yet, is left to
 * the sweep; a deleted one that was never ours needs nothing). Duplicates are
 * refused by Step Functions through the execution name.
 *
 * @example
 *   await handleNamespaceEvents({ template, events: [{ action: 'created', namespace: 'team-b', resource: 'namespaces', auditId: '…' }] }, deps);
 */
export async function handleNamespaceEvents(
  input: { template: RequestTemplate; events: NamespaceEvent[] },
  deps: LifecycleDeps,
): Promise<LifecycleOutput> {
  if (input.events.length === 0) return { desired: [], inSync: [], runs: [], ignored: [] };
  const named = new Set(input.events.map((e) => e.namespace));
  const { plan, infos } = await readAndPlan(input.template, [...named], deps);
  if (input.template.hostnames === 'flat') {
    // A new namespace needs nothing written in the flat layout; its first canary still runs (firstCanaryRuns).
    const created = input.events.filter((e) => e.action === 'created').map((e) => e.namespace);
    plan.provision.push(...firstCanaryRuns(plan, created, infos));
  }
  const runs = await startPlanned(input.template, plan, named, infos, deps, false);
  const acted = new Set(runs.map((r) => r.namespace));
  const ignored = input.events
    .filter((e) => !acted.has(e.namespace))
    .map((e) => ({
      namespace: e.namespace,
      reason: plan.inSync.includes(e.namespace)
        ? 'already provisioned'
        : e.action === 'created'
          ? 'not an active profile namespace (yet); the sweep checks again'
          : plan.desired.includes(e.namespace)
            ? 'still desired (static in the template, or re-created)'
            : 'nothing of ours to remove',
    }));
  for (const i of ignored) deps.log.info('namespace event needs no run', i);
  return { desired: plan.desired, inSync: plan.inSync, runs, ignored };
}

/**
 * Event path, before any action: every audit-log message that could not be
 * parsed is logged with its log event id and counted (the handler publishes
 * the count as the `AuditEventsUnparsed` metric, which is alarmed), so none is
 * dropped in silence. The parsed events of the same payload are still acted on.
 *
 * @example
 *   reportUnparsedAuditMessages(unparsed, { log, count: publishAuditEventsUnparsed });
 */
export function reportUnparsedAuditMessages(
  unparsed: readonly UnparsedAuditMessage[],
  deps: { log: Logger; count: (n: number) => void },
): number {
  for (const u of unparsed) deps.log.warn('audit-log message could not be parsed', { logEventId: u.id, reason: u.reason });
  if (unparsed.length > 0) deps.count(unparsed.length);
  return unparsed.length;
}
