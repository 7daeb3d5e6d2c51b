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
 * 3. team-c is deleted from the apiserver: the sweep starts its deprovisioning
 *    (records and ownership TXT go; its name stays in the bundle), the next
 *    sweep sees a deprovisioned name still bundled and starts ONE rebundle run
 *    (`certificates.release: ["team-c"]`) while the canary loop probes team-a
 *    and team-b: {a, b} is requested, swapped in make-before-break, {a, b, c}
 *    deleted. No probe fails; a third sweep starts nothing.
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
import { AcmAdapter } from '../../shared/aws/acm';
import { Route53Adapter } from '../../shared/aws/route53';
import { sweepNamespaces, type LifecycleDeps } from '../../shared/steps/reconcileNamespaces';
import type { RunResult } from '../../local/run';
import { kubeFor } from '../../wiring/cluster';
import { resetClients } from '../../wiring/clients';
import { FakeExecutions } from '../fakes/FakeExecutions';
import { resetScheduledCanaryCaches, scheduledCanaryDeps } from '../../wiring/canary';
import { loadConfig } from '../../wiring/config';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { captureEmf } from '../fixtures/emf';
import { failureOf } from './reliability';
import { awsFor, listBundles, listCertificates, listRecords, provisionWith } from './workflow';

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

  it('team-c deleted: deprovisioned by the sweep, then released from the bundle by one rebundle run; no failed probe of team-a/team-b', async () => {
    const { acm, tagging, route53 } = awsFor(tb.motoUrl, REGION);
    const [old] = await listBundles(acm, DOMAIN);
    expect(old!.namespaces).toEqual(['team-a', 'team-b', 'team-c']);
    // The sweep's executions run the real state machines locally (as in lifecycle.test.ts).
    const results = new Map<string, RunResult>();
    const provisionRuns = new FakeExecutions();
    const deprovisionRuns = new FakeExecutions();
    provisionRuns.onStart = async (name, input) => {
      const run = await provisionWith(tb.env, input, name);
      results.set(name, run);
      provisionRuns.setStatus(name, run.status);
    };
    deprovisionRuns.onStart = async (name, input) => {
      const run = await provisionWith(tb.env, input, name, 'statemachine/deprovision.asl.json');
      results.set(name, run);
      deprovisionRuns.setStatus(name, run.status);
    };
    const deps: LifecycleDeps = {
      kube: await kubeFor(loadConfig(tb.env), { name: 'kubeflow', region: REGION }),
      route53: new Route53Adapter(route53),
      acm: new AcmAdapter(acm, tagging),
      provisionRuns,
      deprovisionRuns,
      log: silentLogger,
      now: () => new Date(),
    };
    const succeeded = (name: string) => {
      const run = results.get(name);
      if (run?.status !== 'SUCCEEDED') throw new Error(`${name} failed: ${JSON.stringify(run && failureOf(run))}`);
      return run;
    };

    let stop = false;
    const rounds: ScheduledCanaryEndpoint[][] = [];
    const gaps: string[] = [];
    const loop = (async () => {
      while (!stop) {
        rounds.push(await canaryRound(['team-a', 'team-b']));
        const onAlb = new Set(await albArns());
        const issued = (await listBundles(acm, DOMAIN)).filter((b) => b.status === 'ISSUED' && onAlb.has(b.arn));
        for (const ns of ['team-a', 'team-b']) if (!issued.some((b) => b.namespaces.includes(ns))) gaps.push(ns);
        await new Promise((r) => setTimeout(r, 200));
      }
    })().finally(() => {
      // A loop that ends by an error must not leave the test waiting for its rounds.
      stop = true;
    });
    const started = Date.now();
    let rebundle: RunResult;
    let sweeps: Array<Awaited<ReturnType<typeof sweepNamespaces>>>;
    try {
      await tb.kubeAdmin().delete({ apiVersion: 'v1', kind: 'Namespace', name: 'team-c' });
      // Sweep 1: team-c is gone and its ownership TXT is ours: deprovisioning (its name stays in the bundle).
      const first = await sweepNamespaces({ template }, deps);
      expect(first.runs.map((r) => [r.kind, r.namespace, r.outcome])).toEqual([['deprovision', 'team-c', 'started']]);
      succeeded(first.runs[0]!.executionName);
      const records = (await listRecords(route53, tb.hostedZoneId)).map((r) => r.name);
      expect(records).not.toContain(`*.team-c.${DOMAIN}`);
      expect(records).not.toContain(`_kserve-edge.team-c.${DOMAIN}`);
      expect((await listBundles(acm, DOMAIN)).map((b) => b.arn)).toEqual([old!.arn]);

      // Sweep 2: deprovisioned, still bundled: one rebundle run for the desired set, releasing team-c.
      const second = await sweepNamespaces({ template }, deps);
      expect(second.runs.map((r) => [r.kind, r.namespace, r.outcome])).toEqual([['rebundle', 'team-c', 'started']]);
      expect(second.runs[0]!.executionName).toMatch(/^rebundle-[0-9a-f]{10}$/);
      expect(provisionRuns.runs.get(second.runs[0]!.executionName)?.input).toMatchObject({
        namespaces: ['team-a', 'team-b'],
        certificates: { mode: 'bundled', namesPerCertificate: 3, release: ['team-c'] },
      });
      rebundle = succeeded(second.runs[0]!.executionName);
      // Sweep 3: nothing left to do (and the rebundle run is not started twice).
      const third = await sweepNamespaces({ template }, deps);
      sweeps = [first, second, third];
      const after = rounds.length;
      while (rounds.length < after + 2 && !stop) await new Promise((r) => setTimeout(r, 200));
    } finally {
      stop = true;
      await loop;
    }
    const seconds = (Date.now() - started) / 1000;
    expect(sweeps[2]!.runs).toEqual([]);
    expect(sweeps[2]!.inSync).toEqual(['team-a', 'team-b']);
    expect(rebundle.states.at(-1)?.name).toBe('Provisioned');

    // The rebundle run's ConfigureCluster passes: the new {a, b} beside the old one, then the old one off, then deleted.
    type Pass = { swapping?: boolean; bundles?: { holding: Array<{ arn: string }>; retiring: string[]; deleted: string[] } };
    const passes = rebundle.events
      .filter((e) => e.type === 'StateSucceeded' && e.state === 'ConfigureCluster')
      .map((e) => (e as { output: { cluster: Pass } }).output.cluster);
    expect(passes[0]!.bundles!.holding.map((h) => h.arn)).toEqual([old!.arn]);
    expect(passes.flatMap((p) => p.bundles?.retiring ?? [])).toContain(old!.arn);
    expect(passes.flatMap((p) => p.bundles?.deleted ?? [])).toEqual([old!.arn]);
    expect(passes.at(-1)!.swapping).toBe(false);

    const bundles = await listBundles(acm, DOMAIN);
    expect(bundles.map((b) => [b.namespaces, b.status])).toEqual([[['team-a', 'team-b'], 'ISSUED']]);
    const all = await listCertificates(acm);
    expect(all.map((c) => c.arn)).not.toContain(old!.arn);
    expect(all.filter((c) => [c.domainName, ...c.names].includes(`*.team-c.${DOMAIN}`))).toEqual([]);
    const arns = await ingressArns();
    expect(arns).toEqual([arns[0], bundles[0]!.arn]);
    expect(all.find((c) => c.arn === arns[0])?.domainName).toBe(`*.${DOMAIN}`);
    expect((await albArns()).sort()).toEqual([...arns].sort());
    // team-c's validation CNAME went with the old bundle (nothing validates through it); team-a's and team-b's stay.
    const validation = (await listRecords(route53, tb.hostedZoneId))
      .filter((r) => r.type === 'CNAME' && /^_[0-9a-z]+\./.test(r.name) && !r.name.startsWith('_kserve-edge.'))
      .map((r) => r.name.slice(r.name.indexOf('.') + 1))
      .sort();
    expect(validation).toEqual([DOMAIN, `team-a.${DOMAIN}`, `team-b.${DOMAIN}`]);

    expect(rounds.flat().filter((e) => !e.ok)).toEqual([]);
    expect(gaps).toEqual([]);
    expect(rounds.length).toBeGreaterThanOrEqual(3);
    // For the report: the deletion to the last sweep, with the canary loop running.
    process.stdout.write(
      `bundles release: ${seconds.toFixed(1)} s, ${rounds.length} canary rounds, ${passes.length} ConfigureCluster passes\n`,
    );
  }, 600_000);
});
