/**
 * Issue 11, item 2: ConfigureCluster's half of a bundle swap, against the
 * fakes, with an ALB that deploys the Ingress's list only when the test says
 * so (the load balancer controller's reconcile). At every moment each
 * namespace has an Issued certificate on the ALB; the old bundle is taken off
 * only once the ALB holds the new one, and deleted only once the ALB dropped it.
 */
import { silentLogger } from '../../../shared/log';
import { TAG_SCOPE } from '../../../shared/ownership';
import { ANNOTATION_CERTIFICATE_ARN, certificateNamespaces, ingressRefFor, splitArns } from '../../../shared/plan/cluster';
import type { KubeObject, LoadBalancersPort } from '../../../shared/ports';
import type { ProvisionRequest } from '../../../shared/request';
import { configureCluster } from '../../../shared/steps/configureCluster';
import { ensureCertificates } from '../../../shared/steps/ensureCertificates';
import { upsertDnsRecords } from '../../../shared/steps/upsertDnsRecords';
import { deprovisionNamespace } from '../../../shared/steps/deprovisionNamespace';
import { FakeAcm } from '../../fakes/FakeAcm';
import { FakeKube } from '../../fakes/FakeKube';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { STRONG_TOKEN, validated } from '../../fixtures/requests';
import { albIngressClass, stockConfigDomain } from './fixtures';

const DOMAIN = 'platform.example.com';
const HOST = 'k8s-istiosys-istioing-abc-123.us-west-2.elb.amazonaws.com';

/** Fakes with an ALB that deploys the Ingress's list only on `reconcile` (the controller's reconcile). */
function bed(namespaces: string[] = ['a', 'b', 'c']) {
  const route53 = new InMemoryRoute53({ pendingPolls: 0 });
  const zone = route53.addZone(DOMAIN);
  const acm = new FakeAcm();
  const secrets = new FakeSecrets({ 'kserve-edge/api-tokens': { headerValues: [STRONG_TOKEN] } });
  const kube = new FakeKube([
    { object: stockConfigDomain(), manager: 'kubectl-client-side-apply' },
    { object: albIngressClass(), manager: 'helm' },
    ...namespaces.map((name) => ({ object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as KubeObject })),
  ]);
  // The ALB: it holds what the Ingress said when the test last "reconciled".
  let onAlb: string[] = [];
  const loadBalancers: LoadBalancersPort = {
    findByDnsName: async () => ({ arn: 'lb', dnsName: HOST, scheme: 'internet-facing' }),
    listListeners: async () => [{ arn: 'l443', port: 443, protocol: 'HTTPS' }],
    listListenerCertificates: async () => [...onAlb],
    accountLimits: async () => ({ 'certificates-per-application-load-balancer': 25 }),
  };
  const request = (namespaces: string[]) => validated(zone.id, { namespaces, certificates: { mode: 'bundled', namesPerCertificate: 3 } });
  const deps = { kube, secrets, acm, route53, loadBalancers, log: silentLogger, now: () => new Date('2026-01-01T00:00:00Z') };
  const ingressList = (r: ProvisionRequest) => splitArns(kube.peek(ingressRefFor(r))?.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]);
  const reconcile = (r: ProvisionRequest) => {
    onAlb = ingressList(r);
    kube.setStatus(ingressRefFor(r), { loadBalancer: { ingress: [{ hostname: HOST }] } });
  };
  /** Namespaces with an Issued certificate of ours on the ALB now. */
  const covered = async () => {
    const certs = await acm.listOwnedCertificates('kserve-edge');
    return new Set(certs.filter((c) => c.status === 'ISSUED' && onAlb.includes(c.arn)).flatMap((c) => certificateNamespaces(c, DOMAIN)));
  };
  const ensure = async (r: ProvisionRequest) => {
    const out = await ensureCertificates({ request: r, runId: 'r' }, { acm, loadBalancers, log: silentLogger, now: deps.now });
    return { certificateArns: out.items.map((i) => i.arn), certificateNames: out.items.map((i) => i.names), ownedArns: out.ownedArns };
  };
  const alb = () => [...onAlb];
  return { route53, zone, acm, kube, request, deps, ingressList, reconcile, covered, ensure, alb };
}

