/**
 * Issue 11, item 1, end to end: ALB shards with the real AWS Load Balancer
 * Controller.
 *
 * The testbed's account allows 2 certificates per ALB besides the default
 * (`albCertificateQuota: 2`: the AWS proxy refuses a third with
 * TooManyCertificates and DescribeAccountLimits reports 2), so five profile
 * namespaces need three shards: the product reads the quota, it does not
 * assume 25.
 *
 * 1. One run provisions five namespaces: three Ingresses, three ALBs, every
 *    namespace's record at its shard's ALB, every namespace's canary green.
 * 2. team-b (shard 0) and team-e (alone on shard 2) are deleted and
 *    deprovisioned while a canary loop runs against the other three: no probe
 *    fails; shard 2's Ingress and ALB are gone, after its record.
 */
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { publishCanaryMetrics } from '../../shared/canary/metrics';
import { silentLogger } from '../../shared/log';
import { parseProvisionRequest } from '../../shared/request';
import { runScheduledCanary, type ScheduledCanaryEndpoint } from '../../shared/steps/runScheduledCanary';
import { resetClients } from '../../wiring/clients';
import { resetScheduledCanaryCaches, scheduledCanaryDeps } from '../../wiring/canary';
import { loadConfig } from '../../wiring/config';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { captureEmf } from '../fixtures/emf';
import { failureOf } from './reliability';
import { awsFor, listRecords, provisionWith, restoreEnv } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NAMESPACES = ['team-a', 'team-b', 'team-c', 'team-d', 'team-e'];
const INGRESS = 'istio-ingress-api';

