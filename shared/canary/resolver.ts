/**
 * Where the canary connects to: a host name becomes an address and a port.
 *
 * Two implementations:
 *
 * - {@link SystemResolver}: the operating system's resolver (what a user's
 *   client sees), port 443. Used in Lambda and from a laptop against AWS.
 * - {@link Route53Resolver}: reads the records the workflow wrote in Route 53
 *   and follows them to the load balancer's name, then maps that name to
 *   `127.0.0.1:<port>` through a host map file. This is the testbed's DNS:
 *   moto serves Route 53 and the load-balancer stand-in (nginx) listens on a
 *   local port, so no public resolver is involved.
 *
 * ```
 *   sklearn-irisv2.staging.platform.example.com      exact record?  no
 *   *.staging.platform.example.com    CNAME ──►  k8s-istiosys-…elb.amazonaws.com
 *   k8s-istiosys-…elb.amazonaws.com   in host map ──► 127.0.0.1:18443
 * ```
 */
import { promises as dnsPromises } from 'node:dns';
import { readFile } from 'node:fs/promises';
import { CanaryFailedError } from '../errors';
import type { HostedZone, RecordSet, Route53Port } from '../ports';

/** The outcome of resolving one host. */
export interface ResolvedAddress {
  /** IP address (or host) to open the TCP connection to. */
  address: string;
  port: number;
  /** Names followed from the queried host to the final name, the host first. */
  chain: string[];
}

export interface Resolver {
  /** Throws {@link CanaryFailedError} of kind `dns` when the host does not resolve. */
  resolve(host: string): Promise<ResolvedAddress>;
}

/** Most CNAME/alias hops followed before giving up (a loop, or a misconfiguration). */
export const MAX_DNS_HOPS = 5;

const HTTPS_PORT = 443;

function normaliseName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

// ------------------------------------------------------------------ system

/** The subset of `node:dns/promises` the system resolver uses (injectable for tests). */
export interface DnsLookupApi {
  lookup(host: string): Promise<{ address: string; family: number }>;
  resolveCname(host: string): Promise<string[]>;
}

/**
 * The operating system's resolver (`getaddrinfo`), port 443. The CNAME chain
 * is collected best-effort with `resolveCname` and only decorates the result.
 */
export class SystemResolver implements Resolver {
  private readonly dns: DnsLookupApi;

  constructor(options: { dns?: DnsLookupApi } = {}) {
    this.dns = options.dns ?? dnsPromises;
  }

  async resolve(host: string): Promise<ResolvedAddress> {
    const name = normaliseName(host);
    let address: string;
    try {
      ({ address } = await this.dns.lookup(name));
    } catch (err) {
      const code = errorCode(err) ?? 'error';
      throw new CanaryFailedError('dns', `${name} does not resolve (${code})`, { cause: err });
    }
    return { address, port: HTTPS_PORT, chain: await this.cnameChain(name) };
  }

  private async cnameChain(name: string): Promise<string[]> {
    const chain = [name];
    let current = name;
    for (let hop = 0; hop < MAX_DNS_HOPS; hop++) {
      let targets: string[];
      try {
        targets = await this.dns.resolveCname(current);
      } catch {
        // ENODATA/ENOTFOUND: the end of the chain (or no CNAME at all). The
        // address already resolved, so the chain is decoration only.
        break;
      }
      const next = targets[0];
      if (next === undefined) break;
      current = normaliseName(next);
      if (chain.includes(current)) break;
      chain.push(current);
    }
    return chain;
  }
}

// ------------------------------------------------------------------ route 53

/** Load-balancer host name → `host:port` (normally `127.0.0.1:<port>`). */
export type HostMap = Record<string, string>;

/**
 * Reads a host map file: a JSON object of `"<alb host>": "127.0.0.1:<port>"`
 * (a `{"hosts": {...}}` wrapper is accepted too). A missing file is an empty
 * map: the load-balancer stand-in has not published anything yet.
 */
export async function readHostMapFile(path: string): Promise<HostMap> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return {};
    throw err;
  }
  const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
  const obj =
    parsed !== null && typeof parsed === 'object' && 'hosts' in parsed && typeof parsed.hosts === 'object'
      ? (parsed.hosts as unknown)
      : parsed;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TypeError(`host map ${path} must be a JSON object of "host": "address:port"`);
  }
  const out: HostMap = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'string') out[normaliseName(k)] = v;
  }
  return out;
}

function parseHostPort(value: string, source: string): { address: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d{1,5}))?$/.exec(value.trim());
  const port = m?.[2] === undefined ? HTTPS_PORT : Number(m[2]);
  if (!m?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CanaryFailedError('dns', `host map entry for ${source} is not "address:port": ${value}`);
  }
  return { address: m[1], port };
}

