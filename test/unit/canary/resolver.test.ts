import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessDeniedError, CanaryFailedError } from '../../../shared/errors';
import {
  aliasTargetName,
  MAX_DNS_HOPS,
  readHostMapFile,
  resolverFor,
  Route53Resolver,
  SystemResolver,
  type HostMap,
} from '../../../shared/canary/resolver';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { parseConfig } from '../../../wiring/config';

const ALB = 'k8s-istiosys-istioing-0123456789-1234567890.us-west-2.elb.amazonaws.com';
const HOST = 'sklearn-irisv2.staging.platform.example.com';

async function dnsError(p: Promise<unknown>): Promise<CanaryFailedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CanaryFailedError);
  expect((err as CanaryFailedError).kind).toBe('dns');
  return err as CanaryFailedError;
}

describe('Route53Resolver', () => {
  let route53: InMemoryRoute53;
  let hostMap: HostMap;
  const resolver = (zoneId: string | null = 'Z1') =>
    new Route53Resolver({ route53, ...(zoneId === null ? {} : { zoneId }), loadHostMap: async () => hostMap });

  beforeEach(() => {
    route53 = InMemoryRoute53.withZones([
      { id: 'Z1', name: 'platform.example.com' },
      { id: 'Z2', name: 'example.org' },
    ]);
    hostMap = { [ALB]: '127.0.0.1:18443' };
  });

  it('follows the namespace wildcard CNAME to the load balancer in the host map', async () => {
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', ttl: 300, values: [`${ALB}.`] });
    await expect(resolver().resolve(HOST)).resolves.toEqual({ address: '127.0.0.1', port: 18443, chain: [HOST, ALB] });
    // One zone read answers the run (no per-name listRecords).
    expect(route53.calls.map((c) => c.op)).toEqual(['getHostedZone', 'listZoneRecords']);
  });

  it('reads the zone once for 500 hosts resolved at once, and answers each from that snapshot', async () => {
    // Prepare: 500 namespaces, each a wildcard to one of 20 shard ALBs, and their TXT ownership records.
    const albs = Array.from({ length: 20 }, (_, i) => `k8s-shard-${i}.us-west-2.elb.amazonaws.com`);
    hostMap = Object.fromEntries(albs.map((a, i) => [a, `127.0.0.1:${20000 + i}`]));
    const namespaces = Array.from({ length: 500 }, (_, i) => `ns-${String(i + 1).padStart(3, '0')}`);
    namespaces.forEach((ns, i) => {
      route53.seedRecord('Z1', { name: `*.${ns}.platform.example.com`, type: 'CNAME', ttl: 300, values: [`${albs[i % 20]}.`] });
      route53.seedRecord('Z1', {
        name: `_kserve-edge.${ns}.platform.example.com`,
        type: 'TXT',
        ttl: 300,
        values: ['"heritage=kserve-edge"'],
      });
    });
    const r = resolver();

    // Act
    const answers = await Promise.all(namespaces.map((ns) => r.resolve(`sklearn-irisv2.${ns}.platform.example.com`)));

    // Assess: every host reaches its own shard's port; Route 53 was read twice in all.
    answers.forEach((a, i) =>
      expect(a).toEqual({ address: '127.0.0.1', port: 20000 + (i % 20), chain: [expect.any(String), albs[i % 20]] }),
    );
    expect(route53.calls.map((c) => c.op)).toEqual(['getHostedZone', 'listZoneRecords']);
  });

  it('answers a deeper name from the wildcard at its closest encloser, as DNS does (RFC 4592)', async () => {
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: [ALB] });
    await expect(resolver().resolve(`transformer.${HOST}`)).resolves.toMatchObject({ port: 18443, chain: [`transformer.${HOST}`, ALB] });
    // Without a wildcard one level up, the message names the one the zone would have used too.
    expect((await dnsError(resolver().resolve('m.qa.platform.example.com'))).message).toBe(
      'dns: no record for m.qa.platform.example.com or *.qa.platform.example.com (nor *.platform.example.com) in zone platform.example.com',
    );
  });

  it('does not use the wildcard for a name that exists (no data), nor below an existing name', async () => {
    // Prepare: the host itself has only a TXT record; `deep.staging` exists as an empty non-terminal.
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: [ALB] });
    route53.seedRecord('Z1', { name: HOST, type: 'TXT', values: ['"x"'] });
    route53.seedRecord('Z1', { name: 'a.deep.staging.platform.example.com', type: 'TXT', values: ['"x"'] });
    // Act + Assess
    expect((await dnsError(resolver().resolve(HOST))).message).toBe(
      `dns: no CNAME, A or AAAA record for ${HOST} in zone platform.example.com`,
    );
    expect((await dnsError(resolver().resolve('deep.staging.platform.example.com'))).message).toContain(
      'no CNAME, A or AAAA record for deep.staging.platform.example.com',
    );
    // b.deep.staging does not exist: its closest encloser is deep.staging, which has no wildcard.
    expect((await dnsError(resolver().resolve('b.deep.staging.platform.example.com'))).message).toContain(
      'or *.deep.staging.platform.example.com in zone',
    );
  });

  it('sees records written after the previous run: a new resolver reads the zone again', async () => {
    const before = resolver();
    await dnsError(before.resolve(HOST));
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: [ALB] });
    await expect(resolver().resolve(HOST)).resolves.toMatchObject({ port: 18443 });
    expect(route53.calls.filter((c) => c.op === 'listZoneRecords')).toHaveLength(2);
  });

  it('reads the zone again after a failed read, and propagates the failure', async () => {
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: [ALB] });
    route53.failures.add('listZoneRecords', new AccessDeniedError('not allowed to route53:ListResourceRecordSets'));
    const r = resolver();
    await expect(r.resolve(HOST)).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(r.resolve(HOST)).resolves.toMatchObject({ port: 18443 });
    expect(route53.calls.filter((c) => c.op === 'listZoneRecords')).toHaveLength(2);
  });

  it('prefers the exact record over the wildcard', async () => {
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: ['nowhere.example.com'] });
    route53.seedRecord('Z1', { name: HOST, type: 'CNAME', values: [ALB] });
    await expect(resolver().resolve(HOST)).resolves.toMatchObject({ port: 18443 });
  });

  it('follows an alias A record, without dualstack. and the trailing dot', async () => {
    route53.seedRecord('Z1', {
      name: '*.staging.platform.example.com',
      type: 'A',
      alias: { hostedZoneId: 'Z35SXDOTRQ7X7K', dnsName: `dualstack.${ALB}.`, evaluateTargetHealth: true },
    });
    await expect(resolver().resolve(HOST)).resolves.toMatchObject({ port: 18443, chain: [HOST, ALB] });
    expect(aliasTargetName('DualStack.X.Example.COM.')).toBe('x.example.com');
  });

  it('follows a chain of CNAMEs inside the zone and finds the zone itself when no id is given', async () => {
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: ['lb.platform.example.com'] });
    route53.seedRecord('Z1', { name: 'lb.platform.example.com', type: 'CNAME', values: [ALB] });
    await expect(resolver(null).resolve(HOST)).resolves.toEqual({
      address: '127.0.0.1',
      port: 18443,
      chain: [HOST, 'lb.platform.example.com', ALB],
    });
  });

  it('ends at a plain A record on port 443', async () => {
    route53.seedRecord('Z1', { name: HOST, type: 'A', values: ['10.0.0.7'] });
    await expect(resolver().resolve(HOST)).resolves.toEqual({ address: '10.0.0.7', port: 443, chain: [HOST] });
  });

  it('ignores records of other types (TXT ownership records)', async () => {
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'TXT', values: ['"heritage=kserve-edge"'] });
    const err = await dnsError(resolver().resolve(HOST));
    expect(err.message).toBe(`dns: no record for ${HOST} or *.staging.platform.example.com in zone platform.example.com`);
  });

  it('fails as dns when the target is neither in the zone nor in the host map', async () => {
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: [ALB] });
    hostMap = {};
    const err = await dnsError(resolver().resolve(HOST));
    expect(err.message).toContain(`${ALB} is outside zone platform.example.com and not a known load balancer`);
  });

  it('resolves a load balancer the host map learnt while the record was being read (DNS as of the hop)', async () => {
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: [ALB] });
    const maps: HostMap[] = [{}, { [ALB]: '127.0.0.1:18443' }];
    const reads: number[] = [];
    const r = new Route53Resolver({
      route53,
      zoneId: 'Z1',
      loadHostMap: async () => (reads.push(1), maps[Math.min(reads.length - 1, 1)]!),
    });
    await expect(r.resolve(HOST)).resolves.toEqual({ address: '127.0.0.1', port: 18443, chain: [HOST, ALB] });
    expect(reads).toHaveLength(2);
  });

  it('fails as dns on a CNAME loop and after too many hops', async () => {
    route53.seedRecord('Z1', { name: 'a.platform.example.com', type: 'CNAME', values: ['b.platform.example.com'] });
    route53.seedRecord('Z1', { name: 'b.platform.example.com', type: 'CNAME', values: ['a.platform.example.com'] });
    expect((await dnsError(resolver().resolve('a.platform.example.com'))).message).toContain('CNAME loop');
    for (let i = 0; i <= MAX_DNS_HOPS + 1; i++) {
      route53.seedRecord('Z1', { name: `h${i}.platform.example.com`, type: 'CNAME', values: [`h${i + 1}.platform.example.com`] });
    }
    expect((await dnsError(resolver().resolve('h0.platform.example.com'))).message).toContain(`more than ${MAX_DNS_HOPS} hops`);
  });

  it('fails as dns when the zone does not exist', async () => {
    expect((await dnsError(resolver('ZNOPE').resolve(HOST))).message).toContain('hosted zone ZNOPE not found');
    expect((await dnsError(resolver(null).resolve('x.example.net'))).message).toContain('no hosted zone serves x.example.net');
  });

  it('re-reads the host map file on every resolution', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'kserve-edge-hostmap-'));
    const file = join(dir, 'hosts.json');
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: [ALB] });
    const r = new Route53Resolver({ route53, zoneId: '/hostedzone/Z1', hostMapFile: file });
    try {
      // Act + Assess: no file yet → the name is unknown
      await dnsError(r.resolve(HOST));
      writeFileSync(file, JSON.stringify({ [ALB.toUpperCase()]: '127.0.0.1:20001' }));
      await expect(r.resolve(HOST)).resolves.toMatchObject({ port: 20001 });
      writeFileSync(file, JSON.stringify({ hosts: { [ALB]: '127.0.0.1:20002' } }));
      await expect(r.resolve(HOST)).resolves.toMatchObject({ port: 20002 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a host map entry that is not address:port', async () => {
    route53.seedRecord('Z1', { name: '*.staging.platform.example.com', type: 'CNAME', values: [ALB] });
    hostMap = { [ALB]: '127.0.0.1:99999' };
    expect((await dnsError(resolver().resolve(HOST))).message).toContain('not "address:port"');
  });
});

