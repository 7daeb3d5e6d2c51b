/**
 * Coexistence with external-dns: the real external-dns (TXT registry, another
 * owner id, `--policy=sync`, sources service + ingress, domain filter = the
 * zone) runs against the same moto zone and the same kube-apiserver as the
 * workflow (`testbed/external-dns.ts`).
 *
 * - it keeps its own records, each with its TXT registry record
 *   (`cname-<name>`, `"heritage=external-dns,external-dns/owner=…,external-dns/resource=…"`);
 * - beside our provisioning, several of its sync loops leave every record it
 *   does not own byte for byte as it was: our `*.<ns>` records, our ownership
 *   TXTs (heritage kserve-edge, which its parser refuses) and the ACM
 *   validation records; our ALB Ingress gives it no endpoint (no host in its rules);
 * - a namespace whose `*.<ns>` name external-dns holds is refused
 *   (RecordOwnedByAnother) and left untouched;
 * - `"adopt": true` takes the record, but external-dns's TXT still claims it, so
 *   its next loop writes its own target back; the hand-over that works is to
 *   drop the name from external-dns's sources (it deletes its record and TXT)
 *   and then provision.
 */
import { readFileSync } from 'node:fs';
import { ListResourceRecordSetsCommand, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { ownershipOf, recordsNamed } from '../../shared/plan/records';
import { parseOwnershipValue } from '../../shared/ownership';
import type { RecordSet } from '../../shared/ports';
import { HOSTNAME_ANNOTATION, TARGET_ANNOTATION } from '../../testbed/external-dns';
import { waitFor } from '../../testbed/lib/net';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { failureOf, records, type RecordSnapshot, writeFigures } from './reliability';
import { provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const OWNER = 'external-dns-cluster-b';
/** Hosts external-dns is asked for (by a Service and an Ingress in `default`). */
const SHOP = `shop.${DOMAIN}`;
const WEB = `web.${DOMAIN}`;
/** A namespace's wildcard name, held by external-dns before we are asked for it. */
const HELD_NS = 'xdns-held';
const HELD = `*.${HELD_NS}.${DOMAIN}`;
const MANAGED_TYPES = ['A', 'AAAA', 'CNAME', 'TXT'];

describe('coexistence with the real external-dns in the same hosted zone', () => {
  let tb: Testbed;
  const figures: Record<string, number | string> = {};

  const request = (namespace: string, extra: Record<string, unknown> = {}) => ({
    domain: DOMAIN,
    cluster: { name: 'kubeflow', region: REGION },
    namespaces: [namespace],
    auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
    ...extra,
  });

  /** Every record set of the zone exactly as Route 53 returns it, one JSON string each, sorted. */
  const rawZone = async (): Promise<Array<{ name: string; json: string }>> => {
    const out: ResourceRecordSet[] = [];
    let start: { name?: string; type?: string } = {};
    for (;;) {
      const page = await tb.aws.route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: tb.hostedZoneId,
          ...(start.name ? { StartRecordName: start.name } : {}),
          ...(start.type ? { StartRecordType: start.type as never } : {}),
        }),
      );
      out.push(...(page.ResourceRecordSets ?? []));
      if (!page.IsTruncated || !page.NextRecordName) break;
      start = { name: page.NextRecordName, ...(page.NextRecordType ? { type: page.NextRecordType } : {}) };
    }
    return out
      .map((r) => ({ name: (r.Name ?? '').replace(/\\052/g, '*').replace(/\.$/, ''), json: JSON.stringify(r) }))
      .sort((a, b) => a.json.localeCompare(b.json));
  };

  /** Names external-dns writes for `hosts`: each host and its TXT registry record `cname-<host>`. */
  const externalDnsNames = (...hosts: string[]): Set<string> => new Set(hosts.flatMap((h) => [h, `cname-${h}`]));

  const recordsAt = async (name: string): Promise<RecordSnapshot[]> =>
    (await records(tb.aws.route53, tb.hostedZoneId)).filter((r) => r.name === name);

  const waitForRecord = (name: string, type: string, value: string) =>
    waitFor(async () => (await recordsAt(name)).find((r) => r.type === type && r.values.includes(value)), {
      what: `${type} ${name} ${value}`,
      timeoutMs: 60_000,
      intervalMs: 250,
      proc: tb.externalDns!.proc,
    });

  const externalNameService = (name: string, hostname: string, externalName: string) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', annotations: { [HOSTNAME_ANNOTATION]: hostname } },
    spec: { type: 'ExternalName', externalName },
  });

  beforeAll(async () => {
    tb = await startTestbed({
      authProvider: 'cognito',
      domain: DOMAIN,
      namespaces: ['team-a', HELD_NS],
      clusterName: 'kubeflow',
      region: REGION,
      // TXT among its managed types (default A, AAAA, CNAME), the stricter case: it then reads our ownership TXTs
      // as records to reconcile, not only as candidate registry entries.
      externalDns: { ownerId: OWNER, policy: 'sync', interval: '2s', extraArgs: MANAGED_TYPES.map((t) => `--managed-record-types=${t}`) },
    });
  }, 300_000);

  afterAll(async () => {
    writeFigures('external-dns', figures);
    await tb?.stop();
  }, 60_000);

  it('external-dns keeps its own records in the zone, each with its TXT registry record, which our parser calls foreign', async () => {
    const kube = tb.kubeAdmin();
    // Another ingress controller's class (ingress-nginx's, as its chart creates it): the load balancer controller's webhook
    // refuses an Ingress whose class does not exist, and ignores one whose class is not its own.
    await kube.apply(
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'nginx' },
        spec: { controller: 'k8s.io/ingress-nginx' },
      },
      { fieldManager: 'kubectl', force: true },
    );
    await kube.create(externalNameService('shop', SHOP, 'shop.backend.example.net'), 'kubectl');
    // An Ingress of another class (no controller here; the target annotation stands in for its status).
    await kube.create(
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'web', namespace: 'default', annotations: { [TARGET_ANNOTATION]: 'web-lb.example.net' } },
        spec: {
          ingressClassName: 'nginx',
          rules: [
            {
              host: WEB,
              http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] },
            },
          ],
        },
      },
      'kubectl',
    );
    await waitForRecord(SHOP, 'CNAME', 'shop.backend.example.net');
    await waitForRecord(WEB, 'CNAME', 'web-lb.example.net');
    await tb.externalDns!.waitForSyncs(1);

    const txtShop = await recordsAt(`cname-${SHOP}`);
    const txtWeb = await recordsAt(`cname-${WEB}`);
    expect(txtShop).toEqual([
      {
        name: `cname-${SHOP}`,
        type: 'TXT',
        ttl: 300,
        values: [`"heritage=external-dns,external-dns/owner=${OWNER},external-dns/resource=service/default/shop"`],
      },
    ]);
    expect(txtWeb).toEqual([
      {
        name: `cname-${WEB}`,
        type: 'TXT',
        ttl: 300,
        values: [`"heritage=external-dns,external-dns/owner=${OWNER},external-dns/resource=ingress/default/web"`],
      },
    ]);
    figures.externalDnsTxtExample = txtShop[0]!.values[0]!;

    // Our parser, given the TXT values external-dns wrote: not ours, not none.
    for (const txt of [...txtShop, ...txtWeb]) {
      const set: RecordSet = { name: txt.name, type: 'TXT', ttl: txt.ttl!, values: txt.values };
      expect(parseOwnershipValue(txt.values[0]!)).toEqual({ heritage: 'external-dns' });
      expect(ownershipOf([set], 'kserve-edge')).toBe('foreign');
      // Even an owner id equal to external-dns's is not ours: the heritage differs.
      expect(ownershipOf([set], OWNER)).toBe('foreign');
    }
  }, 120_000);

  it('beside our provisioning, its sync loops (policy sync) change nothing it does not own, byte for byte', async () => {
    const result = await provisionWith(tb.env, request('team-a'), 'xdns-team-a');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    const alb = (result.output as { loadBalancer: { hostname: string } }).loadBalancer.hostname;
    const theirs = externalDnsNames(SHOP, WEB);
    const notTheirs = async () => (await rawZone()).filter((r) => !theirs.has(r.name));

    const before = await notTheirs();
    // Ours are among them: the record, its ownership TXT (and the ACM validation records).
    const ourNames = [`*.team-a.${DOMAIN}`, `_kserve-edge.team-a.${DOMAIN}`];
    const ours = (await records(tb.aws.route53, tb.hostedZoneId))
      .filter((r) => ourNames.includes(r.name))
      .sort((a, b) => ourNames.indexOf(a.name) - ourNames.indexOf(b.name));
    expect(ours).toEqual([
      { name: `*.team-a.${DOMAIN}`, type: 'CNAME', ttl: 300, values: [alb] },
      {
        name: `_kserve-edge.team-a.${DOMAIN}`,
        type: 'TXT',
        ttl: 300,
        values: [`"heritage=kserve-edge,kserve-edge/owner=kserve-edge,kserve-edge/resource=*.team-a.${DOMAIN}"`],
      },
    ]);
    const changesBefore = tb.externalDns!.changes().length;

    const loops = 3;
    await tb.externalDns!.waitForSyncs(loops);

    expect(await notTheirs()).toEqual(before);
    // It submitted nothing in those loops, and never anything for a name that is not its own.
    expect(tb.externalDns!.changes().slice(changesBefore)).toEqual([]);
    expect(tb.externalDns!.changes().filter((c) => !theirs.has(c.name))).toEqual([]);
    expect(tb.externalDns!.errors()).toEqual([]);
    // Our ALB Ingress is an Ingress its source reads: no host in its rules, no hostname annotation, so no endpoint.
    const ingress = await tb.kubeAdmin().get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api');
    expect((ingress?.status as { loadBalancer?: { ingress?: Array<{ hostname?: string }> } })?.loadBalancer?.ingress?.[0]?.hostname).toBe(
      alb,
    );
    const log = readFileSync(tb.externalDns!.logFile, 'utf8');
    expect(log).toContain("No endpoints could be generated from 'ingress/istio-system/istio-ingress-api'");
    // It saw our record and our ownership TXT, and left both because they carry no owner label of its own
    // (endpoint.FilterEndpointsByOwnerID: our TXT's heritage is not external-dns, so it gives no labels).
    for (const name of ourNames) {
      expect(log).toMatch(new RegExp(`Skipping endpoint ${name.replace(/[.*]/g, '\\$&')} [^\\n]*because of missing owner label`));
    }
    figures.syncLoopsBesideUs = loops;
    figures.recordsNotTheirsUnchanged = before.length;
  }, 300_000);

  it('a namespace whose record name external-dns holds: RecordOwnedByAnother; its record and TXT are untouched', async () => {
    await tb.kubeAdmin().create(externalNameService('held', HELD, 'held.backend.example.net'), 'kubectl');
    await waitForRecord(HELD, 'CNAME', 'held.backend.example.net');
    await waitForRecord(
      `cname-${HELD}`,
      'TXT',
      `"heritage=external-dns,external-dns/owner=${OWNER},external-dns/resource=service/default/held"`,
    );
    await tb.externalDns!.waitForSyncs(1);

    const before = await rawZone();
    const result = await provisionWith(tb.env, request(HELD_NS), 'xdns-held-1');
    expect(failureOf(result)).toMatchObject({ failState: 'RecordOwnedByAnother' });
    expect(failureOf(result).message).toMatch(
      /refusing to change \*\.xdns-held\.platform\.example\.com: it exists \(CNAME\) without an ownership record/,
    );
    // Its record and TXT byte for byte; no ownership TXT of ours. The run got as far as the certificate, so
    // the only records added are its ACM validation CNAMEs (`_<hash>.<name>`), which are ours to write.
    const after = await rawZone();
    const held = (z: typeof after) => z.filter((r) => r.name === HELD || r.name === `cname-${HELD}`);
    expect(held(after)).toEqual(held(before));
    expect(held(after)).toHaveLength(2);
    expect(after.filter((r) => r.name === `_kserve-edge.${HELD_NS}.${DOMAIN}`)).toEqual([]);
    const added = after.filter((r) => !before.some((b) => b.json === r.json));
    expect(after.filter((r) => before.some((b) => b.json === r.json))).toEqual(before);
    expect(added.every((r) => /^_[0-9a-f]{32}\./.test(r.name) && JSON.parse(r.json).Type === 'CNAME')).toBe(true);
  }, 300_000);

  it('"adopt": true takes it over, but external-dns still owns it by its TXT: its next loop writes its own target back', async () => {
    // external-dns is frozen (SIGSTOP) during the run, so what our run wrote can be seen before its next loop.
    const pid = tb.externalDns!.proc.pid;
    process.kill(pid, 'SIGSTOP');
    let result: Awaited<ReturnType<typeof provisionWith>>;
    let zone: RecordSnapshot[];
    try {
      result = await provisionWith(tb.env, request(HELD_NS, { adopt: true }), 'xdns-held-adopt');
      zone = await records(tb.aws.route53, tb.hostedZoneId);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    const alb = (result.output as { loadBalancer: { hostname: string } }).loadBalancer.hostname;
    const ourTxt = `"heritage=kserve-edge,kserve-edge/owner=kserve-edge,kserve-edge/resource=${HELD}"`;
    const theirTxt = `"heritage=external-dns,external-dns/owner=${OWNER},external-dns/resource=service/default/held"`;

    // Right after the run the record is ours, and both ownership records exist side by side.
    const txtOf = (name: string): RecordSet[] =>
      recordsNamed(
        zone.map((r) => ({ name: r.name, type: r.type, ttl: r.ttl ?? 0, values: r.values })),
        name,
      );
    expect(txtOf(`_kserve-edge.${HELD_NS}.${DOMAIN}`).map((r) => r.values)).toEqual([[ourTxt]]);
    expect(txtOf(`cname-${HELD}`).map((r) => r.values)).toEqual([[theirTxt]]);
    const afterAdopt = zone.find((r) => r.name === HELD && r.type === 'CNAME');

    // external-dns's next loop: the name is still desired by its Service and owned by its TXT.
    await tb.externalDns!.waitForSyncs(1);
    const held = await recordsAt(HELD);
    figures.afterAdoptRecord = afterAdopt?.values.join(',') ?? '';
    figures.afterExternalDnsLoop = held.map((r) => r.values.join(',')).join(';');
    expect(afterAdopt?.values).toEqual([alb]);
    expect(held).toEqual([{ name: HELD, type: 'CNAME', ttl: 300, values: ['held.backend.example.net'] }]);
    expect(tb.externalDns!.changes().some((c) => c.name === HELD && c.type === 'CNAME' && c.action === 'UPSERT')).toBe(true);
    // Our ownership TXT is still there: external-dns does not touch a TXT whose heritage is not its own.
    expect((await recordsAt(`_kserve-edge.${HELD_NS}.${DOMAIN}`)).map((r) => r.values)).toEqual([[ourTxt]]);
  }, 300_000);

  it('the hand-over that works: drop the name from external-dns’s sources, then provision; later loops leave ours alone', async () => {
    await tb.kubeAdmin().delete({ apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'held' });
    // policy sync: it deletes the record it owns and its TXT.
    await waitFor(async () => (await recordsAt(HELD)).length === 0 && (await recordsAt(`cname-${HELD}`)).length === 0, {
      what: `external-dns deleting ${HELD} and its TXT`,
      timeoutMs: 60_000,
      intervalMs: 250,
      proc: tb.externalDns!.proc,
    });
    expect(
      tb
        .externalDns!.changes()
        .filter((c) => c.action === 'DELETE')
        .map((c) => `${c.name} ${c.type}`)
        .sort(),
    ).toEqual([`*.${HELD_NS}.${DOMAIN} CNAME`, `cname-*.${HELD_NS}.${DOMAIN} TXT`]);

    // Our ownership TXT (left by the adopting run) makes the name ours again: no adopt needed.
    const result = await provisionWith(tb.env, request(HELD_NS), 'xdns-held-2');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    const alb = (result.output as { loadBalancer: { hostname: string } }).loadBalancer.hostname;
    expect(await recordsAt(HELD)).toEqual([{ name: HELD, type: 'CNAME', ttl: 300, values: [alb] }]);

    const theirs = externalDnsNames(SHOP, WEB);
    const before = (await rawZone()).filter((r) => !theirs.has(r.name));
    const changesBefore = tb.externalDns!.changes().length;
    await tb.externalDns!.waitForSyncs(2);
    expect((await rawZone()).filter((r) => !theirs.has(r.name))).toEqual(before);
    expect(tb.externalDns!.changes().slice(changesBefore)).toEqual([]);
  }, 300_000);
});
