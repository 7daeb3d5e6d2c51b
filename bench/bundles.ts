/**
 * Lambda bundles: each function's handler bundled with esbuild using the
 * options serverless.yml gives serverless-esbuild (plugins included), its size
 * unzipped and deflated (as in the deployment zip), and its cold start: the
 * time a fresh Node process takes to import the bundle, outside the repository
 * (no node_modules to fall back on), median of `runs` processes.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { fmt, kb, median, ROOT, serverlessConfig, summarise, type Summary, table, verdict, WORK_DIR } from './lib';

export const BUNDLE_DIR = join(WORK_DIR, 'bundles');

/** Targets of issue 6 (kB = 1,000 bytes, of the minified bundle as Node loads it). */
export const TARGETS = {
  plain: { bytes: 400_000, importMs: 50 },
  kubernetes: { bytes: 1_500_000, importMs: 80 },
} as const;

export interface BundleResult {
  key: string;
  handler: string;
  /** Absolute path of the handler bundle. */
  file: string;
  kubernetes: boolean;
  bytes: number;
  deflatedBytes: number;
  /** Largest inputs, by bytes in the output, grouped by package. */
  topInputs: Array<{ name: string; bytes: number }>;
  importMs: Summary;
  /** CPU time (user + system, all threads) of the import: less sensitive to a busy machine than wall time. */
  importCpuMs: Summary;
  memorySize: number;
}

function packageOf(input: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return m ? m[1]! : input.split('/').slice(0, 2).join('/');
}

/** Builds every function; the bundles land in `.testbed/bench/bundles/<key>/`. */
export async function buildBundles(): Promise<Array<Omit<BundleResult, 'importMs' | 'importCpuMs'>>> {
  const cfg = serverlessConfig();
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  const out: Array<Omit<BundleResult, 'importMs' | 'importCpuMs'>> = [];
  for (const fn of cfg.functions) {
    const entryBase = fn.handler.slice(0, fn.handler.lastIndexOf('.'));
    const entry = join(ROOT, `${entryBase}.ts`);
    const outdir = join(BUNDLE_DIR, fn.key, dirname(entryBase));
    const result = await esbuild.build({
      ...cfg.esbuild,
      absWorkingDir: ROOT,
      entryPoints: [entry],
      outdir,
      metafile: true,
      logLevel: 'error',
    });
    let bytes = 0;
    let deflated = 0;
    let file = '';
    const inputs = new Map<string, number>();
    for (const [path, o] of Object.entries(result.metafile.outputs)) {
      const abs = join(ROOT, path);
      bytes += o.bytes;
      deflated += deflateRawSync(readFileSync(abs)).length;
      if (o.entryPoint) file = abs;
      for (const [input, i] of Object.entries(o.inputs))
        inputs.set(packageOf(input), (inputs.get(packageOf(input)) ?? 0) + i.bytesInOutput);
    }
    out.push({
      key: fn.key,
      handler: fn.handler,
      file,
      kubernetes: inputs.has('@kubernetes/client-node'),
      bytes,
      deflatedBytes: deflated,
      topInputs: [...inputs.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([name, b]) => ({ name, bytes: b })),
      memorySize: fn.memorySize,
    });
  }
  return out;
}

const IMPORT_PROBE =
  "const c0 = process.cpuUsage(); const t0 = performance.now(); const m = await import(process.argv[1]); const t1 = performance.now(); const c = process.cpuUsage(c0); if (typeof m.handler !== 'function') process.exit(3); process.stdout.write(JSON.stringify({ importMs: t1 - t0, cpuMs: (c.user + c.system) / 1000 }));";

/** Import time of one module in `runs` fresh Node processes (ms); `cpu` collects the process CPU time of the import. */
export function importTimes(file: string, runs: number, cpu: number[] = []): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', IMPORT_PROBE, file], {
      cwd: dirname(file),
      env: { PATH: process.env.PATH ?? '', HOME: dirname(file), AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-west-2' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`${file} does not load: ${(r.stderr || r.stdout).split('\n').slice(0, 5).join(' | ')}`);
    const parsed = JSON.parse(r.stdout) as { importMs: number; cpuMs: number };
    times.push(parsed.importMs);
    cpu.push(parsed.cpuMs);
  }
  return times;
}

