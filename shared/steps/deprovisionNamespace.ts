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
import type { AcmPort, KubeObject, KubePort, Route53Port } from '../ports';
import { FIELD_MANAGER, isOwnedObject, ownershipRecordName, TAG_DOMAIN } from '../ownership';
import type { ProvisionRequest } from '../request';
import { namespaceWildcard } from '../request';
import { ANNOTATION_CERTIFICATE_ARN, ingressRefFor, splitArns } from '../plan/cluster';
import { readShardIngresses } from './configureCluster';
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
  /** The namespace's ALB shard as an earlier pass found it (n ≥ 1): once it lists none of the namespace's certificates it is still known. */
  shard?: number;
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
  /** The namespace's ALB shard, when it is not shard 0 (passed to the next pass). */
  shard?: number;
  /** The shard Ingress this pass deleted (its ALB goes with it). */
  deletedIngress?: string;
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
  shardHint?: number,
) {
  const [target, ownership, owned, all, zero, shards] = await Promise.all([
    // The namespace's own record, always the nested name: in the flat layout `*.<domain>` serves every
    // namespace and is never deprovisioned with one of them.
    deps.route53.listRecords(zoneId, namespaceWildcard({ domain: request.domain }, namespace)),
    deps.route53.listRecords(zoneId, ownershipRecordName(namespace, request.domain)),
    deps.acm.listOwnedCertificates(request.ownerId),
    deps.acm.listAllCertificateNames ? deps.acm.listAllCertificateNames() : Promise.resolve([]),
    deps.kube.get(ingressRefFor(request)),
    readShardIngresses(deps.kube, request),
  ]);
  const certificates = owned.filter((c) => c.tags[TAG_DOMAIN] === request.domain);
  const mine = namespaceCertificates({ certificates, domain: request.domain, namespace });
  // The namespace's shard: the Ingress that lists one of its certificates (shard 0's when none does). A shard
  // that lists none any more and whose namespace this is (it emptied on an earlier pass) is found by the
  // shard's name recorded in the earlier pass's output, so the step is also told `shard`.
  const mineArns = new Set(mine.map((c) => c.arn));
  const candidates: Array<[number, KubeObject | undefined]> = [[0, zero], ...shards];
  let [shard, ingress] = candidates.find(([, ing]) =>
    splitArns(ing?.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]).some((a) => mineArns.has(a)),
  ) ?? [0, zero];
  if (shardHint !== undefined && shardHint > 0 && shard === 0 && shards.has(shardHint))
    [shard, ingress] = [shardHint, shards.get(shardHint)];
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
    ...(ingress ? { ingress, shard, ingressOwned: isOwnedObject(ingress.metadata.labels, request.ownerId) } : {}),
  };
}

async function applyPlan(plan: DeprovisionPlan, zoneId: string, request: ProvisionRequest, deps: DeprovisionNamespaceDeps) {
  const deleted: string[] = [];
  const inUse = [...plan.inUse];
  // Records first: once a shard's Ingress lists no namespace of ours, no record of ours points at its ALB.
  if (plan.recordChanges.length > 0) {
    await deps.route53.changeRecords(
      zoneId,
      plan.recordChanges,
      `kserve-edge (${request.ownerId}): deprovision namespace ${plan.namespace}`,
    );
  }
  if (plan.ingressPatch) {
    await deps.kube.jsonPatch(plan.ingressPatch.ref, plan.ingressPatch.ops, { fieldManager: FIELD_MANAGER });
  }
  // The shard's Ingress: the AWS Load Balancer Controller then deletes its ALB (its finalizer).
  if (plan.deleteIngress) await deps.kube.delete(plan.deleteIngress);
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
  input: Pick<DeprovisionNamespaceInput, 'request' | 'namespace' | 'shard'>,
  deps: Pick<DeprovisionNamespaceDeps, 'route53' | 'acm' | 'kube'>,
): Promise<DeprovisionNamespacePlan & { shard: number }> {
  const { request, namespace } = input;
  const zoneId = request.hostedZoneId ?? (await deps.route53.findHostedZone(request.domain))?.id;
  if (!zoneId) throw new HostedZoneNotFoundError(`no public Route 53 hosted zone serves ${request.domain}`, { path: 'domain' });
  const current = await readCurrent(request, namespace, zoneId, deps, input.shard);
  return { zoneId, plan: planDeprovision(current), shard: current.shard ?? 0 };
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

  const { zoneId, plan, shard } = await planDeprovisionNamespace(input, deps);
  const log = deps.log.child({ step: 'DeprovisionNamespace', namespace });
  log.info('deprovision plan', {
    records: plan.recordChanges.map((c) => `${c.action} ${c.record.type} ${c.record.name}`),
    ingress: plan.ingressPatch?.removedArns ?? [],
    shard,
    deleteIngress: plan.deleteIngress?.name,
    shardEmptying: plan.shardEmptying?.name,
    deleteCertificates: plan.deleteCertificates,
    inUse: plan.inUse,
    kept: plan.kept,
  });

  let deleted: string[] = [];
  let inUse = plan.inUse;
  if (deprovisionHasChanges(plan)) ({ deleted, inUse } = await applyPlan(plan, zoneId, request, deps));

  // An emptied shard's Ingress goes on the next pass, after this pass's records.
  const waiting = (inUse.length > 0 || plan.shardEmptying !== undefined) && elapsedSeconds <= deadline;
  if ((inUse.length > 0 || plan.shardEmptying) && !waiting) {
    log.warn('certificates still in use (or an empty shard left) at the deadline; left for the next sweep', {
      inUse,
      shard: plan.shardEmptying?.name,
    });
  }
  return {
    namespace,
    done: !waiting,
    waitSeconds: waiting ? nextPollDelay(elapsedSeconds, deadline) : 0,
    startedAt,
    elapsedSeconds,
    deletedRecords: plan.recordChanges.map((c) => ({ name: c.record.name, type: c.record.type })),
    removedFromIngress: plan.ingressPatch?.removedArns ?? [],
    ...(shard > 0 ? { shard } : {}),
    ...(plan.deleteIngress ? { deletedIngress: plan.deleteIngress.name } : {}),
    deletedCertificates: deleted,
    inUse,
    kept: plan.kept,
  };
}