/** `dualstack.k8s-x.elb.amazonaws.com.` → `k8s-x.elb.amazonaws.com`. */
export function aliasTargetName(dnsName: string): string {
  return normaliseName(dnsName).replace(/^dualstack\./, '');
}

export interface Route53ResolverOptions {
  route53: Route53Port;
  /** The hosted zone holding the records; looked up per host with `findHostedZone` when absent. */
  zoneId?: string;
  /** Path of the host map file; read on every `resolve`, because the testbed rewrites it. */
  hostMapFile?: string;
  /** Alternative to `hostMapFile` (tests). */
  loadHostMap?: () => Promise<HostMap>;
}

/**
 * One read of a zone: its record sets by name, and every name that exists in
 * it (owners of record sets and their ancestors down to the apex, the empty
 * non-terminals RFC 4592 counts as existing).
 */
interface ZoneSnapshot {
  zone: HostedZone;
  byName: Map<string, RecordSet[]>;
  existing: Set<string>;
}

/** The answer types the canary follows, in the order it prefers them. */
const ADDRESS_TYPES = ['CNAME', 'A', 'AAAA'] as const;

/**
 * Resolves through Route 53 records and a host map, for the local testbed.
 *
 * The zone is read once for the life of the resolver (one canary run: the
 * wiring makes a new resolver per run), in one paginated listing
 * (`listZoneRecords`, 300 record sets a page), and every host of the run is
 * answered from that snapshot: concurrent `resolve` calls share the one read.
 * A run of 500 namespaces costs a handful of ListResourceRecordSets calls
 * instead of several per host, which is what DNS costs in AWS: nothing
 * the account is charged or throttled for.
 *
 * At each name: if the host map knows it, that is the answer; otherwise the
 * name is answered as an authoritative server would (RFC 1034 4.3.2,
 * RFC 4592): a name that exists answers with its own CNAME, A or AAAA record
 * (none: no data, no wildcard); a name that does not exist is answered by the
 * wildcard `*.<closest encloser>`, the closest encloser being its longest
 * existing ancestor. A CNAME is followed to its value, an alias A/AAAA to its
 * `dnsName` (without `dualstack.`), a plain A record ends the chain at its
 * first address on 443.
 */
export class Route53Resolver implements Resolver {
  private readonly route53: Route53Port;
  private readonly zoneId: string | undefined;
  private readonly loadHostMap: () => Promise<HostMap>;
  /** Zone lookups and zone snapshots of this run, shared by concurrent resolutions. */
  private readonly zones = new Map<string, Promise<HostedZone>>();
  private readonly snapshots = new Map<string, Promise<ZoneSnapshot>>();