export interface BundlesSection {
  results: BundleResult[];
  baselineImportMs: Summary;
  runs: number;
}

export async function benchBundles(runs = 15, log: (s: string) => void = () => undefined): Promise<BundlesSection> {
  const built = await buildBundles();
  // The floor: importing an empty module costs the ESM loader's own time.
  const emptyFile = join(BUNDLE_DIR, 'empty', 'handler.mjs');
  mkdirSync(dirname(emptyFile), { recursive: true });
  writeFileSync(emptyFile, 'export const handler = async () => null;\n');
  const baselineImportMs = summarise(importTimes(emptyFile, runs));
  const results: BundleResult[] = [];
  for (const b of built) {
    const cpu: number[] = [];
    const times = importTimes(b.file, runs, cpu);
    log(`  ${b.key}: ${kb(b.bytes)}, import median ${fmt(median(times))} ms (CPU ${fmt(median(cpu))} ms)`);
    results.push({ ...b, importMs: summarise(times), importCpuMs: summarise(cpu) });
  }
  return { results, baselineImportMs, runs };
}

export function bundlesMarkdown(s: BundlesSection): string {
  const rows = s.results.map((r) => {
    const t = r.kubernetes ? TARGETS.kubernetes : TARGETS.plain;
    return [
      `\`${r.key}\``,
      r.kubernetes ? 'yes' : 'no',
      kb(r.bytes),
      kb(r.deflatedBytes),
      fmt(r.importMs.median),
      `${fmt(r.importMs.min)}–${fmt(r.importMs.max)}`,
      fmt(r.importCpuMs.median),
      r.bytes <= t.bytes ? 'met' : `missed by ${kb(r.bytes - t.bytes)}`,
      r.importMs.median <= t.importMs ? 'met' : `missed by ${fmt(r.importMs.median - t.importMs, 0)} ms`,
    ];
  });
  const plain = s.results.filter((r) => !r.kubernetes);
  const kube = s.results.filter((r) => r.kubernetes);
  const worst = (list: BundleResult[], f: (r: BundleResult) => number): BundleResult => list.reduce((a, b) => (f(b) > f(a) ? b : a));
  const lines = [
    table(
      [
        'function',
        'k8s',
        'bundle (unzipped)',
        'deflated (≈ zip)',
        'import median ms',
        'import range ms',
        'import CPU median ms',
        'size target',
        'cold-start target',
      ],
      rows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'l'],
    ),
    '',
    `Baseline: importing an empty ES module in a fresh process takes ${fmt(s.baselineImportMs.median)} ms (median of ${s.runs}); every import time above includes it.`,
    '',
    'Largest inputs per bundle (bytes in the output):',
    '',
    ...s.results.map((r) => `- \`${r.key}\`: ${r.topInputs.map((i) => `${i.name} ${kb(i.bytes)}`).join(', ')}`),
  ];
  if (plain.length && kube.length) {
    const p = worst(plain, (r) => r.bytes);
    const k = worst(kube, (r) => r.bytes);
    const pt = worst(plain, (r) => r.importMs.median);
    const kt = worst(kube, (r) => r.importMs.median);
    lines.push(
      '',
      'Against the targets (worst function of each group):',
      '',
      `- size, no Kubernetes (\`${p.key}\`): ${verdict(p.bytes / 1000, TARGETS.plain.bytes / 1000, 'kB')}`,
      `- size, Kubernetes (\`${k.key}\`): ${verdict(k.bytes / 1000, TARGETS.kubernetes.bytes / 1000, 'kB')}`,
      `- cold start, no Kubernetes (\`${pt.key}\`): ${verdict(pt.importMs.median, TARGETS.plain.importMs, 'ms')}`,
      `- cold start, Kubernetes (\`${kt.key}\`): ${verdict(kt.importMs.median, TARGETS.kubernetes.importMs, 'ms')}`,
      '',
      'The cold-start verdicts use wall time, which a busy machine inflates; the CPU column (user + system time of the importing ' +
        'process, background compile threads included) is the better estimate of what a quiet machine would show.',
    );
  }
  return lines.join('\n');
}