describe('configureCluster: bundle swap, make-before-break', () => {
  it('holds the old bundle until the ALB has the new one, takes it off, deletes it once the ALB dropped it', async () => {
    const { route53, acm, request, deps, ingressList, reconcile, covered, ensure } = bed();
    // Run 1: a and b in one bundle.
    const r1 = request(['a', 'b']);
    const c1 = await ensure(r1);
    for (const arn of c1.certificateArns) acm.issue(arn);
    const first = await configureCluster({ request: r1, ...c1 }, deps);
    expect(first.swapping).toBe(false);
    reconcile(r1);
    await upsertDnsRecords({ request: r1, loadBalancer: { hostname: HOST } }, { route53, log: silentLogger, now: deps.now });
    const old = c1.certificateArns[1]!;
    expect([...(await covered())].sort()).toEqual(['a', 'b']);

    // Run 2: c fills the bundle: a new certificate {a, b, c}.
    acm.now = () => new Date('2026-01-01T01:00:00Z');
    const r2 = request(['c']);
    const c2 = await ensure(r2);
    const fresh = c2.certificateArns[1]!;
    expect(fresh).not.toBe(old);
    acm.issue(fresh);

    // Pass 1: both on the Ingress; the ALB has not deployed it yet.
    const p1 = await configureCluster({ request: r2, ...c2 }, deps);
    expect(p1.swapping).toBe(true);
    expect(p1.bundles?.holding).toEqual([{ arn: old, waitingFor: ['a', 'b'] }]);
    expect(ingressList(r2)).toEqual(expect.arrayContaining([old, fresh]));
    expect([...(await covered())].sort()).toEqual(['a', 'b']);

    // The ALB has not taken the list yet: another pass still holds the old one.
    const early = await configureCluster({ request: r2, ...c2 }, deps);
    expect(early.bundles?.holding.map((h) => h.arn)).toEqual([old]);
    expect(ingressList(r2)).toContain(old);

    // The controller deploys both; pass 2 takes the old one off and asks GetLoadBalancerAddress to wait for its drop.
    reconcile(r2);
    const p2 = await configureCluster({ request: r2, ...c2 }, deps);
    expect(ingressList(r2)).not.toContain(old);
    expect(p2.expected?.absent).toEqual([old]);
    expect(p2.bundles?.deleted).toEqual([]);
    expect(p2.swapping).toBe(true);
    expect([...(await covered())].sort()).toEqual(['a', 'b', 'c']);

    // The ALB drops it; pass 3 deletes it and the swap is over.
    reconcile(r2);
    const p3 = await configureCluster({ request: r2, ...c2 }, deps);
    expect(p3.bundles?.deleted).toEqual([old]);
    expect(p3.swapping).toBe(false);
    const left = await acm.listOwnedCertificates('kserve-edge');
    expect(left.map((c) => c.arn)).not.toContain(old);
    expect(left.filter((c) => c.tags[TAG_SCOPE] === 'bundle').map((c) => certificateNamespaces(c, DOMAIN))).toEqual([['a', 'b', 'c']]);
    expect([...(await covered())].sort()).toEqual(['a', 'b', 'c']);
  });

  /** Provisions `runs` in turn (each run's swap carried through), the ALB reconciled after every pass, records written. */
  async function provisioned(b: ReturnType<typeof bed>, runs: string[][]) {
    for (const namespaces of runs) {
      const r = b.request(namespaces);
      const c = await b.ensure(r);
      for (const arn of c.certificateArns) b.acm.issue(arn);
      // The validation CNAMEs, as PublishValidationRecords writes them.
      for (const cert of await b.acm.listOwnedCertificates('kserve-edge'))
        for (const v of cert.validationRecords)
          b.route53.seedRecord(b.zone.id, { name: v.name, type: 'CNAME', ttl: 300, values: [v.value] });
      for (let pass = 0; pass < 5; pass++) {
        const out = await configureCluster({ request: r, ...c }, b.deps);
        b.reconcile(r);
        if (!out.swapping) break;
      }
      await upsertDnsRecords({ request: r, loadBalancer: { hostname: HOST } }, { route53: b.route53, log: silentLogger, now: b.deps.now });
    }
  }
  /** The namespace is deleted from the cluster and deprovisioned (its records and ownership TXT go). */
  async function gone(b: ReturnType<typeof bed>, namespace: string) {
    await b.kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
    const out = await deprovisionNamespace({ request: b.request([namespace]), namespace }, { ...b.deps });
    expect(out.deletedRecords.map((r) => r.type)).toContain('TXT');
  }
  const bundlesOf = async (acm: FakeAcm) =>
    (await acm.listOwnedCertificates('kserve-edge'))
      .filter((c) => c.tags[TAG_SCOPE] === 'bundle')
      .map((c) => ({ arn: c.arn, namespaces: certificateNamespaces(c, DOMAIN), status: c.status }));

  it('release, from a run naming another namespace: the bundle is re-requested without it and swapped; a deleted, not yet deprovisioned namespace keeps its certificate throughout', async () => {
    const b = bed(['a', 'b', 'c', 'd']);
    await provisioned(b, [['a', 'b', 'c'], ['d']]);
    const [abc, d] = await bundlesOf(b.acm);
    expect([abc!.namespaces, d!.namespaces]).toEqual([['a', 'b', 'c'], ['d']]);
    b.acm.now = () => new Date('2026-01-01T02:00:00Z');

    // c is gone and deprovisioned; b is deleted too but its deprovisioning has not run (its TXT is still ours).
    await gone(b, 'c');
    await b.kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'b' });

    // A run for d alone, releasing c: {a, b, c} is re-requested as {a, b}, although neither a nor b is this run's.
    const r = validated(b.zone.id, { namespaces: ['d'], certificates: { mode: 'bundled', namesPerCertificate: 3, release: ['c'] } });
    const c = await b.ensure(r);
    expect(c.certificateNames.slice(1)).toEqual([['*.a.platform.example.com', '*.b.platform.example.com'], ['*.d.platform.example.com']]);
    const ab = c.certificateArns[1]!;
    expect(ab).not.toBe(abc!.arn);

    // Not Issued yet: the old bundle stays, the new one is not attached.
    const pending = await configureCluster({ request: r, ...c }, b.deps);
    expect(b.ingressList(r)).toEqual(expect.arrayContaining([abc!.arn, d!.arn]));
    expect(b.ingressList(r)).not.toContain(ab);
    expect(pending.bundles?.retiring).toEqual([]);
    b.reconcile(r);
    expect([...(await b.covered())].sort()).toEqual(['a', 'b', 'c', 'd']);

    // Issued: beside the old one, which is held for a and b (b is deleted but not released: it keeps its certificate).
    b.acm.issue(ab);
    const p1 = await configureCluster({ request: r, ...c }, b.deps);
    expect(p1.bundles?.holding).toEqual([{ arn: abc!.arn, waitingFor: ['a', 'b'] }]);
    expect(p1.swapping).toBe(true);
    expect(b.ingressList(r)).toEqual(expect.arrayContaining([abc!.arn, ab, d!.arn]));
    expect([...(await b.covered())].sort()).toEqual(['a', 'b', 'c', 'd']);

    b.reconcile(r);
    const p2 = await configureCluster({ request: r, ...c }, b.deps);
    expect(p2.bundles?.retiring).toEqual([abc!.arn]);
    expect(p2.expected?.absent).toEqual([abc!.arn]);
    expect(b.ingressList(r)).not.toContain(abc!.arn);
    b.reconcile(r);
    expect([...(await b.covered())].sort()).toEqual(['a', 'b', 'd']);

    const cnames = () =>
      b.route53
        .allRecords(b.zone.id)
        .filter((x) => x.type === 'CNAME' && x.name.startsWith('_'))
        .map((x) => x.name.split('.')[1])
        .sort();
    expect(cnames()).toEqual(['a', 'b', 'c', 'd', 'platform']);
    const p3 = await configureCluster({ request: r, ...c }, b.deps);
    expect(p3.bundles?.deleted).toEqual([abc!.arn]);
    expect(p3.swapping).toBe(false);
    expect((await bundlesOf(b.acm)).map((x) => x.namespaces).sort()).toEqual([['a', 'b'], ['d']]);
    // The released namespace's validation CNAME went with the certificate; a's and b's validate {a, b}.
    expect(p3.validationRecordsDeleted).toEqual([expect.stringMatching(/^_[0-9a-z]+\.c\.platform\.example\.com\.?$/)]);
    expect(cnames()).toEqual(['a', 'b', 'd', 'platform']);
    expect(b.ingressList(r).slice(1).sort()).toEqual([ab, d!.arn].sort());
  });

  it('release of every namespace of a bundle: nothing is requested, the bundle is taken off and then deleted', async () => {
    const b = bed(['a', 'b', 'c', 'd']);
    await provisioned(b, [['a', 'b', 'c'], ['d']]);
    const [abc, d] = await bundlesOf(b.acm);
    await gone(b, 'd');

    const r = validated(b.zone.id, { namespaces: ['a'], certificates: { mode: 'bundled', namesPerCertificate: 3, release: ['d'] } });
    const c = await b.ensure(r);
    expect(c.certificateArns.slice(1)).toEqual([abc!.arn]);
    expect(b.acm.calls.filter((x) => x.op === 'requestCertificate')).toHaveLength(3); // base, {a,b,c}, {d}: none now

    const p1 = await configureCluster({ request: r, ...c }, b.deps);
    expect(p1.bundles?.retiring).toEqual([d!.arn]);
    expect(p1.bundles?.holding).toEqual([]);
    expect(p1.certificates.find((x) => x.arn === d!.arn)).toMatchObject({
      action: 'remove',
      reason: 'bundle of released namespaces only (d)',
    });
    expect(b.ingressList(r)).toEqual([b.ingressList(r)[0], abc!.arn]);
    expect(p1.swapping).toBe(true);
    b.reconcile(r);
    expect([...(await b.covered())].sort()).toEqual(['a', 'b', 'c']);

    const p2 = await configureCluster({ request: r, ...c }, b.deps);
    expect(p2.bundles?.deleted).toEqual([d!.arn]);
    expect(p2.swapping).toBe(false);
    expect(p2.validationRecordsDeleted).toEqual([expect.stringMatching(/^_[0-9a-z]+\.d\.platform\.example\.com\.?$/)]);
    expect((await bundlesOf(b.acm)).map((x) => x.namespaces)).toEqual([['a', 'b', 'c']]);
  });

  it('without release, a deleted and deprovisioned namespace keeps its name in the bundle (a run never infers a removal)', async () => {
    const b = bed(['a', 'b', 'c']);
    await provisioned(b, [['a', 'b', 'c']]);
    const [abc] = await bundlesOf(b.acm);
    await gone(b, 'c');
    const r = b.request(['a']);
    const c = await b.ensure(r);
    expect(c.certificateArns.slice(1)).toEqual([abc!.arn]);
    const out = await configureCluster({ request: r, ...c }, b.deps);
    expect(out.bundles?.retiring).toEqual([]);
    expect(b.ingressList(r)).toContain(abc!.arn);
  });

  it('a pseudo-random walk of additions and releases through the real steps: every live namespace covered at every moment, nothing left over', async () => {
    const pool = Array.from({ length: 40 }, (_, i) => `ns-${i}`);
    const b = bed(pool);
    let seed = 11;
    const rand = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    const live: string[] = [];
    let next = 0;
    let minute = 0;
    for (let step = 0; step < 24; step++) {
      b.acm.now = () => new Date(Date.UTC(2026, 0, 1, 0, ++minute));
      const releasing = live.length > 1 && rand(3) === 0;
      const name = releasing ? [...live].sort()[rand(live.length)]! : pool[next++]!;
      if (releasing) {
        await gone(b, name);
        live.splice(live.indexOf(name), 1);
      } else live.push(name);
      // Must stay covered throughout: every live namespace except the one being added.
      const kept = live.filter((x) => releasing || x !== name);
      const check = async (moment: string) => {
        const covered = await b.covered();
        const missing = kept.filter((x) => !covered.has(x));
        if (missing.length > 0)
          throw new Error(`step ${step} (${releasing ? 'release' : 'add'} ${name}), ${moment}: ${missing.join(', ')} uncovered`);
      };
      const r = validated(b.zone.id, {
        namespaces: [...live].sort(),
        certificates: { mode: 'bundled', namesPerCertificate: 3, ...(releasing ? { release: [name] } : {}) },
      });
      const c = await b.ensure(r);
      await configureCluster({ request: r, ...c }, b.deps);
      await check('pending, Ingress written');
      b.reconcile(r);
      await check('pending, ALB reconciled');
      for (const arn of c.certificateArns) b.acm.issue(arn);
      let swapping = true;
      for (let pass = 0; pass < 6 && swapping; pass++) {
        swapping = (await configureCluster({ request: r, ...c }, b.deps)).swapping ?? false;
        await check(`pass ${pass}, Ingress written`);
        b.reconcile(r);
        await check(`pass ${pass}, ALB reconciled`);
      }
      expect(swapping).toBe(false);
      await upsertDnsRecords({ request: r, loadBalancer: { hostname: HOST } }, { route53: b.route53, log: silentLogger, now: b.deps.now });
      // Afterwards: the bundles name exactly the live namespaces, each once; the listener holds them and the base only.
      const bundles = await bundlesOf(b.acm);
      expect(bundles.flatMap((x) => x.namespaces).sort()).toEqual([...live].sort());
      expect(b.ingressList(r).slice(1).sort()).toEqual(bundles.map((x) => x.arn).sort());
      expect(b.alb().sort()).toEqual(b.ingressList(r).sort());
    }
    expect(next).toBeGreaterThan(12);
    expect(live.length).toBeLessThan(next);
  });
});