describe('readHostMapFile', () => {
  it('rejects JSON that is not an object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kserve-edge-hostmap-'));
    try {
      writeFileSync(join(dir, 'a.json'), '[1]');
      await expect(readHostMapFile(join(dir, 'a.json'))).rejects.toThrow(TypeError);
      writeFileSync(join(dir, 'b.json'), '');
      await expect(readHostMapFile(join(dir, 'b.json'))).resolves.toEqual({});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SystemResolver', () => {
  it('resolves with lookup and decorates with the CNAME chain', async () => {
    const cnames: Record<string, string[]> = { [HOST]: [`${ALB}.`] };
    const r = new SystemResolver({
      dns: {
        lookup: async () => ({ address: '192.0.2.10', family: 4 }),
        resolveCname: async (h) => {
          const v = cnames[h];
          if (!v) throw Object.assign(new Error('ENODATA'), { code: 'ENODATA' });
          return v;
        },
      },
    });
    await expect(r.resolve(HOST)).resolves.toEqual({ address: '192.0.2.10', port: 443, chain: [HOST, ALB] });
  });

  it('fails as dns when lookup fails', async () => {
    const r = new SystemResolver({
      dns: {
        lookup: async () => {
          throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
        },
        resolveCname: async () => [],
      },
    });
    expect((await dnsError(r.resolve(HOST))).message).toBe(`dns: ${HOST} does not resolve (ENOTFOUND)`);
  });

  it('uses the real system resolver by default', async () => {
    await expect(new SystemResolver().resolve('localhost')).resolves.toMatchObject({ port: 443, chain: ['localhost'] });
  });
});

