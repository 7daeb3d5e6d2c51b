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
import { FakeAcm } from '../../fakes/FakeAcm';
import { FakeKube } from '../../fakes/FakeKube';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { STRONG_TOKEN, validated } from '../../fixtures/requests';
import { albIngressClass, stockConfigDomain } from './fixtures';

const DOMAIN = 'platform.example.com';
const HOST = 'k8s-istiosys-istioing-abc-123.us-west-2.elb.amazonaws.com';

describe('configureCluster: bundle swap, make-before-break', () => {
  it('holds the old bundle until the ALB has the new one, takes it off, deletes it once the ALB dropped it', async () => {
    const route53 = new InMemoryRoute53({ pendingPolls: 0 });
    const zone = route53.addZone(DOMAIN);
    const acm = new FakeAcm();
    const secrets = new FakeSecrets({ 'kserve-edge/api-tokens': { headerValues: [STRONG_TOKEN] } });
    const kube = new FakeKube([
      { object: stockConfigDomain(), manager: 'kubectl-client-side-apply' },
      { object: albIngressClass(), manager: 'helm' },
      ...['a', 'b', 'c'].map((name) => ({ object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as KubeObject })),
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
});
