/**
 * Hundreds of namespaces (issue 11): one provisioning run per size on a
 * fresh testbed (waits at zero, the real AWS Load Balancer Controller, ELBv2's
 * default quota of 25 certificates per ALB, read through DescribeAccountLimits),
 * measured for what limits an execution: wall time, state transitions,
 * history events, the largest state payload, calls per AWS operation with
 * their peak rate, Route 53 batches, and the ALB shards it ended with.
 *
 * Then, on the largest deployment, one new namespace: the time from
 * "namespace created" to "first green canary" with every wait at zero (what
 * the workflow itself costs), and that figure plus ACM's validation time as
 * a parameter, rounded up to when CheckCertificates' growing poll interval
 * sees the certificate issued (shared/plan/polling.ts).
 *
 *   npx tsx bench/scale.ts [sizes…]    # default 1 24 100 500; rewrites the scale section of docs/benchmarks.md
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { loadDefinition } from '../local/definition';
import { runStateMachine } from '../local/run';
import { nextPollDelay } from '../shared/plan/polling';
import { shardsNeeded } from '../shared/plan/shards';
import { MAX_NAMESPACES } from '../shared/request';
import type { Testbed } from '../testbed/testbed';
import { CountingProxy } from './awsProxy';
import { benchBundles, type BundleResult } from './bundles';
import { fmt, ROOT, table } from './lib';
import { benchProxy, bundledHandlers, historyEventsOf, proxyUrl, runOnce, stopBenchProxy, type OrchestrationRun } from './orchestration';

export const SCALE_SIZES = [1, 24, 100, 500];
/** ACM validation times the new-namespace figure is given for (seconds): at once, typical, slow, ACM's 30 min note. */
export const ACM_VALIDATION_SECONDS = [0, 30, 120, 600, 1800];
/** Step Functions' limits the runs are measured against. */
export const SFN_MAX_PAYLOAD = 262_144;
export const SFN_MAX_HISTORY = 25_000;

/** The hostname layout of a run (README "Hostnames: three layouts"). */
export type Layout = 'nested' | 'flat';

export interface ScaleRun extends OrchestrationRun {
  layout: Layout;
  shards: number;
}

export interface NewNamespace {
  layout: Layout;
  /** Namespaces served before it came. */
  existing: number;
  status: string;
  /** Namespace created (and its InferenceService) to the run's end with the first green canary, every wait at zero. */
  wallMs: number;
  transitions: number;
  historyEvents: number;
  /** What the run wrote for it: certificates requested and Route 53 change batches. */
  certificatesRequested: number;
  recordBatches: number;
  /** The new namespace's canary answer in that run (HTTP status; 200 = green). */
  canaryStatus?: number;
}

export interface ScaleSection {
  runs: ScaleRun[];
  newNamespace: NewNamespace[];
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `ns-${String(i + 1).padStart(3, '0')}`);

/** Seconds from the certificate request until CheckCertificates sees it issued after `validation` s (its poll schedule). */
export function certificateSeen(validation: number, deadline = 72 * 3600): number {
  let t = 0;
  while (t < validation) t += nextPollDelay(t, deadline);
  return t;
}

/**
 * The deployment a new namespace is measured on: the largest size that can
 * take one more namespace within a request's maximum (500 itself cannot: a
 * 501st namespace is InvalidRequest by design).
 */
export function newNamespaceSize(sizes: readonly number[]): number | undefined {
  const fits = sizes.filter((n) => n + 1 <= MAX_NAMESPACES);
  return fits.length > 0 ? Math.max(...fits) : undefined;
}

/**
 * One new profile namespace with its model, on a deployment the testbed
 * serves, then the run the event path starts for it (nested: the run that
 * requests its certificate and writes its record; flat: the first-canary run
 * of `firstCanaryRuns`, which writes nothing). Timed from the namespace's
 * creation to the run's end, whose RunCanary is the first green canary.
 */
