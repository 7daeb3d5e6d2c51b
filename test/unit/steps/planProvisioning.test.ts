/**
 * planProvisioning (what `kserve-edge plan` prints) against the in-memory
 * fakes: it writes nothing, shows no secret, reports refusals instead of
 * throwing, and after the steps have applied it, plans no change.
 */
import { clearSecrets, silentLogger } from '../../../shared/log';
import { configureCluster } from '../../../shared/steps/configureCluster';
import { ensureCertificates } from '../../../shared/steps/ensureCertificates';
import { planProvisioning } from '../../../shared/steps/planProvisioning';
import { publishValidationRecords } from '../../../shared/steps/publishValidationRecords';
import { upsertDnsRecords } from '../../../shared/steps/upsertDnsRecords';
import { ingressRefFor } from '../../../shared/plan/cluster';
import { FakeAcm } from '../../fakes/FakeAcm';
import { FakeKube } from '../../fakes/FakeKube';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { STRONG_TOKEN, validated } from '../../fixtures/requests';
import { albIngressClass, kubeflowIngress, stockConfigDomain } from '../k8s/fixtures';

const ALB = 'k8s-istiosys-istioing-0123456789-1234567890.us-west-2.elb.amazonaws.com';
const NOW = () => new Date('2026-01-01T00:00:00Z');

function world() {
  const route53 = new InMemoryRoute53();
  const zone = route53.addZone('platform.example.com');
  const acm = new FakeAcm();
  const secrets = new FakeSecrets({ 'kserve-edge/api-tokens': { headerValues: [STRONG_TOKEN] } });
  const kube = new FakeKube([
    { object: stockConfigDomain(), manager: 'kubectl-client-side-apply' },
    { object: albIngressClass(), manager: 'helm' },
  ]);
  const request = validated(zone.id);
  return { route53, zone, acm, secrets, kube, request, deps: { route53, acm, secrets, kube } };
}

afterEach(() => clearSecrets());

