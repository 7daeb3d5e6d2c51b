/**
 * Route 53 adapter.
 *
 * Names cross the port in presentation form without the trailing dot, and a
 * wildcard is `*`. Route 53 itself answers with a trailing dot and escapes
 * every character outside `a-z0-9-_.` as `\ooo` (octal), so `*.ns.example.com`
 * comes back as `\052.ns.example.com.` (moto returns `*` unescaped; both work).
 */
import {
  type Change,
  type ChangeStatus as AwsChangeStatus,
  type ResourceRecordSet,
  type Route53Client,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
} from '@aws-sdk/client-route-53';
import type { ChangeStatus, HostedZone, RecordChange, RecordSet, Route53Port } from '../ports';
import { isAwsError, mapAwsError, withAws } from './errors';
import { RateLimiter, ROUTE53_QUOTAS, ROUTE53_RATES } from './rateLimit';

/**
 * Turns Route 53's `\ooo` octal escapes back into characters and drops the
 * trailing dot.
 *
 * @example
 *   fromRoute53Name('\\052.team-a.example.com.') // '*.team-a.example.com'
 */
export function fromRoute53Name(name: string): string {
  const unescaped = name.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  return unescaped.endsWith('.') ? unescaped.slice(0, -1) : unescaped;
}

/** Fully qualified form Route 53 expects in change batches (trailing dot). */
export function toRoute53Name(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/** `/hostedzone/Z123` → `Z123`. */
export function bareZoneId(id: string): string {
  return id.replace(/^\/?hostedzone\//, '');
}

/** `/change/C123` → `C123`. */
export function bareChangeId(id: string): string {
  return id.replace(/^\/?change\//, '');
}

function sameName(a: string, b: string): boolean {
  return fromRoute53Name(a).toLowerCase() === fromRoute53Name(b).toLowerCase();
}

function toRecordSet(rr: ResourceRecordSet): RecordSet {
  const out: RecordSet = { name: fromRoute53Name(rr.Name ?? ''), type: rr.Type ?? '' };
  if (rr.TTL !== undefined) out.ttl = rr.TTL;
  if (rr.ResourceRecords) out.values = rr.ResourceRecords.map((r) => r.Value ?? '');
  if (rr.AliasTarget) {
    out.alias = {
      hostedZoneId: rr.AliasTarget.HostedZoneId ?? '',
      dnsName: fromRoute53Name(rr.AliasTarget.DNSName ?? ''),
      evaluateTargetHealth: rr.AliasTarget.EvaluateTargetHealth ?? false,
    };
  }
  return out;
}

function toChange(change: RecordChange): Change {
  const r = change.record;
  const set: ResourceRecordSet = { Name: toRoute53Name(r.name), Type: r.type as ResourceRecordSet['Type'] };
  if (r.alias) {
    set.AliasTarget = {
      HostedZoneId: r.alias.hostedZoneId,
      DNSName: r.alias.dnsName,
      EvaluateTargetHealth: r.alias.evaluateTargetHealth,
    };
  } else {
    set.TTL = r.ttl;
    set.ResourceRecords = (r.values ?? []).map((Value) => ({ Value }));
  }
  return { Action: change.action, ResourceRecordSet: set };
}

/** Every suffix of `domain` on label boundaries, longest first: `a.b.c` → `a.b.c`, `b.c`, `c`. */
export function domainSuffixes(domain: string): string[] {
  const labels = fromRoute53Name(domain.toLowerCase())
    .split('.')
    .filter((l) => l !== '');
  return labels.map((_, i) => labels.slice(i).join('.'));
}

/**
 * A name's place in Route 53's listing order. ListResourceRecordSets sorts by
 * the name with its labels reversed and a trailing dot, compared character by
 * character (`www.example.com` → `com.example.www.`), so everything under a
 * name follows that name as one block, and characters before `.` in ASCII
 * (`-`, `*`, …) sort a label before its own subtree ends: `prod-x` comes
 * before `prod.` and all of `*.prod`. Lower case, `\ooo` escapes undone.
 *
 * @example
 *   route53SortKey('*.Team-A.example.com') // 'com.example.team-a.*.'
 */
export function route53SortKey(name: string): string {
  const labels = fromRoute53Name(name)
    .toLowerCase()
    .split('.')
    .filter((l) => l !== '');
  return `${labels.reverse().join('.')}.`;
}

const LDH_LABEL = /^[a-z0-9-]+$/;

/**
 * The nearest ancestor of `name` (or the name itself) whose labels are all
 * letters, digits and hyphens: `*.ns.example.com` and
 * `_kserve-edge.ns.example.com` both give `ns.example.com`. Within such a name
 * Route 53's order is plain ASCII, whatever it does with `*`, `\052` or `_`
 * in a leading label (those only ever sort inside the ancestor's block).
 */
function plainAncestor(name: string): string | undefined {
  const labels = fromRoute53Name(name)
    .toLowerCase()
    .split('.')
    .filter((l) => l !== '');
  while (labels.length > 0 && !LDH_LABEL.test(labels[0] ?? '')) labels.shift();
  return labels.length > 0 && labels.every((l) => LDH_LABEL.test(l)) ? labels.join('.') : undefined;
}

/**
 * True when `key` sorts after the whole block of `lastKey` (the key of a
 * plain name) in Route 53's order, judged only where that order is certain:
 * at the first character where the two differ, the label of `key` holding it
 * must be plain letters/digits/hyphens. Otherwise (an escaped or unusual
 * character decides) the answer is "not past", and the caller reads on.
 */
function pastBlock(key: string, lastKey: string): boolean {
  if (key.startsWith(lastKey)) return false;
  let i = 0;
  while (i < key.length && i < lastKey.length && key[i] === lastKey[i]) i++;
  if (i >= key.length || i >= lastKey.length) return false;
  if ((key[i] ?? '') < (lastKey[i] ?? '')) return false;
  const labelStart = key.lastIndexOf('.', i - 1) + 1;
  const labelEnd = key.indexOf('.', i);
  return LDH_LABEL.test(key.slice(labelStart, labelEnd < 0 ? undefined : labelEnd));
}

/** One per process: Route 53's quota is per account for the whole API, so every adapter shares it. */
const sharedRoute53Limiter = new RateLimiter({ perSecond: ROUTE53_RATES, quota: ROUTE53_QUOTAS });

/** ListResourceRecordSets' largest page. */
const ROUTE53_MAX_ITEMS = 300;

/**
 * {@link Route53Port} over the AWS SDK.
 *
 * @example
 *   const r53 = new Route53Adapter(route53Client());
 *   const zone = await r53.findHostedZone('platform.example.com');
 */
/** Where a ListResourceRecordSets page starts (NextRecordName/Type/Identifier of the last). */
type RecordPageStart = { name?: string; type?: string; identifier?: string };

export class Route53Adapter implements Route53Port {
  /**
   * @param limiter paces every call (all operations draw from Route 53's one
   * per-account budget); one per process by default.
   */
  constructor(
    private readonly client: Route53Client,
    private readonly limiter: RateLimiter = sharedRoute53Limiter,
  ) {}

  /**
   * Every call waits its turn in the one Route 53 budget, then maps AWS
   * errors. Paced here rather than in the client's middleware, so adapters
   * sharing a cached client can differ (the canary's testbed resolver, which
   * stands in for DNS, is not paced).
   */
  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    await this.limiter.take('Route53');
    return withAws(action, fn);
  }

  /**
   * The public zone whose name is the longest label-aligned suffix of `domain`.
   *
   * ListHostedZonesByName sorts by reversed labels, so the parents of a name
   * sort *before* it: one call per suffix (longest first) finds the nearest
   * zone in a handful of calls even in accounts with thousands of zones.
   */
  async findHostedZone(domain: string): Promise<HostedZone | undefined> {
    for (const suffix of domainSuffixes(domain)) {
      const zones = await this.zonesNamed(suffix);
      const pub = zones.find((z) => !z.privateZone);
      if (pub) return pub;
    }
    return undefined;
  }

  /** A zone by id, or `undefined` when it does not exist. */
  async getHostedZone(id: string): Promise<HostedZone | undefined> {
    try {
      await this.limiter.take('Route53');
      const out = await this.client.send(new GetHostedZoneCommand({ Id: bareZoneId(id) }));
      const z = out.HostedZone;
      if (!z?.Id || !z.Name) return undefined;
      return { id: bareZoneId(z.Id), name: fromRoute53Name(z.Name), privateZone: z.Config?.PrivateZone ?? false };
    } catch (err) {
      // A malformed id is as absent as a deleted zone for our purposes.
      if (isAwsError(err, 'NoSuchHostedZone', 'InvalidInput')) return undefined;
      throw mapAwsError(err, 'route53:GetHostedZone');
    }
  }

  /** Every record set named exactly `name` (any type), names unescaped and without the trailing dot. */
  async listRecords(zoneId: string, name: string): Promise<RecordSet[]> {
    const out: RecordSet[] = [];
    let startName: string | undefined = toRoute53Name(name);
    let startType: string | undefined;
    let startIdentifier: string | undefined;
    while (startName !== undefined) {
      const page = await this.call('route53:ListResourceRecordSets', () =>
        this.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: bareZoneId(zoneId),
            StartRecordName: startName,
            StartRecordType: startType as ResourceRecordSet['Type'],
            StartRecordIdentifier: startIdentifier,
            MaxItems: 100,
          }),
        ),
      );
      let passed = false;
      for (const rr of page.ResourceRecordSets ?? []) {
        if (sameName(rr.Name ?? '', name)) out.push(toRecordSet(rr));
        else if (out.length > 0) passed = true; // sorted by name: once past it, nothing more can match
      }
      // Keep paging only while the next page still starts at our name.
      if (!passed && page.IsTruncated && page.NextRecordName && sameName(page.NextRecordName, name)) {
        startName = page.NextRecordName;
        startType = page.NextRecordType;
        startIdentifier = page.NextRecordIdentifier;
      } else {
        startName = undefined;
      }
    }
    return out;
  }

  /**
   * Every record set whose name is one of `names`, in one paginated pass over
   * the smallest stretch of the zone's listing that holds them all: from the
   * first of their plain ancestors (`ns.<domain>` for `*.ns.<domain>` and
   * `_kserve-edge.ns.<domain>`) in Route 53's order, to the end of the last
   * one's block ({@link route53SortKey}). For 24 namespaces that is one call
   * (up to 300 record sets per page) instead of 48.
   *
   * Within one page the record sets come from one read. Across pages they come
   * in Route 53's order, so for a namespace `*.ns` (escaped or not, `*` and `\`
   * sort before `_`) is read before `_kserve-edge.ns`, as the DNS step needs.
   */
  async listRecordsNamed(zoneId: string, names: readonly string[]): Promise<RecordSet[]> {
    if (names.length === 0) return [];
    const wanted = new Set(names.map((n) => fromRoute53Name(n).toLowerCase()));
    const ancestors = names.map(plainAncestor);
    // A name with no plain ancestor inside the zone: read from the zone's first record to its last.
    const plain = ancestors.every((a): a is string => a !== undefined) ? ancestors : undefined;
    const byKey = plain ? [...plain].sort((a, b) => (route53SortKey(a) < route53SortKey(b) ? -1 : 1)) : [];
    const first = byKey[0];
    const lastKey = byKey.length > 0 ? route53SortKey(byKey[byKey.length - 1] ?? '') : undefined;

    const out: RecordSet[] = [];
    let start: RecordPageStart | undefined = { name: first ? toRoute53Name(first) : undefined };
    while (start) {
      const from: RecordPageStart = start;
      const page = await this.recordPage(zoneId, from);
      let past = false;
      for (const rr of page.ResourceRecordSets ?? []) {
        const name = fromRoute53Name(rr.Name ?? '').toLowerCase();
        if (wanted.has(name)) out.push(toRecordSet(rr));
        else if (lastKey !== undefined && pastBlock(route53SortKey(name), lastKey)) {
          past = true;
          break;
        }
      }
      start =
        !past && page.IsTruncated && page.NextRecordName
          ? { name: page.NextRecordName, type: page.NextRecordType, identifier: page.NextRecordIdentifier }
          : undefined;
    }
    return out;
  }

  /**
   * Every record set of the zone: ListResourceRecordSets from the start, 300
   * record sets a page (its largest), following NextRecordName/Type/Identifier.
   * A zone of 500 namespaces (about 1,500 record sets) is 5 or 6 calls.
   */
  async listZoneRecords(zoneId: string): Promise<RecordSet[]> {
    const out: RecordSet[] = [];
    let start: RecordPageStart | undefined = {};
    while (start) {
      const from: RecordPageStart = start;
      const page = await this.recordPage(zoneId, from);
      for (const rr of page.ResourceRecordSets ?? []) out.push(toRecordSet(rr));
      start =
        page.IsTruncated && page.NextRecordName
          ? { name: page.NextRecordName, type: page.NextRecordType, identifier: page.NextRecordIdentifier }
          : undefined;
    }
    return out;
  }

  /** One ListResourceRecordSets page (300 record sets, its largest) from `from`. */
  private recordPage(zoneId: string, from: RecordPageStart): Promise<ListResourceRecordSetsCommandOutput> {
    return this.call('route53:ListResourceRecordSets', () =>
      this.client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: bareZoneId(zoneId),
          StartRecordName: from.name,
          StartRecordType: from.type as ResourceRecordSet['Type'],
          StartRecordIdentifier: from.identifier,
          MaxItems: ROUTE53_MAX_ITEMS,
        }),
      ),
    );
  }

  /** Submits one transactional change batch; returns the change id without `/change/`. */
  async changeRecords(zoneId: string, changes: RecordChange[], comment: string): Promise<{ changeId: string; status: ChangeStatus }> {
    if (changes.length === 0) throw new Error('failed to route53:ChangeResourceRecordSets: empty change batch');
    const out = await this.call('route53:ChangeResourceRecordSets', () =>
      this.client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: bareZoneId(zoneId),
          ChangeBatch: { Comment: comment, Changes: changes.map(toChange) },
        }),
      ),
    );
    const info = out.ChangeInfo;
    if (!info?.Id) throw new Error('failed to route53:ChangeResourceRecordSets: no ChangeInfo in the answer');
    return { changeId: bareChangeId(info.Id), status: toStatus(info.Status) };
  }

  /** PENDING until Route 53's authoritative servers all answer with the change. */
  async getChange(changeId: string): Promise<ChangeStatus> {
    const out = await this.call('route53:GetChange', () => this.client.send(new GetChangeCommand({ Id: bareChangeId(changeId) })));
    return toStatus(out.ChangeInfo?.Status);
  }

  private async zonesNamed(name: string): Promise<HostedZone[]> {
    const zones: HostedZone[] = [];
    let dnsName: string | undefined = toRoute53Name(name);
    let zoneId: string | undefined;
    while (dnsName !== undefined) {
      const page = await this.call('route53:ListHostedZonesByName', () =>
        this.client.send(new ListHostedZonesByNameCommand({ DNSName: dnsName, HostedZoneId: zoneId, MaxItems: 100 })),
      );
      for (const z of page.HostedZones ?? []) {
        if (z.Id && z.Name && sameName(z.Name, name)) {
          zones.push({ id: bareZoneId(z.Id), name: fromRoute53Name(z.Name), privateZone: z.Config?.PrivateZone ?? false });
        }
      }
      // Several zones may share a name (public + private, or split-horizon copies).
      if (page.IsTruncated && page.NextDNSName && sameName(page.NextDNSName, name)) {
        dnsName = page.NextDNSName;
        zoneId = page.NextHostedZoneId;
      } else {
        dnsName = undefined;
      }
    }
    return zones;
  }
}

function toStatus(status: AwsChangeStatus | string | undefined): ChangeStatus {
  return status === 'INSYNC' ? 'INSYNC' : 'PENDING';
}