async function addNamespace(
  tb: Testbed,
  request: Record<string, unknown>,
  existing: number,
  layout: Layout,
  proxy: CountingProxy,
  bundles: ReadonlyArray<Pick<BundleResult, 'key' | 'file'>>,
  log: (s: string) => void,
): Promise<NewNamespace> {
  const ns = 'ns-new';
  const admin = tb.kubeAdmin();
  const saved = { ...process.env };
  const handlers = await bundledHandlers(bundles);
  Object.assign(process.env, tb.env, { AWS_ENDPOINT_URL: await proxyUrl(proxy), LOG_LEVEL: 'silent' });
  await proxy.reset();
  try {
    const t0 = performance.now();
    await admin.apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'app.kubernetes.io/part-of': 'kubeflow-profile' } } },
      { fieldManager: 'bench', force: true },
    );
    await admin.apply(
      {
        apiVersion: 'serving.kserve.io/v1beta1',
        kind: 'InferenceService',
        metadata: { name: 'sklearn-irisv2', namespace: ns },
        spec: { predictor: { sklearn: { protocolVersion: 'v2', storageUri: 'gs://seldon-models/sklearn/iris' } } },
      },
      { fieldManager: 'bench', force: true },
    );
    const result = await runStateMachine({
      definition: loadDefinition(),
      handlers,
      input: { ...request, namespaces: [...(request.namespaces as string[]), ns] },
      executionName: `bench-new-${layout}-${existing}`,
      waitSeconds: 0,
      retryIntervalMs: 0,
    });
    const wallMs = performance.now() - t0;
    const canary = (result.output as { canary?: { namespaces?: Array<{ namespace: string; status?: number }> } } | undefined)?.canary;
    const mine = canary?.namespaces?.find((c) => c.namespace === ns);
    const calls = await proxy.calls();
    const out: NewNamespace = {
      layout,
      existing,
      status: result.status,
      wallMs,
      transitions: result.states.length,
      historyEvents: historyEventsOf(result),
      certificatesRequested: calls.filter((c) => c.operation === 'RequestCertificate').length,
      recordBatches: calls.filter((c) => c.operation === 'ChangeResourceRecordSets').length,
      ...(mine?.status !== undefined ? { canaryStatus: mine.status } : {}),
    };
    log(
      `  new namespace (${layout}) on ${existing}: ${result.status} in ${fmt(wallMs / 1000, 1)} s, ` +
        `${out.certificatesRequested} certificate(s) requested, ${out.recordBatches} Route 53 batch(es), canary ${out.canaryStatus ?? 'not listed'}`,
    );
    return out;
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/**
 * Runs every size in the nested layout (per-namespace certificates, ALB
 * shards), then the flat layout at the new-namespace size, and adds one
 * namespace to each of those two deployments.
 */
export async function benchScale(
  bundles: ReadonlyArray<Pick<BundleResult, 'key' | 'file'>>,
  sizes: number[] = SCALE_SIZES,
  log: (s: string) => void = () => undefined,
  /** Called with what is measured so far after each run (the doc is written as it goes). */
  progress: (partial: ScaleSection) => void = () => undefined,
): Promise<ScaleSection> {
  const proxy = benchProxy();
  const runs: ScaleRun[] = [];
  const newNamespace: NewNamespace[] = [];
  const newOn = newNamespaceSize(sizes);
  const plan: Array<{ n: number; layout: Layout }> = [
    ...sizes.map((n) => ({ n, layout: 'nested' as const })),
    ...(newOn !== undefined ? [{ n: newOn, layout: 'flat' as const }] : []),
  ];
  {
    for (const { n, layout } of plan) {
      const keep = n === newOn;
      const once = await runOnce(
        n,
        proxy,
        bundles,
        log,
        keep,
        0,
        names,
        layout === 'flat' ? { request: { hostnames: 'flat' }, tag: 'flat' } : {},
      );
      runs.push({ ...once.run, layout, shards: layout === 'flat' ? 1 : shardsNeeded(n, 25) });
      progress({ runs, newNamespace });
      log(
        `    payload ≤ ${once.run.largestPayload.bytes} B (${once.run.largestPayload.state} ${once.run.largestPayload.kind}), ` +
          `${once.run.historyEvents} history events, ${once.run.route53Batches.length} Route 53 batches`,
      );
      if (!once.tb) continue;
      try {
        if (once.run.status === 'SUCCEEDED') {
          newNamespace.push(await addNamespace(once.tb, once.request as Record<string, unknown>, n, layout, proxy, bundles, log));
          progress({ runs, newNamespace });
        }
      } finally {
        await once.tb.stop();
      }
    }
  }
  return { runs, newNamespace };
}

const kB = (b: number) => `${fmt(b / 1024, 1)} KiB`;

/** How to read the tables (the same for every run). */
export const SCALE_NOTES = [
  'Reading the numbers: history events and transitions do not grow with namespaces (one execution, the same states; with',
  'every wait at zero the check loops spin, so their counts measure the testbed, not the schedule: with real waits a run stays',
  "near 300 events, docs on waiting above). The payload grows with the namespaces (the certificate items, each shard's",
  'expected certificates, the canary summary); above 100 entries the outputs list only what changed or failed and count the',
  "rest. The canary's testbed resolver reads the zone once per RunCanary attempt (GetHostedZone, then ListResourceRecordSets",
  'at 300 record sets a page) and answers every host from that read; in AWS the canary resolves through DNS and makes no',
  'Route 53 calls. ACM peaks above its rate are the per-process pacing meeting at a step boundary',
  "(section 2): the steps pace at 80 % each, the account's limit is shared; Throttled is retried by the state machine.",
].join('\n');