describe('ALB shards (issue 11)', () => {
  let tb: Testbed;
  let template: Record<string, unknown>;
  const savedEnv = { ...process.env };

  const request = (namespaces: string[]) => ({ ...template, namespaces });
  const ingress = (name: string) => tb.kubeAdmin().get('networking.k8s.io/v1', 'Ingress', 'istio-system', name);
  const elbv2 = () =>
    new ElasticLoadBalancingV2Client({
      endpoint: tb.motoUrl,
      region: REGION,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  const loadBalancers = async () => (await elbv2().send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const hostnameOf = async (name: string) =>
    ((await ingress(name))?.status as { loadBalancer?: { ingress?: Array<{ hostname?: string }> } } | undefined)?.loadBalancer?.ingress?.[0]
      ?.hostname;

  /** One scheduled-canary round over `namespaces`, as the deployed canary runs it. */
  async function canaryRound(namespaces: string[]): Promise<ScheduledCanaryEndpoint[]> {
    resetClients();
    resetScheduledCanaryCaches();
    const req = parseProvisionRequest({ ...request(namespaces), hostedZoneId: tb.hostedZoneId });
    const { result } = await captureEmf(() =>
      runScheduledCanary(
        { requests: [req] },
        {
          depsFor: (r) => scheduledCanaryDeps(loadConfig(tb.env), r, silentLogger),
          publish: (r) => publishCanaryMetrics(r),
          log: silentLogger,
          now: () => new Date(),
        },
      ),
    );
    return result.endpoints;
  }

  beforeAll(async () => {
    tb = await startTestbed({
      authProvider: 'cognito',
      domain: DOMAIN,
      namespaces: NAMESPACES,
      clusterName: 'kubeflow',
      region: REGION,
      albCertificateQuota: 2,
    });
    Object.assign(process.env, tb.env, { LOG_LEVEL: 'silent' });
    template = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
      canary: { expected: { outputName: 'predict', data: [1, 1] } },
    };
  }, 240_000);

  afterAll(async () => {
    restoreEnv(savedEnv);
    await tb?.stop();
  }, 60_000);

  it('five namespaces at 2 certificates per ALB: three shards, each record at its shard’s ALB, every canary green', async () => {
    const run = await provisionWith(tb.env, request(NAMESPACES), 'shards-five');
    if (run.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(run))}`);
    // The run succeeds only once RunCanary was green for every namespace (Provisioned follows CanaryGreen).
    expect(run.states.at(-1)?.name).toBe('Provisioned');

    const names = [INGRESS, `${INGRESS}-shard-1`, `${INGRESS}-shard-2`];
    const hostnames = await Promise.all(names.map(hostnameOf));
    expect(hostnames.every((h) => typeof h === 'string' && h.endsWith('.elb.amazonaws.com'))).toBe(true);
    expect(new Set(hostnames).size).toBe(3);
    // Each Ingress: the base certificate (default) and at most 2 namespace certificates.
    for (const name of names) {
      const arns = ((await ingress(name))?.metadata.annotations?.['alb.ingress.kubernetes.io/certificate-arn'] ?? '').split(',');
      expect(arns.length).toBeGreaterThanOrEqual(2);
      expect(arns.length).toBeLessThanOrEqual(3);
    }
    expect((await loadBalancers()).length).toBe(3);

    // Records: in order of the request, two per shard.
    const { route53 } = awsFor(tb.motoUrl, REGION);
    const records = await listRecords(route53, tb.hostedZoneId);
    const targetOf = (ns: string) => records.find((r) => r.name === `*.${ns}.${DOMAIN}`)?.values[0];
    expect(NAMESPACES.map(targetOf)).toEqual([hostnames[0], hostnames[0], hostnames[1], hostnames[1], hostnames[2]]);

    const round = await canaryRound(NAMESPACES);
    expect(round.map((e) => [e.namespace, e.ok, e.status])).toEqual(NAMESPACES.map((ns) => [ns, true, 200]));
  }, 600_000);

  it('removing team-b and the whole of shard 2 (team-e) while the canary runs: no failed probe, shard 2 gone after its record', async () => {
    const staying = ['team-a', 'team-c', 'team-d'];
    const shard2Host = await hostnameOf(`${INGRESS}-shard-2`);
    expect(shard2Host).toBeDefined();

    let stop = false;
    const rounds: ScheduledCanaryEndpoint[][] = [];
    const loop = (async () => {
      while (!stop) {
        rounds.push(await canaryRound(staying));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      for (const ns of ['team-b', 'team-e']) await tb.kubeAdmin().delete({ apiVersion: 'v1', kind: 'Namespace', name: ns });
      const runs = await Promise.all(
        ['team-b', 'team-e'].map((ns) =>
          provisionWith(tb.env, { request: request(staying), namespace: ns }, `shards-remove-${ns}`, 'statemachine/deprovision.asl.json'),
        ),
      );
      for (const run of runs) if (run.status !== 'SUCCEEDED') throw new Error(`deprovision failed: ${JSON.stringify(failureOf(run))}`);
      // team-e's shard emptied: one pass deleted its record, a later one the Ingress.
      expect(runs[1]!.states.filter((s) => s.name === 'DeprovisionNamespace').length).toBeGreaterThanOrEqual(2);

      // Deleted: the controller removes the ALB, then its finalizer, then the Ingress is gone.
      const deadline = Date.now() + 90_000;
      while (
        ((await ingress(`${INGRESS}-shard-2`)) || (await loadBalancers()).some((lb) => lb.DNSName === shard2Host)) &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(await ingress(`${INGRESS}-shard-2`)).toBeUndefined();
      expect((await loadBalancers()).map((lb) => lb.DNSName)).not.toContain(shard2Host);
      expect(await ingress(INGRESS)).toBeDefined();
      expect(await ingress(`${INGRESS}-shard-1`)).toBeDefined();

      const { route53 } = awsFor(tb.motoUrl, REGION);
      const names = (await listRecords(route53, tb.hostedZoneId)).map((r) => r.name);
      expect(names).not.toContain(`*.team-e.${DOMAIN}`);
      expect(names).not.toContain(`*.team-b.${DOMAIN}`);
      // A few more rounds after the change.
      const after = rounds.length;
      while (rounds.length < after + 2) await new Promise((r) => setTimeout(r, 200));
    } finally {
      stop = true;
      await loop;
    }
    const failed = rounds.flat().filter((e) => !e.ok);
    expect(failed).toEqual([]);
    expect(rounds.length).toBeGreaterThanOrEqual(3);
  }, 600_000);
});