describe('resolverFor (KSERVE_EDGE_DNS_MODE, KSERVE_EDGE_HOST_MAP_FILE)', () => {
  const route53 = InMemoryRoute53.withZones([]);
  /** The resolver the configuration of `env` chooses. */
  const resolverFromEnv = (env: Record<string, string>, deps?: Parameters<typeof resolverFor>[1]) =>
    resolverFor(parseConfig(env).canary.dns, deps);

  it('picks the system resolver by default', () => {
    expect(resolverFromEnv({})).toBeInstanceOf(SystemResolver);
    expect(resolverFromEnv({ KSERVE_EDGE_DNS_MODE: 'system' }, { route53 })).toBeInstanceOf(SystemResolver);
  });

  it('picks Route 53 + host map in route53 mode', () => {
    expect(
      resolverFromEnv({ KSERVE_EDGE_DNS_MODE: 'route53', KSERVE_EDGE_HOST_MAP_FILE: '/tmp/x.json' }, { route53, zoneId: 'Z1' }),
    ).toBeInstanceOf(Route53Resolver);
  });

  it('needs the host map file and a Route 53 port in route53 mode', () => {
    expect(() => resolverFromEnv({ KSERVE_EDGE_DNS_MODE: 'route53' }, { route53 })).toThrow('KSERVE_EDGE_HOST_MAP_FILE is required');
    expect(() => resolverFromEnv({ KSERVE_EDGE_DNS_MODE: 'route53', KSERVE_EDGE_HOST_MAP_FILE: '/tmp/x.json' })).toThrow('Route 53 port');
  });
});