/** What earlier runs found and what was changed for it (fixed history, not measured by this run). */
export const SCALE_HISTORY = [
  '**History** (earlier runs of this bench, 2026-12-02). The first 500-namespace run reached RunCanary in ~6.5 min and stalled',
  "there: the canary's testbed resolver queued ~25,000 per-host reads of moto (it now reads the zone once per attempt). The",
  "second ran the canary at once but 208 of 500 hosts answered HTTP 500 from the testbed's nginx (512 worker connections; a",
  "probe holds one at every hop): CanaryFailed after 98 attempts, and RunCanary's output with 208 red namespaces and their",
  "error pages was 377.6 KiB, over Step Functions' 256 KiB (now nginx has 8,192 connections and RunCanary lists at most 100",
  'red namespaces, reasons cut at 300 characters). The third (09:40 UTC) SUCCEEDED in 419 s with a largest payload of 213.5 KiB',
  'and 878 history events (RunCanary spun 84 attempts while the ALB stand-in registered the last shards). Since then:',
  'PublishValidationRecords writes only the validation CNAMEs the zone lacks (every run used to re-send all of them: 3',
  'batches of 501 records at 500 namespaces), the sweep and the event path carry up to 500 namespaces (they refused more',
  'than 24), and each step leaves the account quota room for the step before it (ACM peaked at 14–16 calls a second at',
  'step boundaries, over its 10/s, with each step pacing itself at 8/s).',
].join('\n');

/**
 * The largest run against Step Functions' and Route 53's limits, as measured
 * (empty when nothing ran).
 */
function limitsLine(runs: readonly ScaleRun[]): string[] {
  const r = [...runs].sort((a, b) => b.namespaces - a.namespaces)[0];
  if (!r) return [];
  const pct = (v: number, of: number) => `${fmt((100 * v) / of, 1)} %`;
  const largest = Math.max(0, ...r.route53Batches.map((b) => b.resourceRecords));
  const perState = new Map<string, number>();
  for (const b of r.route53Batches) perState.set(b.state, (perState.get(b.state) ?? 0) + 1);
  return [
    `At ${r.namespaces} namespaces (${r.status}): largest payload ${kB(r.largestPayload.bytes)} (${pct(r.largestPayload.bytes, SFN_MAX_PAYLOAD)} of`,
    `${kB(SFN_MAX_PAYLOAD)}, ${r.largestPayload.state} ${r.largestPayload.kind}), ${r.historyEvents} history events (${pct(r.historyEvents, SFN_MAX_HISTORY)} of`,
    `${SFN_MAX_HISTORY.toLocaleString('en-US')}), ${r.route53Batches.length} Route 53 batches (${[...perState].map(([st, c]) => `${c} ${st}`).join(', ') || 'none'}), the`,
    `largest ${largest} records of 1,000, ${r.totalCalls} AWS calls.`,
    '',
  ];
}

/** The new namespace's canary as the run reported it (above 100 namespaces RunCanary lists only red ones). */
function canaryOf(x: NewNamespace): string {
  if (x.canaryStatus !== undefined) return `HTTP ${x.canaryStatus}`;
  return x.status === 'SUCCEEDED' ? 'green (counted, not listed: a run succeeds only when every canary is green)' : 'not listed';
}

