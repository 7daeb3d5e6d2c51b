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
import { planNamespaceRecords, recordsNamed, splitIntoBatches, type NamespaceRecordPlan } from '../plan/records';

export interface UpsertDnsRecordsOutput {
  /** The first (often only) batch's change; `null` when nothing changed. */
  changeId: string | null;
  /** Every batch's change, when there were several (Route 53's 1,000-record and 32,000-character limits). */
  changeIds?: string[];
  submittedAt: string;
  /** One entry per namespace; above {@link MAX_LISTED_RECORDS} namespaces only updates and adoptions (the state stays small). */
  records: Array<{ namespace: string; name: string; action: NamespaceRecordPlan['action'] }>;
  /** With more than {@link MAX_LISTED_RECORDS} namespaces: how many records of each action. */
  counts?: Partial<Record<NamespaceRecordPlan['action'], number>>;
}

/** Above this many namespaces the output lists only the records that changed. */
export const MAX_LISTED_RECORDS = 100;

/** Which ALB each namespace's record points at: GetLoadBalancerAddress's `targets` (shards), else its one `hostname`. */
export interface LoadBalancerTargets {
  hostname?: string;
  targets?: Array<{ hostname: string; namespaces: string[] }>;
}

/** The ALB hostname for each namespace of the request. */
export function hostnameFor(loadBalancer: LoadBalancerTargets, namespace: string): string | undefined {
  return loadBalancer.targets?.find((t) => t.namespaces.includes(namespace))?.hostname ?? loadBalancer.hostname;
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
  albHostname: string | ((namespace: string) => string),
  route53: Route53Port,
): Promise<NamespaceRecordPlan[]> {
  const target = typeof albHostname === 'string' ? () => albHostname : albHostname;
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
      target(namespace),
    ),
  );
}

/**
 * Plans every namespace (each to its shard's ALB) and submits the changes in
 * as few Route 53 batches as the limits allow, one after the other (the
 * Route 53 adapter paces calls to the API's rate).
 */
export async function upsertDnsRecords(
  input: { request: ProvisionRequest & { hostedZoneId: string }; loadBalancer: LoadBalancerTargets },
  deps: { route53: Route53Port; log: Logger; now: () => Date },
): Promise<UpsertDnsRecordsOutput> {
  const { request } = input;
  const missing = request.namespaces.filter((ns) => !hostnameFor(input.loadBalancer, ns));
  if (missing.length > 0) {
    throw new Error(`no load balancer hostname for ${missing.join(', ')} in the input (GetLoadBalancerAddress must run first)`);
  }
  const plans = await planDnsRecords(request, (ns) => hostnameFor(input.loadBalancer, ns)!, deps.route53);
  const all = plans.map((p) => ({ namespace: p.namespace, name: p.recordName, action: p.action }));
  const big = all.length > MAX_LISTED_RECORDS;
  const listed = big ? all.filter((r) => r.action === 'update' || r.action === 'adopt') : all;
  const submittedAt = deps.now().toISOString();
  const batches = splitIntoBatches(plans.map((p) => p.changes));
  const counts: Partial<Record<NamespaceRecordPlan['action'], number>> = {};
  for (const r of all) counts[r.action] = (counts[r.action] ?? 0) + 1;
  const base: Pick<UpsertDnsRecordsOutput, 'records' | 'counts'> = big ? { records: listed, counts } : { records: listed };
  if (batches.length === 0) {
    deps.log.info('DNS records already in place', { namespaces: request.namespaces.length });
    return { changeId: null, submittedAt, ...base };
  }
  const changeIds: string[] = [];
  for (const [i, changes] of batches.entries()) {
    const { changeId } = await deps.route53.changeRecords(
      request.hostedZoneId,
      changes,
      `kserve-edge (${request.ownerId}): namespace records for ${request.domain}${batches.length > 1 ? ` (${i + 1}/${batches.length})` : ''}`,
    );
    changeIds.push(changeId);
  }
  deps.log.info('DNS records submitted', { changeIds, batches: batches.length, changes: batches.flat().length, records: listed });
  return { changeId: changeIds[0]!, ...(changeIds.length > 1 ? { changeIds } : {}), submittedAt, ...base };
}