  constructor(options: Route53ResolverOptions) {
    this.route53 = options.route53;
    this.zoneId = options.zoneId?.replace(/^\/hostedzone\//, '');
    const file = options.hostMapFile;
    if (options.loadHostMap) this.loadHostMap = options.loadHostMap;
    else if (file !== undefined) this.loadHostMap = () => readHostMapFile(file);
    else throw new TypeError('Route53Resolver needs hostMapFile or loadHostMap');
  }

  async resolve(host: string): Promise<ResolvedAddress> {
    const start = normaliseName(host);
    let hostMap = await this.loadHostMap();
    const zone = await this.zoneFor(start);
    const chain = [start];
    let current = start;
    for (let hop = 0; hop <= MAX_DNS_HOPS; hop++) {
      // A name the chain reached after a record lookup is resolved as of now, like DNS: the map
      // read before the lookup may predate the record (DNS moved to a new ALB in between).
      if (hop > 0 && hostMap[current] === undefined) hostMap = await this.loadHostMap();
      const mapped = hostMap[current];
      if (mapped !== undefined) return { ...parseHostPort(mapped, current), chain };
      if (hop === MAX_DNS_HOPS) break;
      if (!inZone(current, zone.name)) {
        throw new CanaryFailedError(
          'dns',
          `${start}: ${current} is outside zone ${zone.name} and not a known load balancer (chain ${chain.join(' -> ')})`,
        );
      }
      const answer = lookup(await this.snapshot(zone), current);
      const record = answer.record;
      if (record === undefined) {
        const what = answer.exists
          ? `no CNAME, A or AAAA record for ${current}${current === start ? '' : ` (chain ${chain.join(' -> ')})`}`
          : current === start
            ? `no record for ${start} or *.${parentOf(start)}${answer.wildcard === `*.${parentOf(start)}` ? '' : ` (nor ${answer.wildcard})`}`
            : `no record for ${current} (chain ${chain.join(' -> ')})`;
        throw new CanaryFailedError('dns', `${what} in zone ${zone.name}`);
      }
      let next: string | undefined;
      if (record.type === 'CNAME') next = record.values?.[0];
      else if (record.alias) next = aliasTargetName(record.alias.dnsName);
      else {
        const address = record.values?.[0];
        if (address === undefined) throw new CanaryFailedError('dns', `${record.name} ${record.type} has no value`);
        return { address, port: HTTPS_PORT, chain };
      }
      if (next === undefined || next === '') throw new CanaryFailedError('dns', `${record.name} CNAME has no value`);
      next = normaliseName(next);
      if (chain.includes(next)) throw new CanaryFailedError('dns', `CNAME loop: ${[...chain, next].join(' -> ')}`);
      chain.push(next);
      current = next;
    }
    throw new CanaryFailedError('dns', `more than ${MAX_DNS_HOPS} hops resolving ${start}: ${chain.join(' -> ')}`);
  }

  /** The zone serving `host`: the configured one (read once), or the nearest public zone (once per host). */
  private zoneFor(host: string): Promise<HostedZone> {
    const key = this.zoneId ?? `host:${host}`;
    return this.once(this.zones, key, async () => {
      const zone = this.zoneId === undefined ? await this.route53.findHostedZone(host) : await this.route53.getHostedZone(this.zoneId);
      if (zone === undefined) {
        throw new CanaryFailedError(
          'dns',
          this.zoneId === undefined ? `no hosted zone serves ${host}` : `hosted zone ${this.zoneId} not found`,
        );
      }
      return { ...zone, name: normaliseName(zone.name) };
    });
  }

  /** Every record set of the zone, read once per resolver. */
  private snapshot(zone: HostedZone): Promise<ZoneSnapshot> {
    return this.once(this.snapshots, zone.id, async () => {
      const byName = new Map<string, RecordSet[]>();
      const existing = new Set<string>();
      for (const r of await this.route53.listZoneRecords(zone.id)) {
        const name = normaliseName(r.name);
        byName.set(name, [...(byName.get(name) ?? []), r]);
        // The owner and its ancestors inside the zone exist (empty non-terminals included).
        for (let n = name; inZone(n, zone.name); n = parentOf(n)) {
          if (existing.has(n)) break;
          existing.add(n);
          if (n === zone.name) break;
        }
      }
      return { zone, byName, existing };
    });
  }

  /**
   * Shares one promise per key among concurrent callers; a failed read is
   * forgotten, so a later resolution of the same run tries again.
   */
  private once<T>(cache: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
    let p = cache.get(key);
    if (!p) {
      p = load();
      cache.set(key, p);
      p.catch(() => {
        if (cache.get(key) === p) cache.delete(key);
      });
    }
    return p;
  }
}

/**
 * The zone's answer for `name` from a snapshot: the name's own usable record
 * when the name exists, else the wildcard at its closest encloser's.
 */
function lookup(snapshot: ZoneSnapshot, name: string): { record?: RecordSet; exists: boolean; wildcard: string } {
  const usable = (records: RecordSet[] | undefined): RecordSet | undefined => {
    for (const type of ADDRESS_TYPES) {
      const found = records?.find((r) => r.type === type && (r.alias !== undefined || (r.values?.length ?? 0) > 0));
      if (found) return found;
    }
    return undefined;
  };
  if (snapshot.existing.has(name)) {
    const record = usable(snapshot.byName.get(name));
    return { ...(record ? { record } : {}), exists: true, wildcard: '' };
  }
  // RFC 4592 3.3.1: the closest encloser is the longest existing ancestor; its `*` child answers.
  let encloser = parentOf(name);
  while (encloser !== '' && encloser !== snapshot.zone.name && !snapshot.existing.has(encloser)) encloser = parentOf(encloser);
  const wildcard = `*.${encloser === '' ? snapshot.zone.name : encloser}`;
  const record = usable(snapshot.byName.get(wildcard));
  return { ...(record ? { record } : {}), exists: false, wildcard };
}

function parentOf(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? '' : name.slice(dot + 1);
}

function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

// ------------------------------------------------------------------ choice

/**
 * Which resolver the canary uses (from `KSERVE_EDGE_DNS_MODE` and
 * `KSERVE_EDGE_HOST_MAP_FILE`, validated by `wiring/config.ts`).
 */
export type ResolverSettings = { mode: 'system' } | { mode: 'route53'; hostMapFile: string };

/**
 * The resolver for these settings: {@link SystemResolver}, or
 * {@link Route53Resolver} (testbeds) which needs a Route 53 port.
 *
 * @example
 *   const resolver = resolverFor(config.canary.dns, { route53, zoneId: request.hostedZoneId });
 */
export function resolverFor(settings: ResolverSettings, deps: { route53?: Route53Port; zoneId?: string } = {}): Resolver {
  if (settings.mode !== 'route53') return new SystemResolver();
  if (!deps.route53) throw new TypeError('KSERVE_EDGE_DNS_MODE=route53 needs a Route 53 port');
  return new Route53Resolver({ route53: deps.route53, zoneId: deps.zoneId, hostMapFile: settings.hostMapFile });
}