/** The scale section of docs/benchmarks.md, between its markers. */
export function scaleMarkdown(s: ScaleSection, when: string): string {
  const ops = [...new Set(s.runs.flatMap((r) => Object.keys(r.calls)))].sort();
  const lines = [
    '<!-- scale:begin -->',
    '## Hundreds of namespaces: ALB shards and the limits of one execution (issue 11)',
    '',
    `Measured by \`npx tsx bench/scale.ts\` (also part of \`npm run bench\`) on ${when}: one provisioning run per size on a fresh`,
    'testbed, every wait at zero, the real AWS Load Balancer Controller, ELBv2 quota `certificates-per-application-load-balancer` 25',
    '(read through DescribeAccountLimits). Payload = the largest state input or output (JSON); history events = what Step Functions',
    'would record for these state visits (5 per Task, 2 per other state, 2 per retry).',
    '',
    table(
      [
        'namespaces',
        'layout',
        'status',
        'ALB shards',
        'wall s',
        'transitions',
        'history events',
        'largest payload',
        'where',
        'AWS calls',
        'Route 53 batches (largest, records)',
      ],
      s.runs.map((r) => [
        r.namespaces,
        r.layout,
        r.status + (r.error ? ` (${r.error.slice(0, 80)})` : ''),
        r.shards,
        fmt(r.wallMs / 1000, 1),
        r.transitions,
        r.historyEvents,
        kB(r.largestPayload.bytes),
        `${r.largestPayload.state} ${r.largestPayload.kind}`,
        r.totalCalls,
        `${r.route53Batches.length} (${Math.max(0, ...r.route53Batches.map((b) => b.resourceRecords))})`,
      ]),
    ),
    '',
    `Limits: payload ${kB(SFN_MAX_PAYLOAD)}, history ${SFN_MAX_HISTORY.toLocaleString('en-US')} events, Route 53 1,000 records per batch (UPSERT twice).`,
    '',
    ...limitsLine(s.runs),
    SCALE_NOTES,
    '',
    SCALE_HISTORY,
    '',
    '### Calls per operation (peak per second)',
    '',
    table(
      ['operation', ...s.runs.map((r) => `${r.namespaces} ns${r.layout === 'flat' ? ' flat' : ''}`)],
      ops.map((op) => [`\`${op}\``, ...s.runs.map((r) => (r.calls[op] ? `${r.calls[op]} (${r.peakPerSecond[op] ?? 0}/s)` : '–'))]),
    ),
    '',
  ];
  const nested = s.newNamespace.find((x) => x.layout === 'nested');
  const flat = s.newNamespace.find((x) => x.layout === 'flat');
  if (nested || flat) {
    const what = (x: NewNamespace) =>
      `${x.layout}, on ${x.existing} namespaces: ${x.status} in **${fmt(x.wallMs / 1000, 1)} s**, ${x.transitions} transitions, ` +
      `${x.historyEvents} history events, ${x.certificatesRequested} certificate(s) requested, ${x.recordBatches} Route 53 change batch(es), ` +
      `the new namespace's canary ${canaryOf(x)}`;
    lines.push(
      '### A new namespace: created → first green canary',
      '',
      'Timed from the Namespace and its InferenceService being created to the end of the run the event path starts for it, whose',
      'RunCanary is the first green canary, every wait at zero. Nested: that run requests the namespace certificate and writes its',
      "record. Flat: the namespace is served by the `*.<domain>` certificate and record already, and the event path's run",
      '(`firstCanaryRuns`, shared/plan/lifecycle.ts) writes nothing and only probes.',
      '',
      ...s.newNamespace.map((x) => `- ${what(x)}.`),
      '',
      "ACM's validation time V is the parameter: CheckCertificates polls on a growing interval (5 s, then a quarter of the time waited),",
      'so the certificate is seen at the first check after V. Not included: the audit-log delivery to the event Lambda (seconds),',
      "Route 53's INSYNC (usually under a minute in AWS; nested only) and, when the namespace opens a new ALB shard, the new ALB's",
      'provisioning and DNS (minutes).',
      '',
      table(
        ['ACM validation V', 'certificate seen at', 'created → first green canary, nested', 'created → first green canary, flat'],
        ACM_VALIDATION_SECONDS.map((v) => [
          `${v} s`,
          `${certificateSeen(v)} s`,
          nested ? `${fmt(certificateSeen(v) + nested.wallMs / 1000, 1)} s` : 'not measured',
          flat ? `${fmt(flat.wallMs / 1000, 1)} s (no certificate: V does not apply)` : 'not measured',
        ]),
      ),
      '',
    );
  }
  lines.push('<!-- scale:end -->');
  return lines.join('\n');
}

/** Puts the section into docs/benchmarks.md (replacing the previous one, or at the end). */
export function writeScaleSection(markdown: string, file = join(ROOT, 'docs', 'benchmarks.md')): void {
  const doc = readFileSync(file, 'utf8');
  const re = /<!-- scale:begin -->[\s\S]*<!-- scale:end -->/;
  writeFileSync(file, re.test(doc) ? doc.replace(re, markdown) : `${doc.trimEnd()}\n\n${markdown}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const log = (s: string): void => console.log(s);
  const bundles = await benchBundles(1, log);
  const when = new Date().toISOString().slice(0, 10);
  const section = await benchScale(bundles.results, sizes.length > 0 ? sizes : SCALE_SIZES, log, (partial) =>
    writeScaleSection(scaleMarkdown(partial, when)),
  );
  writeScaleSection(scaleMarkdown(section, when));
  await stopBenchProxy();
  log('docs/benchmarks.md: scale section written');
}
