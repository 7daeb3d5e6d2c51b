/**
 * Orchestration overhead on the testbed with every wait at zero (Wait states
 * skipped, retries at once, moto issuing certificates at once, the load
 * balancer stand-in publishing its address at once): what is left is the cost
 * of the workflow itself. The Task handlers are the Lambda bundles that
 * `bench/bundles.ts` built with serverless.yml's options, imported in-process,
 * so the minified code that ships is what runs. A fresh testbed per size.
 *
 * AWS calls are counted by a proxy in front of moto (bench/awsProxy.ts) and
 * attributed to the Task state that was running when they arrived.
 *
 * Each size runs twice: in an empty region, and with
 * {@link FOREIGN_CERTIFICATES} certificates that are not this run's already
 * in ACM (created in moto directly, not through the proxy or the product), so
 * what finding our certificates costs in a busy account shows.
 */
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { IRIS_INPUT, parseProvisionRequest } from '../shared/request';
import { probeEndpoint } from '../shared/canary/probe';
import type { Resolver } from '../shared/canary/resolver';
import { loadDefinition } from '../local/definition';
import { runStateMachine, type RunResult } from '../local/run';
import { startTestbed, type Testbed } from '../testbed/testbed';
import { type AwsCall, CountingProxy, peakPerSecond } from './awsProxy';
import type { BundleResult } from './bundles';
import { fmt, median, summarise, type Summary } from './lib';
import { EVENTS } from './waiting';

export const DOMAIN = 'bench.example.com';
const REGION = 'us-west-2';
/** This section's largest size: the cap before ALB shards (issue 11), kept so runs compare; larger sizes: bench/scale.ts. */
export const MAX_NAMESPACES = 24;
/** Certificates of others in the region for the second run of each size (the ~480 of issue 10 that exceeded 60 s). */
export const FOREIGN_CERTIFICATES = 500;

type Handler = (event: unknown, context?: unknown) => Promise<unknown>;

export async function bundledHandlers(
  bundles: ReadonlyArray<Pick<BundleResult, 'key' | 'file'>>,
): Promise<Record<string, (input: unknown) => Promise<unknown>>> {
  const def = loadDefinition();
  const out: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [state, s] of Object.entries(def.States)) {
    if (s.Type !== 'Task') continue;
    const key = String(s.Resource).split(':function:kserve-edge-')[1];
    const b = bundles.find((x) => x.key === key);
    if (!b) throw new Error(`no bundle for Task ${state} (function ${key})`);
    const mod = (await import(pathToFileURL(b.file).href)) as { handler: Handler };
    let n = 0;
    out[state] = (input) => mod.handler(input, { awsRequestId: `bench-${state}-${++n}`, functionName: key });
  }
  return out;
}

export interface StateTiming {
  state: string;
  type: string;
  visits: number;
  totalMs: number;
}

export interface OrchestrationRun {
  namespaces: number;
  /** Certificates not ours in the region before the run. */
  foreignCertificates: number;
  status: string;
  error?: string;
  wallMs: number;
  transitions: number;
  states: StateTiming[];
  calls: Record<string, number>;
  callsByState: Record<string, Record<string, number>>;
  totalCalls: number;
  route53Batches: Array<{ state: string; changes: number; resourceRecords: number }>;
  peakPerSecond: Record<string, number>;
  /** The Lambda time per Task state (for the cost section): sum of visit durations. */
  taskMs: Record<string, number>;
  testbedStartMs: number;
  /** The largest state input or output of the run (JSON bytes; Step Functions allows 262,144) and where. */
  largestPayload: { bytes: number; state: string; kind: 'input' | 'output' };
  /** History events Step Functions would record for these state visits (bench/waiting.ts EVENTS, retries excluded). */
  historyEvents: number;
}

export interface CanaryResult {
  requests: number;
  bareMs: Summary;
  probeMs: Summary;
  probeRoute53Ms: Summary;
  ratio: number;
  memory: { rssDeltaKiB: number; heapDeltaKiB: number; perProbeHeapKiB: number };
}

export interface OrchestrationSection {
  /** One run per size in an empty region. */
  runs: OrchestrationRun[];
  /** The same sizes with {@link FOREIGN_CERTIFICATES} foreign certificates in the region. */
  withForeign: OrchestrationRun[];
  canary?: CanaryResult;
}

