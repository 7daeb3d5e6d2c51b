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
import { namespaceOwnershipName, namespaceWildcard } from '../request';
import { batchWeight, planNamespaceRecords, recordsNamed, ROUTE53_MAX_BATCH_WEIGHT, type NamespaceRecordPlan } from '../plan/records';

export interface UpsertDnsRecordsOutput {
  changeId: string | null;
  submittedAt: string;
  records: Array<{ namespace: string; name: string; action: NamespaceRecordPlan['action'] }>;
}

/**
 * Reads the current records and plans every namespace; no writes.
 *
 * Every namespace's target and ownership TXT come from one pass over the
 * zone's listing (`listRecordsNamed`): one ListResourceRecordSets call for up
 * to 300 record sets, where reading each name cost two calls per namespace.
 * A racing run writes a namespace's target and TXT in one batch; Route 53
 * lists `*.ns` before `_kserve-edge.ns`, so a read that straddles pages sees
 * the target before the TXT, never a TXT from before that batch with a target
 * from after it (which would look like someone else's record,
 * RecordOwnedByAnother). The worst case stays "absent, ours".
 */
export async function planDnsRecords(
  request: ProvisionRequest & { hostedZoneId: string },
  albHostname: string,
  route53: Route53Port,
): Promise<NamespaceRecordPlan[]> {
  // Flat: every namespace shares `*.<domain>`, planned once (under the first namespace), or one batch would hold it twice.
  const seen = new Set<string>();
  const namespaces = request.namespaces.filter((ns) => {
    const name = namespaceWildcard(request, ns);
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
  const names = namespaces.flatMap((ns) => [namespaceWildcard(request, ns), namespaceOwnershipName(request, ns)]);
  const current = await route53.listRecordsNamed(request.hostedZoneId, names);
  return namespaces.map((namespace) =>
    planNamespaceRecords(
      request,
      {
        namespace,
        target: recordsNamed(current, namespaceWildcard(request, namespace)),
        ownership: recordsNamed(current, namespaceOwnershipName(request, namespace)),
      },
      albHostname,
    ),
  );
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
