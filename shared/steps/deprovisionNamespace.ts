/**
 * DeprovisionNamespace: read → plan (shared/plan/deprovision.ts) → apply, for
 * one namespace that is gone. Safe to run again and again: every pass re-reads
 * and plans only what is still there, which is how the deprovision state
 * machine waits for a certificate the load balancer still uses.
 *
 *   pass 1: DELETE records + TXT, Ingress loses the ARN, certificate in use → { done: false, waitSeconds }
 *   pass 2: certificate no longer in use → deleted with its validation CNAME → { done: true }
 *
 * Past `deadlineSeconds` the run ends `done` with the certificate left and
 * reported; the next sweep starts a new deprovision for it.
 */
import { HostedZoneNotFoundError } from '../errors';
import type { Logger } from '../log';
import type { AcmPort, KubePort, Route53Port } from '../ports';
import { FIELD_MANAGER, ownershipRecordName, TAG_DOMAIN } from '../ownership';
import type { ProvisionRequest } from '../request';
import { namespaceWildcard } from '../request';
import { ingressRefFor } from '../plan/cluster';
import { deprovisionHasChanges, namespaceCertificates, planDeprovision, type DeprovisionPlan, type KeptItem } from '../plan/deprovision';
import { nextPollDelay, secondsSince } from '../plan/polling';

/** How long a run waits for the load balancer to let go of a certificate. */
export const DEFAULT_DEPROVISION_DEADLINE_SECONDS = 1800;

export interface DeprovisionNamespaceInput {
  /** The request the namespace was provisioned with (domain, cluster, auth, ownerId); its namespaces do not matter. */
  request: ProvisionRequest;
  namespace: string;
  /** Set by the first pass; the deadline counts from here. */
  startedAt?: string;
  deadlineSeconds?: number;
}

export interface DeprovisionNamespaceDeps {
  route53: Route53Port;
  acm: AcmPort;
  kube: KubePort;
  log: Logger;
  now: () => Date;
}

/** What {@link planDeprovisionNamespace} returns: the plan and the zone it was read from. */
export interface DeprovisionNamespacePlan {
  zoneId: string;
  plan: DeprovisionPlan;
}

export interface DeprovisionNamespaceOutput {
  namespace: string;
  done: boolean;
  waitSeconds: number;
  startedAt: string;
  elapsedSeconds: number;
  deletedRecords: Array<{ name: string; type: string }>;
  removedFromIngress: string[];
  deletedCertificates: string[];
  inUse: Array<{ arn: string; inUseBy: string[] }>;
  kept: KeptItem[];
}

function isInUseError(err: unknown): boolean {
  const text = `${(err as { name?: string })?.name ?? ''} ${(err as { message?: string })?.message ?? ''} ${String((err as { cause?: { name?: string } })?.cause?.name ?? '')}`;
  return /ResourceInUse/.test(text);
}

/** Reads what is there for the namespace. */
async function readCurrent(
  request: ProvisionRequest,
  namespace: string,
  zoneId: string,
  deps: Pick<DeprovisionNamespaceDeps, 'route53' | 'acm' | 'kube'>,
) {
  const [target, ownership, owned, all, ingress] = await Promise.all([
    // The namespace's own record, always the nested name: in the flat layout `*.<domain>` serves every
    // namespace and is never deprovisioned with one of them.
    deps.route53.listRecords(zoneId, namespaceWildcard({ domain: request.domain }, namespace)),
    deps.route53.listRecords(zoneId, ownershipRecordName(namespace, request.domain)),
    deps.acm.listOwnedCertificates(request.ownerId),
    deps.acm.listAllCertificateNames ? deps.acm.listAllCertificateNames() : Promise.resolve([]),
    deps.kube.get(ingressRefFor(request)),
  ]);
  const certificates = owned.filter((c) => c.tags[TAG_DOMAIN] === request.domain);
  const mine = namespaceCertificates({ certificates, domain: request.domain, namespace });
  const validationNames = [...new Set(mine.flatMap((c) => c.validationRecords.map((v) => v.name.replace(/\.$/, ''))))];
  const validationRecords = (await Promise.all(validationNames.map((n) => deps.route53.listRecords(zoneId, n)))).flat();
  return {
    namespace,
    domain: request.domain,
    ownerId: request.ownerId,
    target,
    ownership,
    certificates,
    allCertificates: all,
    validationRecords,
    ...(ingress ? { ingress } : {}),
  };
}