function attribute(calls: AwsCall[], result: RunResult): Array<AwsCall & { state: string }> {
  const windows = result.states
    .filter((s) => s.type === 'Task')
    .map((s) => ({ state: s.name, from: Date.parse(s.startedAt), to: Date.parse(s.startedAt) + s.durationMs }));
  return calls.map((c) => ({ ...c, state: windows.find((w) => c.at >= w.from - 1 && c.at <= w.to + 1)?.state ?? '(outside a Task)' }));
}

function namespaceNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `team-${String(i + 1).padStart(2, '0')}`);
}

/**
 * Puts `count` certificates that are not ours into moto's ACM, straight to moto
 * (not counted, not the product): half carry the same owner tag key with
 * another owner (another kserve-edge install in the account), half other
 * tags, as a shared account's certificates would.
 */
async function seedForeignCertificates(motoUrl: string, count: number): Promise<void> {
  if (count === 0) return;
  const { ACMClient, RequestCertificateCommand } = await import('@aws-sdk/client-acm');
  const acm = new ACMClient({ endpoint: motoUrl, region: REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const tags =
        i % 2 === 0 ? [{ Key: 'kserve-edge:owner', Value: `other-install-${i % 7}` }] : [{ Key: 'team', Value: `team-${i % 13}` }];
      await acm.send(new RequestCertificateCommand({ DomainName: `svc-${i}.apps.other.example.org`, ValidationMethod: 'DNS', Tags: tags }));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  acm.destroy();
}

/** The largest state input/output of a run, from the runner's events. */
export function largestPayload(result: RunResult): OrchestrationRun['largestPayload'] {
  let best: OrchestrationRun['largestPayload'] = { bytes: 0, state: '', kind: 'input' };
  for (const e of result.events) {
    const [value, kind] =
      e.type === 'StateEntered'
        ? [e.input, 'input' as const]
        : e.type === 'StateSucceeded'
          ? [e.output, 'output' as const]
          : [undefined, 'input' as const];
    if (value === undefined) continue;
    const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
    if (bytes > best.bytes) best = { bytes, state: (e as { state: string }).state, kind };
  }
  return best;
}

/** History events of a run: 2 for the execution, then per state visit (bench/waiting.ts EVENTS). */
export function historyEventsOf(result: RunResult): number {
  return 2 + result.states.reduce((n, s) => n + (EVENTS[s.type as keyof typeof EVENTS] ?? 2) + 2 * s.retries, 0);
}

/** One whole provisioning run on a fresh testbed; the testbed is returned for the canary. */
export async function runOnce(
  n: number,
  proxy: CountingProxy,
  bundles: ReadonlyArray<Pick<BundleResult, 'key' | 'file'>>,
  log: (s: string) => void,
  keep: boolean,
  foreign = 0,
  names: (n: number) => string[] = namespaceNames,
  /** Request fields over the defaults (e.g. `hostnames: "flat"`); `tag` names the execution. */
  overrides: { request?: Record<string, unknown>; tag?: string } = {},
) {
  const t0 = performance.now();
  const tb = await startTestbed({
    authProvider: 'cognito',
    domain: DOMAIN,
    namespaces: names(n),
    clusterName: 'kubeflow',
    region: REGION,
    lbDelayMs: 0,
    acmValidationWaitSeconds: 0,
    // In-process handlers with the testbed's own key: IAM enforcement would evaluate none of their calls.
    iam: false,
  });
  const testbedStartMs = performance.now() - t0;
  await seedForeignCertificates(tb.motoUrl, foreign);
  const request = {
    domain: DOMAIN,
    cluster: { name: 'kubeflow', region: REGION },
    namespaces: names(n),
    auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
    canary: { expected: { outputName: 'predict', data: [1, 1] } },
    ...overrides.request,
  };
  // With the real controller, its AWS proxy (ELBv2 as AWS answers: real ALB DNS names, which GetLoadBalancerAddress looks up).
  const url = await proxyUrl(proxy);
  await proxy.setUpstream(tb.lb.awsProxy?.url ?? tb.motoUrl);
  const saved = { ...process.env };
  Object.assign(process.env, tb.env, { AWS_ENDPOINT_URL: url, LOG_LEVEL: 'silent' });
  await proxy.reset();
  let result: RunResult;
  try {
    const handlers = await bundledHandlers(bundles);
    result = await runStateMachine({
      definition: loadDefinition(),
      handlers,
      input: request,
      executionName: `bench-${n}-${foreign}${overrides.tag ? `-${overrides.tag}` : ''}`,
      waitSeconds: 0,
      retryIntervalMs: 0,
    });
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  const calls = attribute(await proxy.calls(), result);
  const byOp: Record<string, number> = {};
  const byState: Record<string, Record<string, number>> = {};
  const byOpCalls = new Map<string, AwsCall[]>();
  for (const c of calls) {
    const op = `${c.service}:${c.operation}`;
    byOp[op] = (byOp[op] ?? 0) + 1;
    (byState[c.state] ??= {})[op] = (byState[c.state]![op] ?? 0) + 1;
    byOpCalls.set(op, [...(byOpCalls.get(op) ?? []), c]);
  }
  const states = new Map<string, StateTiming>();
  const taskMs: Record<string, number> = {};
  for (const s of result.states) {
    const t = states.get(s.name) ?? { state: s.name, type: s.type, visits: 0, totalMs: 0 };
    t.visits += 1;
    t.totalMs += s.durationMs;
    states.set(s.name, t);
    if (s.type === 'Task') taskMs[s.name] = (taskMs[s.name] ?? 0) + s.durationMs;
  }
  const run: OrchestrationRun = {
    namespaces: n,
    foreignCertificates: foreign,
    status: result.status,
    ...(result.error ? { error: `${result.error.name}: ${result.error.cause.slice(0, 300)}` } : {}),
    wallMs: result.durationMs,
    transitions: result.states.length,
    states: [...states.values()],
    calls: byOp,
    callsByState: byState,
    totalCalls: calls.length,
    route53Batches: calls
      .filter((c) => c.operation === 'ChangeResourceRecordSets')
      .map((c) => ({ state: c.state, changes: c.changes ?? 0, resourceRecords: c.resourceRecords ?? 0 })),
    peakPerSecond: Object.fromEntries([...byOpCalls.entries()].map(([op, cs]) => [op, peakPerSecond(cs)])),
    taskMs,
    testbedStartMs,
    largestPayload: largestPayload(result),
    historyEvents: historyEventsOf(result),
  };
  log(
    `  ${n} namespace(s), ${foreign} foreign certificates: ${run.status} in ${fmt(run.wallMs / 1000, 2)} s, ${run.transitions} transitions, ${run.totalCalls} AWS calls`,
  );
  if (!keep) {
    await tb.stop();
    return { run };
  }
  return { run, tb, request, result };
}

let sharedProxy: CountingProxy | undefined;
/**
 * The bench process's one counting proxy. One for every section: the bundles
 * run in this process and cache their SDK clients with the first endpoint
 * they saw, so a second proxy on another port would never be called (and the
 * first, stopped, refuses the connection).
 */
export function benchProxy(): CountingProxy {
  sharedProxy ??= new CountingProxy();
  return sharedProxy;
}

/** Stops the bench process's proxy (at the end of the bench). */
export async function stopBenchProxy(): Promise<void> {
  const proxy = sharedProxy;
  sharedProxy = undefined;
  await proxy?.stop();
}

/** Each proxy's URL, once started. */
const proxyUrls = new WeakMap<CountingProxy, Promise<string>>();
export function proxyUrl(proxy: CountingProxy): Promise<string> {
  let url = proxyUrls.get(proxy);
  if (!url) {
    url = proxy.start();
    proxyUrls.set(proxy, url);
  }
  return url;
}

/** The bare client: node:https, a new TLS connection per request, as the probe makes it. */
function bareRequest(port: number, host: string, path: string, headers: Record<string, string>, body: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        servername: host,
        path,
        method: 'POST',
        headers: { host, ...headers, 'content-length': String(Buffer.byteLength(body)) },
        ca,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (res.statusCode !== 200) reject(new Error(`bare request: HTTP ${res.statusCode}`));
          else resolve(performance.now() - t0);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The canary's probe against a bare node:https client: same request, same
 * endpoint (the testbed ALB for namespace 1), alternating, `n` each. The probe
 * gets a fixed resolver (as the system resolver answers from cache in
 * production); the testbed's Route 53 resolver is timed separately.
 */
async function benchCanary(tb: Testbed, requestInput: unknown, n: number): Promise<CanaryResult> {
  const request = parseProvisionRequest(requestInput);
  const ns = request.namespaces[0]!;
  const info = await tb.lb.waitForAlb('istio-system', 'istio-ingress-api');
  const port = Number(info.listeners['443']?.split(':')[1]);
  const host = `${request.canary.model}.${ns}.${DOMAIN}`;
  const path = `/v2/models/${request.canary.model}/infer`;
  const token = tb.secrets.apiTokens[0]!;
  const body = JSON.stringify(IRIS_INPUT);
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': 'kserve-edge-canary',
    'x-api-key': token,
  };
  const fixed = { resolve: async () => ({ address: '127.0.0.1', port, chain: [host] }) };
  const { Route53Resolver } = await import('../shared/canary/resolver');
  const { Route53Adapter } = await import('../shared/aws/route53');
  const { Route53Client } = await import('@aws-sdk/client-route-53');
  const route53 = new Route53Adapter(
    new Route53Client({ endpoint: tb.motoUrl, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }),
  );
  // A new resolver per probe: it reads the zone once per canary run, so each probe here is a run of one.
  const r53 = (): Resolver => new Route53Resolver({ route53, zoneId: tb.hostedZoneId, hostMapFile: tb.lb.hostMapFile });
  const credentials = { kind: 'header' as const, name: 'x-api-key', value: token };
  const probe = async (resolver: Resolver): Promise<number> => {
    const t0 = performance.now();
    const r = await probeEndpoint({ request, namespace: ns, credentials, resolver, extraCa: tb.caPem, now: () => new Date() });
    if (!r.ok) throw new Error(`probe failed: ${r.failureKind} ${r.message}`);
    return performance.now() - t0;
  };
  // Warm-up: first TLS handshakes and code paths.
  for (let i = 0; i < 5; i++) {
    await bareRequest(port, host, path, headers, body, tb.caPem);
    await probe(fixed);
  }
  const bare: number[] = [];
  const probed: number[] = [];
  const viaRoute53: number[] = [];
  global.gc?.();
  const before = process.memoryUsage();
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      bare.push(await bareRequest(port, host, path, headers, body, tb.caPem));
      probed.push(await probe(fixed));
    } else {
      probed.push(await probe(fixed));
      bare.push(await bareRequest(port, host, path, headers, body, tb.caPem));
    }
  }
  const afterProbes = process.memoryUsage();
  for (let i = 0; i < Math.min(n, 20); i++) viaRoute53.push(await probe(r53()));
  global.gc?.();
  const after = process.memoryUsage();
  return {
    requests: n,
    bareMs: summarise(bare),
    probeMs: summarise(probed),
    probeRoute53Ms: summarise(viaRoute53),
    ratio: median(probed) / median(bare),
    memory: {
      rssDeltaKiB: Math.round((after.rss - before.rss) / 1024),
      heapDeltaKiB: Math.round((after.heapUsed - before.heapUsed) / 1024),
      perProbeHeapKiB: Math.round(((afterProbes.heapUsed - before.heapUsed) / n / 1024) * 10) / 10,
    },
  };
}

export async function benchOrchestration(
  bundles: ReadonlyArray<Pick<BundleResult, 'key' | 'file'>>,
  sizes: number[],
  canaryRequests: number,
  log: (s: string) => void = () => undefined,
  foreign = FOREIGN_CERTIFICATES,
): Promise<OrchestrationSection> {
  const proxy = benchProxy();
  const runs: OrchestrationRun[] = [];
  const withForeign: OrchestrationRun[] = [];
  let canary: CanaryResult | undefined;
  {
    for (const n of sizes) {
      const keep = n === sizes[0] && canaryRequests > 0;
      const { run, tb, request } = await runOnce(n, proxy, bundles, log, keep);
      runs.push(run);
      if (tb) {
        try {
          if (run.status === 'SUCCEEDED') {
            canary = await benchCanary(tb, request, canaryRequests);
            log(`  canary: probe ${fmt(canary.probeMs.median)} ms vs bare ${fmt(canary.bareMs.median)} ms (×${fmt(canary.ratio, 2)})`);
          }
        } finally {
          await tb.stop();
        }
      }
      if (foreign > 0) withForeign.push((await runOnce(n, proxy, bundles, log, false, foreign)).run);
    }
  }
  return { runs, withForeign, ...(canary ? { canary } : {}) };
}
