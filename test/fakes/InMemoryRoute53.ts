/**
 * A stateful Route 53 for step tests (external-dns `Route53APIStub` style):
 * zones and records live in maps and the real service's batch rules are
 * enforced, so a step that would fail against AWS fails here too.
 *
 * Enforced:
 * - every name sits inside the zone;
 * - CREATE of an existing name+type fails; DELETE must match TTL and values exactly;
 * - a CNAME cannot share its name with another type;
 * - the same name+type appears at most once per batch;
 * - at most 1,000 ResourceRecord elements per batch, UPSERT counting twice;
 * - a batch is all or nothing;
 * - every TXT character-string is at most 255 characters (Route 53 answers
 *   `InvalidChangeBatch` with `CharacterStringTooLong (Value is too long)`).
 *
 * `getChange` answers PENDING for the first `pendingPolls` calls per change,
 * then INSYNC. Every call is recorded in `calls`.
 */
import type { ChangeStatus, HostedZone, RecordChange, RecordSet, Route53Port } from '../../shared/ports';
import { TXT_MAX_STRING, txtStrings } from '../../shared/ownership';
import { FailureQueue, adapterError } from './awsError';

export const MAX_BATCH_RECORDS = 1000;
const MAX_BATCH_VALUE_CHARS = 32000;

export interface InMemoryRoute53Options {
  /** GetChange calls answering PENDING before INSYNC, per change (default 1). */
  pendingPolls?: number;
}

export type Route53Call =
  | { op: 'findHostedZone'; domain: string }
  | { op: 'getHostedZone'; id: string }
  | { op: 'listRecords'; zoneId: string; name: string }
  | { op: 'listRecordsNamed'; zoneId: string; names: string[] }
  | { op: 'listZoneRecords'; zoneId: string }
  | { op: 'changeRecords'; zoneId: string; changes: RecordChange[]; comment: string }
  | { op: 'getChange'; changeId: string };

