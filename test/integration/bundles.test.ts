/**
 * Issue 11, item 2, end to end: bundled certificates with the real AWS Load
 * Balancer Controller (`certificates: { mode: "bundled", namesPerCertificate: 3 }`).
 *
 * 1. One run provisions team-a and team-b: one bundle certificate names both,
 *    the listener holds `*.<domain>` and the bundle, both canaries green.
 * 2. team-c is provisioned while a canary loop probes team-a and team-b over
 *    verified TLS: the bundle is re-requested as {a, b, c} (ACM certificates
 *    are immutable), validated, put on the listener beside the old one, and
 *    only once the ALB holds it is the old one taken off and deleted. No probe
 *    fails; at the end the old certificate is gone and the listener holds the
 *    new bundle only.
 */
import {
  DescribeListenersCommand,
  DescribeListenerCertificatesCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
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
import { awsFor, listBundles, listCertificates, provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NAMESPACES = ['team-a', 'team-b', 'team-c'];
const INGRESS = 'istio-ingress-api';

describe('bundled certificates (issue 11)', () => {
  let tb: Testbed;
  let template: Record<string, unknown>;
  const savedEnv = { ...process.env };

  const request = (namespaces: string[]) => ({ ...template, namespaces });
  const ingressArns = async () =>
    (
      (await tb.kubeAdmin().get('networking.k8s.io/v1', 'Ingress', 'istio-system', INGRESS))?.metadata.annotations?.[
        'alb.ingress.kubernetes.io/certificate-arn'
      ] ?? ''
    )
      .split(',')
      .filter((a) => a !== '');
  const elbv2 = () =>
    new ElasticLoadBalancingV2Client({
      endpoint: tb.motoUrl,
      region: REGION,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  /** What the ALB's HTTPS listener holds (ELBv2). */
  const albArns = async () => {
    const client = elbv2();
    const lbs = (await client.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
    expect(lbs).toHaveLength(1);
    const listeners = (await client.send(new DescribeListenersCommand({ LoadBalancerArn: lbs[0]!.LoadBalancerArn }))).Listeners ?? [];
    const https = listeners.find((l) => l.Port === 443)!;
    return ((await client.send(new DescribeListenerCertificatesCommand({ ListenerArn: https.ListenerArn }))).Certificates ?? []).map(
      (c) => c.CertificateArn ?? '',
    );
  };

  /** One scheduled-canary round over `namespaces`, as the deployed canary runs it (verified TLS to each namespace's host). */
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
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: NAMESPACES, clusterName: 'kubeflow', region: REGION });
    Object.assign(process.env, tb.env, { LOG_LEVEL: 'silent' });
    template = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
      certificates: { mode: 'bundled', namesPerCertificate: 3 },
      canary: { expected: { outputName: 'predict', data: [1, 1] } },
    };
  }, 240_000);

  afterAll(async () => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    resetClients();
    await tb?.stop();
  }, 60_000);

  it('team-a and team-b share one bundle certificate; both canaries green', async () => {
    const run = await provisionWith(tb.env, request(['team-a', 'team-b']), 'bundles-two');
    if (run.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(run))}`);
    expect(run.states.at(-1)?.name).toBe('Provisioned');

    const { acm } = awsFor(tb.motoUrl, REGION);
    const bundles = await listBundles(acm, DOMAIN);
    expect(bundles.map((b) => [b.namespaces, b.status])).toEqual([[['team-a', 'team-b'], 'ISSUED']]);
    const arns = await ingressArns();
    expect(arns).toHaveLength(2);
    expect(arns[1]).toBe(bundles[0]!.arn);
    expect((await albArns()).sort()).toEqual([...arns].sort());

    const round = await canaryRound(['team-a', 'team-b']);
    expect(round.map((e) => [e.namespace, e.ok, e.status])).toEqual([
      ['team-a', true, 200],
      ['team-b', true, 200],
    ]);
  }, 600_000);

  it('adding team-c swaps the bundle make-before-break: no failed probe of team-a/team-b, the old certificate deleted', async () => {
    const { acm } = awsFor(tb.motoUrl, REGION);
    const [old] = await listBundles(acm, DOMAIN);
    expect(old).toBeDefined();

    let stop = false;
    const rounds: ScheduledCanaryEndpoint[][] = [];
    // While the loop runs: did the listener ever lack an Issued certificate naming team-a/team-b?
    const gaps: string[] = [];
    const loop = (async () => {
      while (!stop) {
        rounds.push(await canaryRound(['team-a', 'team-b']));
        const onAlb = new Set(await albArns());
        const issued = (await listBundles(acm, DOMAIN)).filter((b) => b.status === 'ISSUED' && onAlb.has(b.arn));
        for (const ns of ['team-a', 'team-b']) if (!issued.some((b) => b.namespaces.includes(ns))) gaps.push(ns);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    let run: Awaited<ReturnType<typeof provisionWith>>;
    try {
      run = await provisionWith(tb.env, request(['team-c']), 'bundles-add-c');
      if (run.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(run))}`);
      const after = rounds.length;
      while (rounds.length < after + 2) await new Promise((r) => setTimeout(r, 200));
    } finally {
      stop = true;
      await loop;
    }
    expect(run.states.at(-1)?.name).toBe('Provisioned');
    const bundles = await listBundles(acm, DOMAIN);
    const fresh = bundles[0]!.arn;

    // The passes of ConfigureCluster, each followed by GetLoadBalancerAddress (the ALB holds what the pass wrote):
    // 1. the new bundle beside the old one (held); 2. the old one off (the ALB must drop it); 3. the old one deleted.
    type Pass = {
      swapping?: boolean;
      expected?: { certificateArns: string[]; absent?: string[] };
      bundles?: { holding: Array<{ arn: string }>; retiring: string[]; deleted: string[] };
    };
    const passes = run.events
      .filter((e) => e.type === 'StateSucceeded' && e.state === 'ConfigureCluster')
      .map((e) => (e as { output: { cluster: Pass } }).output.cluster);
    expect(passes.length).toBeGreaterThanOrEqual(3);
    const [first, second] = passes;
    expect(first!.bundles!.holding.map((h) => h.arn)).toEqual([old!.arn]);
    expect(first!.expected!.certificateArns).toEqual(expect.arrayContaining([old!.arn, fresh]));
    expect(second!.bundles!.retiring).toEqual([old!.arn]);
    expect(second!.expected!.certificateArns).not.toContain(old!.arn);
    expect(second!.expected!.absent).toEqual([old!.arn]);
    expect(passes.flatMap((p) => p.bundles?.deleted ?? [])).toEqual([old!.arn]);
    expect(passes.at(-1)!.swapping).toBe(false);
    const order = run.states.map((s) => s.name).filter((n) => n === 'ConfigureCluster' || n === 'GetLoadBalancerAddress');
    expect(order.slice(0, 2)).toEqual(['ConfigureCluster', 'GetLoadBalancerAddress']);

    expect(bundles.map((b) => [b.namespaces, b.status])).toEqual([[['team-a', 'team-b', 'team-c'], 'ISSUED']]);
    expect(bundles.map((b) => b.arn)).not.toContain(old!.arn);
    expect((await listCertificates(acm)).map((c) => c.arn)).not.toContain(old!.arn);
    const arns = await ingressArns();
    expect(arns).toEqual([arns[0], bundles[0]!.arn]);
    expect((await albArns()).sort()).toEqual([...arns].sort());

    expect(rounds.flat().filter((e) => !e.ok)).toEqual([]);
    expect(gaps).toEqual([]);
    expect(rounds.length).toBeGreaterThanOrEqual(3);
    const round = await canaryRound(NAMESPACES);
    expect(round.map((e) => [e.namespace, e.ok])).toEqual(NAMESPACES.map((ns) => [ns, true]));
  }, 600_000);
});
