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
} from '@aws-sdk/client-route-53';
import type { ChangeStatus, HostedZone, RecordChange, RecordSet, Route53Port } from '../ports';
import { isAwsError, mapAwsError, withAws } from './errors';

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
  const labels = fromRoute53Name(domain.toLowerCase()).split('.').filter((l) => l !== '');
  return labels.map((_, i) => labels.slice(i).join('.'));
}

/**
 * {@link Route53Port} over the AWS SDK.
 *
 * @example
 *   const r53 = new Route53Adapter(route53Client());
 *   const zone = await r53.findHostedZone('platform.example.com');
 */
export class Route53Adapter implements Route53Port {
  constructor(private readonly client: Route53Client) {}

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
      const page = await withAws('route53:ListResourceRecordSets', () =>
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

  /** Submits one transactional change batch; returns the change id without `/change/`. */
  async changeRecords(
    zoneId: string,
    changes: RecordChange[],
    comment: string,
  ): Promise<{ changeId: string; status: ChangeStatus }> {
    if (changes.length === 0) throw new Error('failed to route53:ChangeResourceRecordSets: empty change batch');
    const out = await withAws('route53:ChangeResourceRecordSets', () =>
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
    const out = await withAws('route53:GetChange', () =>
      this.client.send(new GetChangeCommand({ Id: bareChangeId(changeId) })),
    );
    return toStatus(out.ChangeInfo?.Status);
  }

  private async zonesNamed(name: string): Promise<HostedZone[]> {
    const zones: HostedZone[] = [];
    let dnsName: string | undefined = toRoute53Name(name);
    let zoneId: string | undefined;
    while (dnsName !== undefined) {
      const page = await withAws('route53:ListHostedZonesByName', () =>
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