const norm = (name: string): string => (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
const key = (name: string, type: string): string => `${norm(name)}|${type.toUpperCase()}`;
const clone = <T>(v: T): T => structuredClone(v);

function sameRecord(a: RecordSet, b: RecordSet): boolean {
  if (a.alias || b.alias) {
    return (
      !!a.alias &&
      !!b.alias &&
      a.alias.hostedZoneId === b.alias.hostedZoneId &&
      norm(a.alias.dnsName) === norm(b.alias.dnsName) &&
      a.alias.evaluateTargetHealth === b.alias.evaluateTargetHealth
    );
  }
  const av = [...(a.values ?? [])].sort();
  const bv = [...(b.values ?? [])].sort();
  return a.ttl === b.ttl && av.length === bv.length && av.every((v, i) => v === bv[i]);
}

function recordElements(r: RecordSet): number {
  return r.alias ? 1 : Math.max(1, r.values?.length ?? 0);
}

/** In-memory {@link Route53Port}. */
export class InMemoryRoute53 implements Route53Port {
  /** Every call, in order, with its arguments (cloned). */
  readonly calls: Route53Call[] = [];
  /** Queue failures: `r53.failures.add('changeRecords', adapterError(...))`. */
  readonly failures = new FailureQueue();
  private readonly pendingPolls: number;
  private readonly zones = new Map<string, HostedZone>();
  private readonly records = new Map<string, Map<string, RecordSet>>();
  private readonly changes = new Map<string, { polls: number }>();
  private nextZone = 1;
  private nextChange = 1;

  constructor(options: InMemoryRoute53Options = {}) {
    this.pendingPolls = options.pendingPolls ?? 1;
  }

  // ------------------------------------------------------------ test setup and inspection

  /** A fake holding these public zones, with their ids, answering INSYNC at once. */
  static withZones(zones: ReadonlyArray<{ id: string; name: string }>): InMemoryRoute53 {
    const r53 = new InMemoryRoute53({ pendingPolls: 0 });
    for (const z of zones) r53.addZone(z.name, { id: z.id });
    return r53;
  }

  /** The names asked for with `listRecords`, in order. */
  get lookups(): string[] {
    return this.calls.flatMap((c) => (c.op === 'listRecords' ? [c.name] : []));
  }

  /** Creates a zone (public unless told otherwise) and returns it. */
  addZone(name: string, options: { id?: string; privateZone?: boolean } = {}): HostedZone {
    const zone: HostedZone = {
      id: options.id ?? `Z${String(this.nextZone++).padStart(12, '0')}`,
      name: norm(name),
      privateZone: options.privateZone ?? false,
    };
    this.zones.set(zone.id, zone);
    this.records.set(zone.id, new Map());
    return zone;
  }

  /** Puts a record straight into a zone, bypassing batch rules (someone else's pre-existing record). */
  seedRecord(zoneId: string, record: RecordSet): void {
    this.zoneRecords(zoneId).set(key(record.name, record.type), clone({ ...record, name: norm(record.name) }));
  }

  /** All records of a zone, sorted by name then type. */
  allRecords(zoneId: string): RecordSet[] {
    return [...this.zoneRecords(zoneId).values()].map(clone).sort((a, b) => a.name.localeCompare(b.name) || a.type.localeCompare(b.type));
  }

  /** One record by name and type. */
  getRecord(zoneId: string, name: string, type: string): RecordSet | undefined {
    const r = this.zoneRecords(zoneId).get(key(name, type));
    return r ? clone(r) : undefined;
  }

  /** The change batches that were applied (failed ones are only in {@link calls}). */
  readonly batches: Array<{ zoneId: string; changes: RecordChange[]; comment: string; changeId: string }> = [];

  // ------------------------------------------------------------ Route53Port

  async findHostedZone(domain: string): Promise<HostedZone | undefined> {
    this.calls.push({ op: 'findHostedZone', domain });
    this.failures.check('findHostedZone');
    const d = norm(domain);
    let best: HostedZone | undefined;
    for (const z of this.zones.values()) {
      if (z.privateZone) continue;
      if (d === z.name || d.endsWith(`.${z.name}`)) {
        if (!best || z.name.length > best.name.length) best = z;
      }
    }
    return best ? clone(best) : undefined;
  }

  async getHostedZone(id: string): Promise<HostedZone | undefined> {
    this.calls.push({ op: 'getHostedZone', id });
    this.failures.check('getHostedZone');
    const z = this.zones.get(id.replace(/^\/?hostedzone\//, ''));
    return z ? clone(z) : undefined;
  }

  async listRecords(zoneId: string, name: string): Promise<RecordSet[]> {
    this.calls.push({ op: 'listRecords', zoneId, name });
    this.failures.check('listRecords');
    const n = norm(name);
    return this.allRecords(this.zoneIdOrThrow(zoneId, 'route53:ListResourceRecordSets')).filter((r) => norm(r.name) === n);
  }

  async listRecordsNamed(zoneId: string, names: readonly string[]): Promise<RecordSet[]> {
    this.calls.push({ op: 'listRecordsNamed', zoneId, names: [...names] });
    this.failures.check('listRecordsNamed');
    const wanted = new Set(names.map(norm));
    return this.allRecords(this.zoneIdOrThrow(zoneId, 'route53:ListResourceRecordSets')).filter((r) => wanted.has(norm(r.name)));
  }

  async listZoneRecords(zoneId: string): Promise<RecordSet[]> {
    this.calls.push({ op: 'listZoneRecords', zoneId });
    this.failures.check('listZoneRecords');
    return this.allRecords(this.zoneIdOrThrow(zoneId, 'route53:ListResourceRecordSets'));
  }

  async changeRecords(zoneId: string, changes: RecordChange[], comment: string): Promise<{ changeId: string; status: ChangeStatus }> {
    const action = 'route53:ChangeResourceRecordSets';
    this.calls.push({ op: 'changeRecords', zoneId, changes: clone(changes), comment });
    this.failures.check('changeRecords');
    const id = this.zoneIdOrThrow(zoneId, action);
    const zone = this.zones.get(id) as HostedZone;
    const invalid = (msg: string): Error => adapterError(action, 'InvalidChangeBatch', msg);
    if (changes.length === 0) throw adapterError(action, 'InvalidInput', 'ChangeBatch must contain at least one change');

    let elements = 0;
    let chars = 0;
    const seen = new Set<string>();
    for (const { action: act, record } of changes) {
      const n = norm(record.name);
      if (n !== zone.name && !n.endsWith(`.${zone.name}`)) {
        throw invalid(`RRSet with DNS name ${n}. is not permitted in zone ${zone.name}.`);
      }
      const k = key(n, record.type);
      if (seen.has(k)) throw invalid(`The request contains more than one change for [name='${n}.', type='${record.type}']`);
      seen.add(k);
      if (!record.alias && (record.ttl === undefined || !record.values?.length)) {
        throw invalid(`RRSet [name='${n}.', type='${record.type}'] needs a TTL and at least one value`);
      }
      if (record.type === 'TXT') {
        const long = (record.values ?? []).find((v) => txtStrings(v).some((str) => str.length > TXT_MAX_STRING));
        if (long !== undefined) throw invalid(`[CharacterStringTooLong (Value is too long) encountered with '${long}']`);
      }
      elements += recordElements(record) * (act === 'UPSERT' ? 2 : 1);
      chars += (record.values ?? []).reduce((s, v) => s + v.length, 0) * (act === 'UPSERT' ? 2 : 1);
    }
    if (elements > MAX_BATCH_RECORDS) throw invalid(`Number of records limit of ${MAX_BATCH_RECORDS} exceeded (${elements})`);
    if (chars > MAX_BATCH_VALUE_CHARS) throw invalid(`Number of characters limit of ${MAX_BATCH_VALUE_CHARS} exceeded`);

    // Apply to a copy: the batch is transactional.
    const next = new Map([...this.zoneRecords(id)].map(([k, v]) => [k, clone(v)]));
    for (const { action: act, record } of changes) {
      const n = norm(record.name);
      const k = key(n, record.type);
      const existing = next.get(k);
      const desc = `[name='${n}.', type='${record.type}']`;
      if (act === 'CREATE' && existing) throw invalid(`Tried to create resource record set ${desc} but it already exists`);
      if (act === 'DELETE') {
        if (!existing) throw invalid(`Tried to delete resource record set ${desc} but it was not found`);
        if (!sameRecord(existing, record)) {
          throw invalid(`Tried to delete resource record set ${desc} but the values provided do not match the current values`);
        }
        next.delete(k);
        continue;
      }
      next.set(k, clone({ ...record, name: n }));
    }
    // CNAME exclusivity is checked on the result, so a batch may swap types at a name.
    const typesByName = new Map<string, string[]>();
    for (const r of next.values()) typesByName.set(r.name, [...(typesByName.get(r.name) ?? []), r.type]);
    for (const [n, types] of typesByName) {
      if (types.includes('CNAME') && types.length > 1) {
        throw invalid(
          `RRSet of type CNAME with DNS name ${n}. is not permitted because a conflicting RRSet of type ${types.find((t) => t !== 'CNAME')} with the same DNS name already exists`,
        );
      }
    }
    this.records.set(id, next);
    const changeId = `C${String(this.nextChange++).padStart(12, '0')}`;
    this.batches.push({ zoneId: id, changes: clone(changes), comment, changeId });
    this.changes.set(changeId, { polls: 0 });
    return { changeId, status: this.pendingPolls > 0 ? 'PENDING' : 'INSYNC' };
  }

  async getChange(changeId: string): Promise<ChangeStatus> {
    this.calls.push({ op: 'getChange', changeId });
    this.failures.check('getChange');
    const change = this.changes.get(changeId.replace(/^\/?change\//, ''));
    if (!change) throw adapterError('route53:GetChange', 'NoSuchChange', `Could not find resource with ID: ${changeId}`, 404);
    change.polls += 1;
    return change.polls > this.pendingPolls ? 'INSYNC' : 'PENDING';
  }

  private zoneRecords(zoneId: string): Map<string, RecordSet> {
    const recs = this.records.get(zoneId.replace(/^\/?hostedzone\//, ''));
    if (!recs) throw new Error(`InMemoryRoute53: no zone ${zoneId}`);
    return recs;
  }

  private zoneIdOrThrow(zoneId: string, action: string): string {
    const id = zoneId.replace(/^\/?hostedzone\//, '');
    if (!this.zones.has(id)) throw adapterError(action, 'NoSuchHostedZone', `No hosted zone found with ID: ${id}`, 404);
    return id;
  }
}