async function applyPlan(plan: DeprovisionPlan, zoneId: string, request: ProvisionRequest, deps: DeprovisionNamespaceDeps) {
  const deleted: string[] = [];
  const inUse = [...plan.inUse];
  if (plan.ingressPatch) {
    await deps.kube.jsonPatch(plan.ingressPatch.ref, plan.ingressPatch.ops, { fieldManager: FIELD_MANAGER });
  }
  if (plan.recordChanges.length > 0) {
    await deps.route53.changeRecords(
      zoneId,
      plan.recordChanges,
      `kserve-edge (${request.ownerId}): deprovision namespace ${plan.namespace}`,
    );
  }
  for (const arn of plan.deleteCertificates) {
    try {
      await deps.acm.deleteCertificate(arn);
      deleted.push(arn);
    } catch (err) {
      // The load balancer picked it up between our read and the delete: wait and try again.
      if (!isInUseError(err)) throw err;
      inUse.push({ arn, inUseBy: ['(in use at delete time)'] });
    }
  }
  return { deleted, inUse };
}

/**
 * Reads what is left of the namespace (records, certificates, the Ingress's
 * certificate list) and plans its removal. No writes.
 *
 * @throws HostedZoneNotFoundError when no hosted zone serves the domain.
 */
export async function planDeprovisionNamespace(
  input: Pick<DeprovisionNamespaceInput, 'request' | 'namespace'>,
  deps: Pick<DeprovisionNamespaceDeps, 'route53' | 'acm' | 'kube'>,
): Promise<DeprovisionNamespacePlan> {
  const { request, namespace } = input;
  const zoneId = request.hostedZoneId ?? (await deps.route53.findHostedZone(request.domain))?.id;
  if (!zoneId) throw new HostedZoneNotFoundError(`no public Route 53 hosted zone serves ${request.domain}`, { path: 'domain' });
  return { zoneId, plan: planDeprovision(await readCurrent(request, namespace, zoneId, deps)) };
}

/** See the module comment. */
export async function deprovisionNamespace(
  input: DeprovisionNamespaceInput,
  deps: DeprovisionNamespaceDeps,
): Promise<DeprovisionNamespaceOutput> {
  const { request, namespace } = input;
  const now = deps.now();
  const startedAt = input.startedAt ?? now.toISOString();
  const elapsedSeconds = secondsSince(startedAt, now);
  const deadline = input.deadlineSeconds ?? DEFAULT_DEPROVISION_DEADLINE_SECONDS;

  const { zoneId, plan } = await planDeprovisionNamespace(input, deps);
  const log = deps.log.child({ step: 'DeprovisionNamespace', namespace });
  log.info('deprovision plan', {
    records: plan.recordChanges.map((c) => `${c.action} ${c.record.type} ${c.record.name}`),
    ingress: plan.ingressPatch?.removedArns ?? [],
    deleteCertificates: plan.deleteCertificates,
    inUse: plan.inUse,
    kept: plan.kept,
  });

  let deleted: string[] = [];
  let inUse = plan.inUse;
  if (deprovisionHasChanges(plan)) ({ deleted, inUse } = await applyPlan(plan, zoneId, request, deps));

  const waiting = inUse.length > 0 && elapsedSeconds <= deadline;
  if (inUse.length > 0 && !waiting) {
    log.warn('certificates still in use at the deadline; left for the next sweep', { inUse });
  }
  return {
    namespace,
    done: !waiting,
    waitSeconds: waiting ? nextPollDelay(elapsedSeconds, deadline) : 0,
    startedAt,
    elapsedSeconds,
    deletedRecords: plan.recordChanges.map((c) => ({ name: c.record.name, type: c.record.type })),
    removedFromIngress: plan.ingressPatch?.removedArns ?? [],
    deletedCertificates: deleted,
    inUse,
    kept: plan.kept,
  };
}
