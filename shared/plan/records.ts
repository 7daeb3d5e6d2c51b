/**
 * DNS records for the namespaces: `*.<ns>.<domain>` → the ALB, each with a
 * companion ownership TXT `_kserve-edge.<ns>.<domain>` (external-dns style).
 * In the flat layout (`hostnames: "flat"`) every namespace shares one record,
 * `*.<domain>`, with the TXT `_kserve-edge.<domain>`: planned once.
 *
 * Decision table for one namespace (adopt = request.adopt):
 *
 * | target record        | ownership TXT        | action                                   |
 * |----------------------|----------------------|------------------------------------------|
 * | absent               | absent               | UPSERT record + TXT                      |
 * | absent               | ours                 | UPSERT record                            |
 * | absent               | foreign              | RecordOwnedByAnother (adopt: UPSERT both)|
 * | equal to desired     | ours                 | nothing                                  |
 * | differs              | ours                 | UPSERT record (DELETE the old type first |
 * |                      |                      |   when switching CNAME ↔ alias A)        |
 * | present              | absent or foreign    | RecordOwnedByAnother (adopt: UPSERT both)|
 *
 * A TXT is "ours" when it says heritage=kserve-edge and our owner id.
 */
import { InvalidRequestError, RecordOwnedByAnotherError } from '../errors';
import type { RecordChange, RecordSet } from '../ports';
import type { ProvisionRequest } from '../request';
import { namespaceOwnershipName, namespaceWildcard } from '../request';
import { HERITAGE, ownershipRecordValue, parseOwnershipValue } from '../ownership';

/**
 * Canonical hosted zone ids of Application Load Balancers, for alias records
 * (AWS "Elastic Load Balancing endpoints and quotas").
 */
export const ALB_HOSTED_ZONE_IDS: Readonly<Record<string, string>> = {
  'us-east-1': 'Z35SXDOTRQ7X7K',
  'us-east-2': 'Z3AADJGX6KTTL2',
  'us-west-1': 'Z368ELLRRE2KJ0',
  'us-west-2': 'Z1H1FL5HABSF5',
  'ca-central-1': 'ZQSVJUPU6J1EY',
  'eu-central-1': 'Z215JYRZR1TBD5',
  'eu-west-1': 'Z32O12XQLNTSW2',
  'eu-west-2': 'ZHURV8PSTC4K8',
  'eu-west-3': 'Z3Q77PNBQS71R4',
  'eu-north-1': 'Z23TAZ7KK3YN5G',
  'ap-south-1': 'ZP97RAFLXTNZK',
  'ap-northeast-1': 'Z14GRHDCWA56QT',
  'ap-northeast-2': 'ZWKZPGTI48KDX',
  'ap-southeast-1': 'Z1LMS91P8CMLE5',
  'ap-southeast-2': 'Z1GM3OXH4ZPM65',
  'sa-east-1': 'Z2P70J7HTTTPLU',
};

/** Record types that occupy a name the way our target record does. */
const ADDRESS_TYPES = new Set(['CNAME', 'A', 'AAAA']);

export interface NamespaceRecords {
  namespace: string;
  /** Every record set at `*.<ns>.<domain>`. */
  target: RecordSet[];
  /** Every record set at `_kserve-edge.<ns>.<domain>`. */
  ownership: RecordSet[];
}

export type Ownership = 'none' | 'ours' | 'foreign';

export interface NamespaceRecordPlan {
  namespace: string;
  recordName: string;
  ownership: Ownership;
  action: 'create' | 'update' | 'adopt' | 'none';
  changes: RecordChange[];
}

/** The record a namespace should have. */
export function desiredRecord(req: ProvisionRequest, namespace: string, albHostname: string): RecordSet {
  const name = namespaceWildcard(req, namespace);
  if (req.dns.recordType === 'ALIAS') {
    const zone = ALB_HOSTED_ZONE_IDS[req.cluster.region];
    // ValidateRequest refuses this before anything is written; a request that skipped it gets the same named error.
    if (!zone) {
      throw new InvalidRequestError(
        `dns.recordType: ALIAS records need the ALB hosted zone id of ${req.cluster.region}, which this version does not know; use CNAME`,
        {
          path: 'dns.recordType',
        },
      );
    }
    return { name, type: 'A', alias: { hostedZoneId: zone, dnsName: `dualstack.${albHostname}`, evaluateTargetHealth: true } };
  }
  return { name, type: 'CNAME', ttl: req.dns.ttl, values: [albHostname] };
}

/** The ownership TXT of a namespace. */
export function desiredOwnershipRecord(req: ProvisionRequest, namespace: string): RecordSet {
  return {
    name: namespaceOwnershipName(req, namespace),
    type: 'TXT',
    ttl: req.dns.ttl,
    values: [ownershipRecordValue(req.ownerId, namespaceWildcard(req, namespace))],
  };
}

/** The record sets of `records` whose name is `name` (case-insensitive, trailing dot ignored), as one listing pass returns them. */
export function recordsNamed(records: readonly RecordSet[], name: string): RecordSet[] {
  const norm = (n: string): string => n.toLowerCase().replace(/\.$/, '');
  return records.filter((r) => norm(r.name) === norm(name));
}

