/**
 * UpsertDnsRecords: `*.<namespace>.<domain>` → the ALB, with ownership TXT
 * records, in one Route 53 batch for every namespace.
 *
 * Current records are read first; the plan refuses any name that is not ours
 * (RecordOwnedByAnother) before a single change is sent.
 */
import type { Logger } from '../log';
import type { Route53Port } from '../ports';
import type { ProvisionRequest } from '../request';
import { namespaceWildcard } from '../request';
import { ownershipRecordName } from '../ownership';
import {
  batchWeight,
  planNamespaceRecords,
  ROUTE53_MAX_BATCH_WEIGHT,
  type NamespaceRecordPlan,
} from '../plan/records';

export interface UpsertDnsRecordsOutput {
  changeId: string | null;
  submittedAt: string;
  records: Array<{ namespace: string; name: string; action: NamespaceRecordPlan['action'] }>;
}

/** Reads the current records and plans every namespace; no writes. */
export async function planDnsRecords(
  request: ProvisionRequest & { hostedZoneId: string },
  albHostname: string,
  route53: Route53Port,
): Promise<NamespaceRecordPlan[]> {
  const plans: NamespaceRecordPlan[] = [];
  for (const namespace of request.namespaces) {
    // Target first, then its ownership TXT, never both at once: a racing run writes the two in one
    // batch, and a read of the TXT from before that batch with the target from after it would look
    // like someone else's record (RecordOwnedByAnother). In this order the worst case is "absent, ours".
    const target = await route53.listRecords(request.hostedZoneId, namespaceWildcard(request, namespace));
    const ownership = await route53.listRecords(request.hostedZoneId, ownershipRecordName(namespace, request.domain));
    plans.push(planNamespaceRecords(request, { namespace, target, ownership }, albHostname));
  }
  return plans;
}

export async function upsertDnsRecords(
  input: { request: ProvisionRequest & { hostedZoneId: string }; loadBalancer: { hostname?: string } },
  deps: { route53: Route53Port; log: Logger; now: () => Date },
): Promise<UpsertDnsRecordsOutput> {
  const { request } = input;
  const hostname = input.loadBalancer.hostname;
  if (!hostname) throw new Error('no load balancer hostname in the input (GetLoadBalancerAddress must run first)');
  const plans = await planDnsRecords(request, hostname, deps.route53);
  const changes = plans.flatMap((p) => p.changes);
  const records = plans.map((p) => ({ namespace: p.namespace, name: p.recordName, action: p.action }));
  const submittedAt = deps.now().toISOString();
  if (changes.length === 0) {
    deps.log.info('DNS records already in place', { namespaces: request.namespaces.length });
    return { changeId: null, submittedAt, records };
  }
  // 24 namespaces at most (request limit) × 4 weight per namespace stays far below 1,000.
  if (batchWeight(changes) > ROUTE53_MAX_BATCH_WEIGHT) {
    throw new Error(`DNS change batch too large (${batchWeight(changes)} > ${ROUTE53_MAX_BATCH_WEIGHT})`);
  }
  const { changeId } = await deps.route53.changeRecords(
    request.hostedZoneId,
    changes,
    `kserve-edge (${request.ownerId}): namespace records for ${request.domain}`,
  );
  deps.log.info('DNS records submitted', { changeId, changes: changes.length, records });
  return { changeId, submittedAt, records };
}
