/**
 * Idempotency and concurrency against a fresh testbed (nothing configured yet,
 * so the racing runs all create: config-domain, the AuthorizationPolicies,
 * the Ingress, the certificates and the records):
 *
 * - five runs started at once for the same namespace end with one certificate
 *   per name set and one record set (ACM idempotency tokens, UPSERTs,
 *   server-side apply, guarded JSON patches);
 *   AWS is reached through the fault proxy with no faults: it makes moto's
 *   idempotency-token check atomic, as ACM's is (see testbed/fault-proxy.ts);
 * - the same request run three more times leaves everything exactly as it was
 *   (same ARNs, same records, same resourceVersions).
 */
import { FaultProxy } from '../../testbed/fault-proxy';
import { knativeConfigDomain } from '../../testbed/cluster';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { lambdasFor } from './lambdas';
import { certificatesByNameSet, failureOf, records, run, runOnce, snapshot, writeFigures } from './reliability';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';

describe('idempotency and concurrency', () => {
  let tb: Testbed;
  let proxy: FaultProxy;
  let env: Record<string, string>;
  let request: Record<string, unknown>;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: ['team-a'], clusterName: 'kubeflow', region: REGION });
    // In front of the testbed's AWS proxy, not moto: the product meets the ELBv2 the controller built
    // (elbv2-fidelity.ts), and IAM is enforced there for every worker's call.
    proxy = await FaultProxy.start(tb.env.AWS_ENDPOINT_URL!);
    env = { ...tb.env, AWS_ENDPOINT_URL: proxy.url };
    request = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      namespaces: ['team-a'],
      auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
      canary: { expected: { outputName: 'predict', data: [1, 1] } },
    };
  }, 240_000);

  afterAll(async () => {
    writeFigures('idempotency', figures);
    await proxy?.stop();
    await tb?.stop();
  }, 60_000);

  it('five runs started at once for the same namespace: all succeed, one certificate per name set, one record set', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => runOnce({ ...env, LOG_LEVEL: 'silent' }, request, `concurrent-${i}`, { retryIntervalMs: 300 })),
    );
    const outcomes = results.map((r) => (r.status === 'SUCCEEDED' ? 'SUCCEEDED' : JSON.stringify(failureOf(r))));
    expect(outcomes).toEqual(Array(5).fill('SUCCEEDED'));

    const { certificates } = await snapshot(tb);
    const byNames = certificatesByNameSet(certificates);
    expect([...byNames.keys()].sort()).toEqual([`*.${DOMAIN}`, `*.team-a.${DOMAIN}`]);
    for (const certs of byNames.values()) expect(certs).toHaveLength(1);
    const recs = await records(tb.aws.route53, tb.hostedZoneId);
    expect(recs.filter((r) => r.name === `*.team-a.${DOMAIN}`)).toHaveLength(1);
    expect(recs.filter((r) => r.name === `_kserve-edge.team-a.${DOMAIN}`)).toHaveLength(1);
    figures.concurrentRuns = 5;
    figures.concurrentSucceeded = outcomes.filter((o) => o === 'SUCCEEDED').length;
    figures.certificatesAfterConcurrentRuns = certificates.length;
    figures.retriesDuringConcurrentRuns = results.reduce((n, r) => n + r.states.reduce((m, s) => m + s.retries, 0), 0);
  }, 240_000);

  it('five ConfigureCluster steps at once on a stock config-domain: all succeed, the default domain is set once', async () => {
    // Put Knative's config-domain back as shipped (only `_example`), so every racing step plans the same guarded patch.
    const kube = tb.kubeAdmin();
    const stock = knativeConfigDomain();
    const current = await kube.get('v1', 'ConfigMap', 'knative-serving', 'config-domain');
    await kube.request('PUT', '/api/v1/namespaces/knative-serving/configmaps/config-domain', {
      body: { ...stock, metadata: { ...stock.metadata, resourceVersion: current?.metadata.resourceVersion } },
    });
    // The certificates in listener order, as the runs left them on the Ingress.
    const ingress = await kube.get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api');
    const last = (ingress?.metadata.annotations?.['alb.ingress.kubernetes.io/certificate-arn'] ?? '').split(',');
    const lambdas = lambdasFor({ ...env, LOG_LEVEL: 'silent' });
    const validated = { ...request, hostedZoneId: tb.hostedZoneId };
    const event = { request: validated, certificates: { items: last.map((arn) => ({ arn })), ownedArns: last } };
    // Five invocations at once: five ConfigureCluster processes, as five Lambda containers.
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => lambdas.invoke('configureCluster', event)));
    const errors = settled.flatMap((s) => (s.status === 'rejected' ? [`${(s.reason as Error).name}: ${(s.reason as Error).message}`] : []));
    figures.concurrentConfigureClusterErrors = errors;
    expect(errors).toEqual([]);
    expect(lambdas.workerCounts().configureCluster).toBeGreaterThanOrEqual(5);
    const after = await kube.get('v1', 'ConfigMap', 'knative-serving', 'config-domain');
    expect(after?.data).toEqual({ [DOMAIN]: '' });
  }, 120_000);

  it('the same request three more times: identical end state each time, nothing rewritten', async () => {
    const reference = await snapshot(tb);
    for (let i = 1; i <= 3; i++) {
      const result = await run(env, request, `repeat-${i}`);
      expect(result.status).toBe('SUCCEEDED');
      const out = result.output as {
        certificates: { items: Array<{ requested: boolean }> };
        dns: { changeId: string | null };
        cluster: { actions: Array<{ action: string }> };
      };
      expect(out.certificates.items.every((c) => !c.requested)).toBe(true);
      expect(out.dns.changeId).toBeNull();
      expect(out.cluster.actions.map((a) => a.action)).toEqual(['none', 'none', 'none', 'none']);
      expect(await snapshot(tb)).toEqual(reference);
    }
    figures.repeatedRuns = 3;
    figures.repeatedRunsIdentical = 3;
  }, 240_000);
});