/** Who owns a name, judging by its TXT record sets. */
export function ownershipOf(txt: readonly RecordSet[], ownerId: string): Ownership {
  const sets = txt.filter((r) => r.type === 'TXT');
  if (sets.length === 0) return 'none';
  const labels = sets.flatMap((r) => r.values ?? []).map(parseOwnershipValue);
  if (labels.some((l) => l.heritage === HERITAGE && l.owner === ownerId)) return 'ours';
  return 'foreign';
}

/** Two record sets carry the same data (name, type, TTL, values or alias target). */
export function sameRecord(a: RecordSet, b: RecordSet): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/\.$/, '');
  if (norm(a.name) !== norm(b.name) || a.type !== b.type) return false;
  if (a.alias || b.alias) {
    return (
      !!a.alias &&
      !!b.alias &&
      a.alias.hostedZoneId === b.alias.hostedZoneId &&
      norm(a.alias.dnsName) === norm(b.alias.dnsName) &&
      a.alias.evaluateTargetHealth === b.alias.evaluateTargetHealth
    );
  }
  const av = (a.values ?? []).map(norm).sort();
  const bv = (b.values ?? []).map(norm).sort();
  return a.ttl === b.ttl && av.length === bv.length && av.every((v, i) => v === bv[i]);
}

/**
 * Plans one namespace's records. Throws {@link RecordOwnedByAnotherError} when
 * the name belongs to someone else and the request does not say to adopt it.
 */
export function planNamespaceRecords(req: ProvisionRequest, current: NamespaceRecords, albHostname: string): NamespaceRecordPlan {
  const want = desiredRecord(req, current.namespace, albHostname);
  const txt = desiredOwnershipRecord(req, current.namespace);
  const ownership = ownershipOf(current.ownership, req.ownerId);
  const occupying = current.target.filter((r) => ADDRESS_TYPES.has(r.type));
  const base = { namespace: current.namespace, recordName: want.name, ownership };

  const foreign = ownership === 'foreign' || (ownership === 'none' && occupying.length > 0);
  if (foreign && !req.adopt) {
    const what =
      ownership === 'foreign'
        ? `its ownership record ${txt.name} names another owner`
        : `it exists (${occupying.map((r) => r.type).join(', ')}) without an ownership record`;
    throw new RecordOwnedByAnotherError(`refusing to change ${want.name}: ${what}; set "adopt": true in the request to take it over`, {
      path: 'namespaces',
    });
  }

  const changes: RecordChange[] = [];
  // Records of another type at the same name must go before ours can exist
  // (a CNAME cannot share its name). We only get here when they are ours or adopted.
  for (const old of occupying) {
    if (old.type !== want.type) changes.push({ action: 'DELETE', record: old });
  }
  const existing = occupying.find((r) => r.type === want.type);
  if (!existing || !sameRecord(existing, want)) changes.push({ action: 'UPSERT', record: want });
  const txtOk = ownership === 'ours' && current.ownership.some((r) => r.type === 'TXT' && sameRecord(r, txt));
  if (!txtOk) changes.push({ action: 'UPSERT', record: txt });

  const action: NamespaceRecordPlan['action'] =
    changes.length === 0 ? 'none' : foreign ? 'adopt' : existing || ownership === 'ours' ? 'update' : 'create';
  return { ...base, action, changes };
}

/** Route 53 counts record values per batch, UPSERT twice (limit 1,000). */
export function batchWeight(changes: readonly RecordChange[]): number {
  return changes.reduce((n, c) => n + (c.action === 'UPSERT' ? 2 : 1) * Math.max(1, c.record.values?.length ?? 1), 0);
}

export const ROUTE53_MAX_BATCH_WEIGHT = 1000;
/** Route 53: at most 32,000 characters of record values per ChangeResourceRecordSets (UPSERT counts twice). */
export const ROUTE53_MAX_BATCH_VALUE_CHARACTERS = 32000;

/** The value characters of a batch as Route 53 counts them: every value's length, UPSERT twice. */
export function batchValueCharacters(changes: readonly RecordChange[]): number {
  return changes.reduce(
    (n, c) => n + (c.action === 'UPSERT' ? 2 : 1) * (c.record.values ?? [c.record.alias?.dnsName ?? '']).reduce((m, v) => m + v.length, 0),
    0,
  );
}

/**
 * Splits changes into Route 53 batches within {@link ROUTE53_MAX_BATCH_WEIGHT}
 * and {@link ROUTE53_MAX_BATCH_VALUE_CHARACTERS}, keeping each group (one
 * namespace's record and its ownership TXT) in one batch, so a reader never
 * sees one without the other. Pure; groups keep their order.
 *
 * @throws RangeError when one group alone exceeds a limit.
 */
export function splitIntoBatches(groups: ReadonlyArray<readonly RecordChange[]>): RecordChange[][] {
  const batches: RecordChange[][] = [];
  let current: RecordChange[] = [];
  for (const group of groups) {
    if (group.length === 0) continue;
    if (batchWeight(group) > ROUTE53_MAX_BATCH_WEIGHT || batchValueCharacters(group) > ROUTE53_MAX_BATCH_VALUE_CHARACTERS) {
      throw new RangeError(`one record group exceeds Route 53's batch limits (${group.map((c) => c.record.name).join(', ')})`);
    }
    const next = [...current, ...group];
    if (batchWeight(next) > ROUTE53_MAX_BATCH_WEIGHT || batchValueCharacters(next) > ROUTE53_MAX_BATCH_VALUE_CHARACTERS) {
      batches.push(current);
      current = [...group];
    } else {
      current = next;
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