describe('planProvisioning', () => {
  it('on a fresh account and cluster: requests every certificate, writes the four objects, creates every record; writes nothing', async () => {
    const w = world();
    const report = await planProvisioning(w.request, w.deps);

    expect(report.certificates.map((c) => [c.scope, c.action])).toEqual([
      ['base', 'request'],
      ['namespace:staging', 'request'],
      ['namespace:prod', 'request'],
    ]);
    expect(report.validationRecords).toEqual([]);
    expect(report.cluster).toEqual([
      expect.objectContaining({ action: 'patch', kind: 'ConfigMap', name: 'config-domain' }),
      expect.objectContaining({ action: 'apply', kind: 'AuthorizationPolicy', name: 'allow-predictor' }),
      expect.objectContaining({ action: 'apply', kind: 'AuthorizationPolicy', name: 'allow-transformer' }),
      expect.objectContaining({ action: 'apply', kind: 'Ingress', name: 'istio-ingress-api' }),
    ]);
    expect(report.loadBalancer).toBeNull();
    expect(report.dns).toEqual([
      { name: '*.staging.platform.example.com', action: 'create', changes: 2 },
      { name: '*.prod.platform.example.com', action: 'create', changes: 2 },
    ]);

    expect(w.kube.writes).toBe(0);
    expect(w.acm.calls.filter((c) => c.op !== 'listOwnedCertificates' && c.op !== 'describeCertificate')).toEqual([]);
    expect(w.route53.batches).toEqual([]);
    // The header value is read (to plan the Ingress) but never shown.
    expect(JSON.stringify(report)).not.toContain(STRONG_TOKEN);
  });

  it('after the steps applied it, plans no change', async () => {
    const w = world();
    const certificates = await ensureCertificates({ request: w.request, runId: 'r' }, { acm: w.acm, log: silentLogger, now: NOW });
    await configureCluster(
      { request: w.request, certificateArns: certificates.items.map((i) => i.arn), ownedArns: certificates.ownedArns },
      { kube: w.kube, secrets: w.secrets, acm: w.acm, route53: w.route53, log: silentLogger, now: NOW },
    );
    w.kube.setStatus(ingressRefFor(w.request), { loadBalancer: { ingress: [{ hostname: ALB }] } });
    await upsertDnsRecords({ request: w.request, loadBalancer: { hostname: ALB } }, { route53: w.route53, log: silentLogger, now: NOW });

    const report = await planProvisioning(w.request, w.deps);
    expect(report.certificates.map((c) => [c.action, c.arn])).toEqual(certificates.items.map((i) => ['reuse', i.arn]));
    expect(Array.isArray(report.cluster) && report.cluster.map((a) => a.action)).toEqual(['none', 'none', 'none', 'none']);
    expect(report.loadBalancer).toBe(ALB);
    expect(Array.isArray(report.dns) && report.dns.map((d) => d.action)).toEqual(['none', 'none']);
  });

  it("plans the reused certificates' validation CNAMEs the zone lacks, and none once published", async () => {
    const w = world();
    await ensureCertificates({ request: w.request, runId: 'r' }, { acm: w.acm, log: silentLogger, now: NOW });
    const before = await planProvisioning(w.request, w.deps);
    await publishValidationRecords(
      {
        request: w.request,
        certificates: await ensureCertificates({ request: w.request, runId: 'r2' }, { acm: w.acm, log: silentLogger, now: NOW }),
      },
      { acm: w.acm, route53: w.route53, log: silentLogger },
    );
    const after = await planProvisioning(w.request, w.deps);
    expect(before.validationRecords.length).toBeGreaterThan(0);
    expect(before.validationRecords.every((v) => v.action === 'upsert')).toBe(true);
    expect(after.validationRecords.map((v) => [v.name, v.action])).toEqual(before.validationRecords.map((v) => [v.name, 'none']));
  });

  it('reports what a run would refuse instead of throwing', async () => {
    const w = world();
    // A hand-made Cognito Ingress and a record that is not ours.
    w.kube.seed({ ...kubeflowIngress(), metadata: { ...kubeflowIngress().metadata, name: 'istio-ingress-api' } });
    w.route53.seedRecord(w.zone.id, { name: '*.prod.platform.example.com', type: 'CNAME', ttl: 300, values: ['elsewhere.example.net'] });

    const report = await planProvisioning(w.request, w.deps);
    expect(report.cluster).toEqual({ refused: expect.stringMatching(/^ObjectOwnedByAnother: /) });
    expect(report.dns).toEqual({ refused: expect.stringMatching(/^RecordOwnedByAnother: .*\*\.prod\.platform\.example\.com/) });
    expect(w.kube.writes).toBe(0);
  });

  it('lets an error that is not a refusal through', async () => {
    const w = world();
    w.kube.unreachable = true;
    await expect(planProvisioning(w.request, w.deps)).rejects.toMatchObject({ name: 'ClusterUnreachable' });
  });
  it('JWT migration: the plan shows the transition, then the header rule and the old load balancer detached', async () => {
    const w = world();
    const certificates = await ensureCertificates({ request: w.request, runId: 'r' }, { acm: w.acm, log: silentLogger, now: NOW });
    const configure = (request: typeof w.request) =>
      configureCluster(
        { request, certificateArns: certificates.items.map((i) => i.arn), ownedArns: certificates.ownedArns },
        { kube: w.kube, secrets: w.secrets, acm: w.acm, route53: w.route53, log: silentLogger, now: NOW },
      );
    await configure(w.request);
    w.kube.setStatus(ingressRefFor(w.request), { loadBalancer: { ingress: [{ hostname: ALB }] } });
    await upsertDnsRecords({ request: w.request, loadBalancer: { hostname: ALB } }, { route53: w.route53, log: silentLogger, now: NOW });

    const jwt = (transition: boolean) => ({
      ...w.request,
      auth: {
        provider: 'jwt' as const,
        issuer: 'https://issuer.example.com',
        jwksEndpoint: 'https://issuer.example.com/keys',
        claims: [],
        canary: { clientSecretId: 'kserve-edge/canary-client', tokenEndpoint: 'https://issuer.example.com/token' },
        istioRequestAuthentication: 'auto' as const,
        ...(transition ? { transition: { headerName: 'x-api-key', headerValuesSecretId: 'kserve-edge/api-tokens' } } : {}),
      },
    });
    const rows = (report: Awaited<ReturnType<typeof planProvisioning>>) =>
      Array.isArray(report.cluster) ? report.cluster.map((a) => `${a.action} ${a.kind} ${a.name}`) : report.cluster;

    const transition = await planProvisioning(jwt(true), w.deps);
    expect(rows(transition)).toEqual([
      'none ConfigMap config-domain',
      'none AuthorizationPolicy allow-predictor',
      'none AuthorizationPolicy allow-transformer',
      'none RequestAuthentication kserve-edge-jwt',
      'apply Ingress istio-ingress-jwt-header',
      'apply Ingress istio-ingress-jwt',
      'none Ingress istio-ingress-api',
    ]);
    // The new load balancer has no address yet: DNS is planned to move to it.
    expect(transition.loadBalancer).toBeNull();
    expect(Array.isArray(transition.dns) && transition.dns.map((d) => d.action)).toEqual(['update', 'update']);
    expect(JSON.stringify(transition)).not.toContain(STRONG_TOKEN);
    expect(w.kube.writes).toBeGreaterThan(0); // the Cognito run's, not the plan's
    const writes = w.kube.writes;

    await configure(jwt(true));
    const final = await planProvisioning(jwt(false), w.deps);
    expect(Array.isArray(final.cluster) && final.cluster.filter((a) => a.action !== 'none').map((a) => [a.name, a.reason])).toEqual([
      ['istio-ingress-jwt-header', expect.stringContaining('header tokens refused from now on (detach')],
      ['istio-ingress-api', expect.stringContaining('retired (no longer in DNS) (detach')],
    ]);
    expect(w.kube.writes).toBe(writes + 2); // the transition run's two Ingresses; planning wrote nothing
  });
});
