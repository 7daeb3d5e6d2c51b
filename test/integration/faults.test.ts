/**
 * Fault injection: the whole provision.asl.json with the real handlers against
 * the testbed, with AWS answering through the fault proxy (testbed/fault-proxy.ts)
 * and the testbed's knobs (load balancer, API server).
 *
 * | fault class                                  | expected                                   |
 * |----------------------------------------------|--------------------------------------------|
 * | ACM / Route 53 throttling, 500s, delays      | SUCCEEDED; one certificate per name set    |
 * | load balancer never gets an address          | LoadBalancerTimeout (short deadline)       |
 * | ACM certificate FAILED / VALIDATION_TIMED_OUT | CertificateValidationFailed               |
 * | API server stopped, back within the retries  | ClusterUnreachable retried, then SUCCEEDED |
 * | API server stopped for good                  | ClusterUnreachable                         |
 * | the new ALB's name resolves only after the   | RunCanary ⟲ WaitForCanary, then SUCCEEDED  |
 * |   first canary attempts                      |                                            |
 * | the ALB's name never resolves                | CanaryFailed dns (short canary deadline)   |
 *
 * After each, a second run without the fault converges (SUCCEEDED), and no
 * duplicate or orphaned certificate or record is left. Each test uses its own
 * namespace, so each creates its certificate and record from scratch.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultProxy, type FaultRule } from '../../testbed/fault-proxy';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import type { RunEvent } from '../../local/events';
import type { RunResult } from '../../local/run';
import { cognitoRequest } from './harness';
import { certificatesByNameSet, failureOf, records, run, snapshot, writeFigures, type CertSnapshot } from './reliability';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NAMESPACES = ['lbwait', 'throttled', 'acmfailed', 'acmtimedout', 'apiblip', 'apidown', 'albdns', 'albdnsnever'];

interface Figure {
  fault: string;
  injected: number;
  firstRun: string;
  rerun?: string;
  retries: number;
  duplicateCertificates: number;
  duplicateRecords: number;
  lost: number;
}

function retriesOf(result: RunResult): number {
  return result.states.reduce((n, s) => n + s.retries, 0);
}

describe('faults: transient ones are survived, lasting ones end in their named error, reruns converge', () => {
  let tb: Testbed;
  let proxy: FaultProxy;
  let env: Record<string, string>;
  const figures: Figure[] = [];

  const request = (namespace: string, extra: Record<string, unknown> = {}) => ({
    ...cognitoRequest(tb, { domain: DOMAIN, region: REGION, namespaces: [namespace] }),
    ...extra,
  });

  /** Certificates for `*.<ns>.<domain>`, straight from moto. */
  const certsFor = async (namespace: string): Promise<CertSnapshot[]> =>
    (await snapshot(tb)).certificates.filter((c) => c.domainName === `*.${namespace}.${DOMAIN}`);

  /** The namespace record and its ownership TXT, and whether they are what a converged run leaves. */
  const recordsFor = async (namespace: string) => {
    const all = await records(tb.aws.route53, tb.hostedZoneId);
    return {
      target: all.filter((r) => r.name === `*.${namespace}.${DOMAIN}`),
      ownership: all.filter((r) => r.name === `_kserve-edge.${namespace}.${DOMAIN}`),
    };
  };

  /** Duplicates and losses once a namespace has converged. */
  const audit = async (namespace: string) => {
    const certs = await snapshot(tb);
    const byNames = certificatesByNameSet(certs.certificates);
    const recs = await recordsFor(namespace);
    const base = byNames.get(`*.${DOMAIN}`) ?? [];
    const ns = byNames.get(`*.${namespace}.${DOMAIN}`) ?? [];
    return {
      duplicateCertificates: Math.max(0, base.length - 1) + Math.max(0, ns.length - 1),
      duplicateRecords: Math.max(0, recs.target.length - 1) + Math.max(0, recs.ownership.length - 1),
      lost:
        (base.length === 0 ? 1 : 0) +
        (ns.length === 0 ? 1 : 0) +
        (recs.target.length === 0 ? 1 : 0) +
        (recs.ownership.length === 0 ? 1 : 0),
    };
  };

  /** Audits a namespace that should have converged: no duplicate, nothing lost. */
  const expectConverged = async (namespace: string) => {
    const a = await audit(namespace);
    expect(a).toEqual({ duplicateCertificates: 0, duplicateRecords: 0, lost: 0 });
    return a;
  };

  /** The figures' row of one injected fault whose `first` run failed and whose rerun (`second`) was audited as `a`. */
  const rerunFigure = (fault: string, first: RunResult, second: RunResult, a: Awaited<ReturnType<typeof audit>>): Figure => ({
    fault,
    injected: 1,
    firstRun: failureOf(first).failState ?? first.status,
    rerun: second.status,
    retries: retriesOf(first),
    ...a,
  });

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: NAMESPACES, clusterName: 'kubeflow', region: REGION });
    // In front of the testbed's AWS proxy, not moto: the product meets the ELBv2 the controller built
    // (elbv2-fidelity.ts), and IAM is enforced there for every worker's call.
    proxy = await FaultProxy.start(tb.env.AWS_ENDPOINT_URL!);
    env = { ...tb.env, AWS_ENDPOINT_URL: proxy.url };
  }, 240_000);

  afterEach(() => proxy.reset());

  afterAll(async () => {
    writeFigures('faults', {
      classes: figures.length,
      faultsInjected: figures.reduce((n, f) => n + f.injected, 0),
      duplicates: figures.reduce((n, f) => n + f.duplicateCertificates + f.duplicateRecords, 0),
      lost: figures.reduce((n, f) => n + f.lost, 0),
      runs: figures,
    });
    await proxy?.stop();
    await tb?.stop();
  }, 60_000);

  it('the load balancer never gets an address: LoadBalancerTimeout, then a rerun converges on the same certificates', async () => {
    tb.lb.setOptions({ neverAssignAddress: true });
    const req = request('lbwait', { deadlines: { loadBalancerSeconds: 2 } });
    const first = await run(env, req, 'fault-lb-1');
    expect(failureOf(first)).toMatchObject({ failState: 'LoadBalancerTimeout' });
    expect(failureOf(first).message).toMatch(/no load balancer address after \d+s \(deadline 2s\)/);
    const certsAfterFailure = (await certsFor('lbwait')).map((c) => c.arn);
    expect(certsAfterFailure).toHaveLength(1);
    expect((await recordsFor('lbwait')).target).toEqual([]); // never got as far as DNS

    tb.lb.setOptions({ neverAssignAddress: false });
    const second = await run(env, request('lbwait'), 'fault-lb-2');
    expect(second.status).toBe('SUCCEEDED');
    expect((await certsFor('lbwait')).map((c) => c.arn)).toEqual(certsAfterFailure);
    const a = await expectConverged('lbwait');
    figures.push(rerunFigure('load balancer never assigns an address', first, second, a));
  }, 120_000);

  it('throttling, 500s and delays on ACM, the tagging API, Route 53, Secrets Manager and EKS: the run succeeds with one certificate and one record set', async () => {
    const rules: FaultRule[] = [
      { service: 'acm', operation: 'RequestCertificate', fault: 'throttle', times: 3 },
      // Our certificates are found by tag (SigV4 service `tagging`), not by listing the region's.
      { service: 'tagging', operation: 'GetResources', fault: 'http500', times: 2 },
      { service: 'acm', operation: 'ListTagsForCertificate', fault: 'throttle', rate: 0.2 },
      { service: 'acm', operation: 'DescribeCertificate', fault: 'throttle', rate: 0.3 },
      { service: 'acm', operation: 'DescribeCertificate', fault: 'delay', rate: 0.2, delayMs: 300 },
      { service: 'route53', operation: 'ChangeResourceRecordSets', fault: 'priorRequestNotComplete', times: 2 },
      { service: 'route53', operation: 'ChangeResourceRecordSets', fault: 'throttle', times: 2 },
      { service: 'route53', operation: 'ListResourceRecordSets', fault: 'throttle', rate: 0.3 },
      { service: 'route53', operation: 'GetChange', fault: 'http500', times: 2 },
      { service: 'route53', operation: 'ListHostedZonesByName', fault: 'throttle', times: 1 },
      { service: 'route53', operation: 'ListHostedZonesByName', fault: 'delay', times: 1, delayMs: 500 },
      { service: 'secretsmanager', operation: 'GetSecretValue', fault: 'http500', times: 1 },
      { service: 'eks', operation: 'DescribeCluster', fault: 'throttle', times: 1 },
    ];
    for (const r of rules) proxy.addRule(r);
    const first = await run(env, request('throttled'), 'fault-throttle-1');
    const stats = proxy.stats();
    if (first.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(first))}`);
    // Every deterministic rule fired in full; the random ones at least once.
    for (const r of stats.rules) {
      if (r.rule.times !== undefined) expect([r.rule.operation, r.fired]).toEqual([r.rule.operation, r.rule.times]);
    }
    expect(stats.injected).toBeGreaterThanOrEqual(18);

    expect(await certsFor('throttled')).toHaveLength(1);
    const recs = await recordsFor('throttled');
    expect(recs.target).toHaveLength(1);
    expect(recs.ownership).toHaveLength(1);

    // The same faults again: a rerun converges and changes nothing.
    proxy.reset();
    for (const r of rules) proxy.addRule(r);
    const before = await snapshot(tb);
    const second = await run(env, request('throttled'), 'fault-throttle-2');
    expect(second.status).toBe('SUCCEEDED');
    expect((await snapshot(tb)).certificates).toEqual(before.certificates);
    expect(await records(tb.aws.route53, tb.hostedZoneId)).toEqual(before.records);
    const a = await expectConverged('throttled');
    figures.push({
      fault: 'ACM/Route 53/Secrets Manager/EKS throttling, 500s, delays',
      injected: stats.injected + proxy.stats().injected,
      firstRun: first.status,
      rerun: second.status,
      retries: retriesOf(first) + retriesOf(second),
      ...a,
    });
  }, 180_000);

  it.each([
    ['FAILED', 'acmfailed'],
    ['VALIDATION_TIMED_OUT', 'acmtimedout'],
  ] as const)(
    'an ACM certificate that ends %s: CertificateValidationFailed, then a rerun requests a new one and converges',
    async (status, namespace) => {
      proxy.failCertificates({ domainNames: [`*.${namespace}.${DOMAIN}`], status });
      const first = await run(env, request(namespace), `fault-acm-${namespace}-1`);
      expect(failureOf(first)).toMatchObject({ failState: 'CertificateValidationFailed' });
      expect(failureOf(first).message).toContain(status);
      const [failed] = await certsFor(namespace);
      expect(failed).toBeDefined();
      expect((await recordsFor(namespace)).target).toEqual([]);

      // The failed certificate stays failed; the rerun must not get it back from the idempotency token.
      proxy.failCertificates({ arns: [failed!.arn], status });
      const second = await run(env, request(namespace), `fault-acm-${namespace}-2`);
      if (second.status !== 'SUCCEEDED') throw new Error(`rerun failed: ${JSON.stringify(failureOf(second))}`);
      const certs = await certsFor(namespace);
      expect(certs).toHaveLength(2); // the failed one (ours, tagged, left for the sweep) and its replacement
      const replacement = certs.find((c) => c.arn !== failed!.arn)!;
      expect(replacement.tags['kserve-edge:owner']).toBe('kserve-edge');
      expect(failed!.tags['kserve-edge:owner']).toBe('kserve-edge');
      const ingress = await tb.kubeAdmin().get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api');
      const onListener = ingress?.metadata.annotations?.['alb.ingress.kubernetes.io/certificate-arn']?.split(',') ?? [];
      expect(onListener).toContain(replacement.arn);
      expect(onListener).not.toContain(failed!.arn);
      const recs = await recordsFor(namespace);
      expect([recs.target.length, recs.ownership.length]).toEqual([1, 1]);
      figures.push({
        fault: `ACM certificate ${status}`,
        injected: proxy.stats().rewritten,
        firstRun: failureOf(first).failState ?? first.status,
        rerun: second.status,
        retries: retriesOf(first),
        duplicateCertificates: 0, // the failed certificate is retired, not a duplicate: only the replacement serves
        duplicateRecords: 0,
        lost: 0,
      });
    },
    120_000,
  );

  it('the API server stops and comes back during a run: ClusterUnreachable is retried, then the run succeeds', async () => {
    await tb.apiserver.stop();
    let restarted: Promise<void> | undefined;
    const result = await run(env, request('apiblip'), 'fault-apiserver-blip', {
      // Room for the API server to come back within ConfigureCluster's 5 retries.
      retryIntervalMs: 4000,
      onEvent: (e) => {
        if (e.type === 'StateRetrying' && e.error.name === 'ClusterUnreachable') restarted ??= tb.apiserver.start();
      },
    });
    await restarted;
    await tb.apiserver.start();
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    const configure = result.states.find((s) => s.name === 'ConfigureCluster')!;
    expect(configure.retries).toBeGreaterThanOrEqual(1);
    expect(
      result.events.some((e) => e.type === 'StateRetrying' && e.state === 'ConfigureCluster' && e.error.name === 'ClusterUnreachable'),
    ).toBe(true);
    const a = await expectConverged('apiblip');
    figures.push({
      fault: 'API server stopped, back within the retries',
      injected: 1,
      firstRun: result.status,
      retries: retriesOf(result),
      ...a,
    });
  }, 180_000);

  it('the API server stays down: ClusterUnreachable after the retries, then a rerun converges', async () => {
    await tb.apiserver.stop();
    let first: RunResult;
    try {
      first = await run(env, request('apidown'), 'fault-apiserver-down-1', { retryIntervalMs: 100 });
    } finally {
      await tb.apiserver.start();
    }
    expect(failureOf(first)).toMatchObject({ failState: 'ClusterUnreachable' });
    expect(failureOf(first).message).toMatch(/cannot reach the API server \(ECONNREFUSED\)/);
    expect(first.states.find((s) => s.name === 'ConfigureCluster')?.retries).toBe(5);
    expect((await recordsFor('apidown')).target).toEqual([]);

    const second = await run(env, request('apidown'), 'fault-apiserver-down-2');
    expect(second.status).toBe('SUCCEEDED');
    const a = await expectConverged('apidown');
    figures.push(rerunFigure('API server down for good', first, second, a));
  }, 180_000);

  describe("a new ALB's name that is not in DNS yet", () => {
    // The canary resolves the model host through the zone to the ALB's name, and
    // that name to the load-balancer stand-in through a host map. A host map that
    // starts empty is a resolver that does not know the new ALB's name yet.
    let dir: string;
    let delayedHostMap: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'kserve-edge-alb-dns-'));
      delayedHostMap = join(dir, 'alb-host-map.json');
      writeFileSync(delayedHostMap, '{}\n');
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    type CanaryAttempt = { ready: boolean; namespaces: Array<{ failureKind?: string }> };
    /** RunCanary's result after each attempt (a state's output is the whole state; the step's result is at $.canary). */
    const attemptOf = (e: RunEvent): CanaryAttempt | undefined =>
      e.type === 'StateSucceeded' && e.state === 'RunCanary' ? (e.output as { canary: CanaryAttempt }).canary : undefined;
    const canaryAttempts = (result: RunResult): CanaryAttempt[] => result.events.flatMap((e) => attemptOf(e) ?? []);

    it('resolves only after the first canary attempts: the run waits for the first green canary and succeeds', async () => {
      // Act: the name appears once two attempts have been red.
      let red = 0;
      const result = await run({ ...env, KSERVE_EDGE_HOST_MAP_FILE: delayedHostMap }, request('albdns'), 'fault-alb-dns-late', {
        onEvent: (e) => {
          const attempt = attemptOf(e);
          if (!attempt || attempt.ready) return;
          red += 1;
          if (red === 2) copyFileSync(tb.lb.hostMapFile, delayedHostMap);
        },
      });

      // Assess
      if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
      const attempts = canaryAttempts(result);
      expect(attempts.slice(0, 2).map((a) => [a.ready, a.namespaces.map((n) => n.failureKind)])).toEqual([
        [false, ['dns']],
        [false, ['dns']],
      ]);
      expect(attempts.at(-1)?.ready).toBe(true);
      expect(result.states.filter((s) => s.name === 'WaitForCanary')).toHaveLength(attempts.length - 1);
      expect(result.output).toMatchObject({
        canary: { ok: true, attempts: attempts.length, namespaces: [{ namespace: 'albdns', status: 200, prediction: [1, 1] }] },
      });
      const a = await expectConverged('albdns');
      figures.push({
        fault: "new ALB's name resolves after 2 canary attempts",
        injected: 2,
        firstRun: result.status,
        retries: retriesOf(result),
        ...a,
      });
    }, 180_000);

    it('never resolves: CanaryFailed at dns once deadlines.canarySeconds have passed, then a rerun converges', async () => {
      const first = await run(
        { ...env, KSERVE_EDGE_HOST_MAP_FILE: delayedHostMap },
        request('albdnsnever', { deadlines: { canarySeconds: 3 } }),
        'fault-alb-dns-never-1',
      );

      expect(failureOf(first)).toMatchObject({ failState: 'CanaryFailed' });
      expect(failureOf(first).message).toMatch(
        /^dns: namespace albdnsnever \(sklearn-irisv2\.albdnsnever\.platform\.example\.com\): .*still failing after \d+s and \d+ attempts \(deadline 3s\)$/,
      );
      const attempts = canaryAttempts(first);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(attempts.every((x) => !x.ready && x.namespaces[0]?.failureKind === 'dns')).toBe(true);

      const second = await run(env, request('albdnsnever'), 'fault-alb-dns-never-2');
      expect(second.status).toBe('SUCCEEDED');
      const a = await expectConverged('albdnsnever');
      figures.push(rerunFigure("the ALB's name never resolves", first, second, a));
    }, 180_000);
  });

  it('after every fault, one certificate serves each name set and nothing is left that is not ours', async () => {
    const { certificates } = await snapshot(tb);
    for (const c of certificates) expect(c.tags['kserve-edge:owner']).toBe('kserve-edge');
    const serving = [...certificatesByNameSet(certificates).entries()].map(([names, cs]) => [names, cs.length]);
    // Only the two name sets whose certificate was made to fail hold a retired one beside the replacement.
    for (const [names, count] of serving) {
      expect([names, count]).toEqual([names, /acmfailed|acmtimedout/.test(String(names)) ? 2 : 1]);
    }
  });
});
