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
import { CountingProxy } from './awsProxy';
import { benchBundles, type BundleResult } from './bundles';
import { fmt, ROOT, table } from './lib';
import { bundledHandlers, historyEventsOf, largestPayload, proxyUrl, runOnce, type OrchestrationRun } from './orchestration';

export const SCALE_SIZES = [1, 24, 100, 500];
/** ACM validation times the new-namespace figure is given for (seconds): at once, typical, slow, ACM's 30 min note. */
export const ACM_VALIDATION_SECONDS = [0, 30, 120, 600, 1800];
/** Step Functions' limits the runs are measured against. */
export const SFN_MAX_PAYLOAD = 262_144;
export const SFN_MAX_HISTORY = 25_000;

export interface ScaleRun extends OrchestrationRun {
  shards: number;
}

export interface NewNamespace {
  /** Namespaces served before it came. */
  existing: number;
  status: string;
  /** Run start to the first green canary, every wait at zero. */
  wallMs: number;
  transitions: number;
  historyEvents: number;
}

export interface ScaleSection {
  runs: ScaleRun[];
  newNamespace?: NewNamespace;
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `ns-${String(i + 1).padStart(3, '0')}`);

/** Seconds from the certificate request until CheckCertificates sees it issued after `validation` s (its poll schedule). */
export function certificateSeen(validation: number, deadline = 72 * 3600): number {
  let t = 0;
  while (t < validation) t += nextPollDelay(t, deadline);
  return t;
}

/** Runs every size, then adds one namespace to the largest. */
export async function benchScale(
  bundles: ReadonlyArray<Pick<BundleResult, 'key' | 'file'>>,
  sizes: number[] = SCALE_SIZES,
  log: (s: string) => void = () => undefined,
  /** Called with what is measured so far after each run (the doc is written as it goes). */
  progress: (partial: ScaleSection) => void = () => undefined,
): Promise<ScaleSection> {
  const proxy = new CountingProxy();
  const runs: ScaleRun[] = [];
  let newNamespace: NewNamespace | undefined;
  try {
    for (const n of sizes) {
      const largest = n === Math.max(...sizes);
      const once = await runOnce(n, proxy, bundles, log, largest, 0, names);
      runs.push({ ...once.run, shards: shardsNeeded(n, 25) });
      progress({ runs });
      log(
        `    payload ≤ ${once.run.largestPayload.bytes} B (${once.run.largestPayload.state} ${once.run.largestPayload.kind}), ` +
          `${once.run.historyEvents} history events, ${once.run.route53Batches.length} Route 53 batches`,
      );
      if (!once.tb) continue;
      const tb = once.tb;
      try {
        if (once.run.status !== 'SUCCEEDED') continue;
        // A new profile namespace appears; the event path starts a run for every namespace (as the sweep does).
        const ns = `ns-new`;
        const admin = tb.kubeAdmin();
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
        const saved = { ...process.env };
        Object.assign(process.env, tb.env, { AWS_ENDPOINT_URL: await proxyUrl(proxy), LOG_LEVEL: 'silent' });
        try {
          const t0 = performance.now();
          const result = await runStateMachine({
            definition: loadDefinition(),
            handlers: await bundledHandlers(bundles),
            input: { ...(once.request as Record<string, unknown>), namespaces: [...names(n), ns] },
            executionName: `bench-new-${n}`,
            waitSeconds: 0,
            retryIntervalMs: 0,
          });
          newNamespace = {
            existing: n,
            status: result.status,
            wallMs: performance.now() - t0,
            transitions: result.states.length,
            historyEvents: historyEventsOf(result),
          };
          log(
            `  new namespace on ${n}: ${result.status} in ${fmt(newNamespace.wallMs / 1000, 1)} s (largest payload ${largestPayload(result).bytes} B)`,
          );
          progress({ runs, newNamespace });
        } finally {
          for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
          Object.assign(process.env, saved);
        }
      } finally {
        await tb.stop();
      }
    }
  } finally {
    await proxy.stop();
  }
  return { runs, ...(newNamespace ? { newNamespace } : {}) };
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
    '### Calls per operation (peak per second)',
    '',
    table(
      ['operation', ...s.runs.map((r) => `${r.namespaces} ns`)],
      ops.map((op) => [`\`${op}\``, ...s.runs.map((r) => (r.calls[op] ? `${r.calls[op]} (${r.peakPerSecond[op] ?? 0}/s)` : '–'))]),
    ),
    '',
  ];
  const nn = s.newNamespace;
  if (nn) {
    lines.push(
      '### A new namespace: created → first green canary',
      '',
      `Measured on the ${nn.existing}-namespace deployment (nested layout: one new certificate, one record): the run the event path starts`,
      `(every namespace, the new one included) took **${fmt(nn.wallMs / 1000, 1)} s** with every wait at zero (${nn.status}, ${nn.transitions} transitions,`,
      `${nn.historyEvents} history events). ACM's validation time V is the parameter; CheckCertificates polls on a growing interval`,
      '(5 s, then a quarter of the time waited), so the certificate is seen at the first check after V. Not included: the audit-log',
      "delivery to the event Lambda (seconds), Route 53's INSYNC (usually under a minute in AWS) and the new ALB name's DNS",
      'propagation (none here: the namespace joins an existing shard unless it opens a new one).',
      '',
      table(
        ['ACM validation V', 'certificate seen at', 'created → first green canary (nested)', 'flat layout'],
        ACM_VALIDATION_SECONDS.map((v) => [
          `${v} s`,
          `${certificateSeen(v)} s`,
          `${fmt(certificateSeen(v) + nn.wallMs / 1000, 1)} s`,
          'no certificate and no record: measured by the flat-hostnames branch',
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
  log('docs/benchmarks.md: scale section written');
}
