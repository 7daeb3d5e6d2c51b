/**
 * Shared helpers of `npm run bench`: statistics, the machine and versions it
 * ran on, markdown tables, and the esbuild options of serverless.yml.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';
import yaml from 'js-yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Scratch space of the benchmark (ignored by git, like the testbed's). */
export const WORK_DIR = join(ROOT, '.testbed', 'bench');

// ------------------------------------------------------------------ statistics

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  max: number;
}

export function summarise(values: readonly number[]): Summary {
  return {
    n: values.length,
    min: Math.min(...values),
    median: median(values),
    p90: quantile(values, 0.9),
    max: Math.max(...values),
  };
}

// ------------------------------------------------------------------ formatting

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
export const kb = (bytes: number): string => `${(bytes / 1000).toFixed(0)} kB`;
export const usd = (n: number): string => (n < 0.01 && n > 0 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);

export function table(header: string[], rows: Array<Array<string | number>>, align?: Array<'l' | 'r'>): string {
  const al = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const lines = [`| ${header.join(' | ')} |`, `|${al.map((a) => (a === 'l' ? '---' : '--:')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(String).join(' | ')} |`);
  return lines.join('\n');
}

/** `met (x vs ≤ y)` or `missed by z`. */
export function verdict(value: number, limit: number, unit: string, digits = 0): string {
  const v = `${value.toFixed(digits)} ${unit}`;
  if (value <= limit) return `**met** (${v} ≤ ${limit} ${unit})`;
  const over = value - limit;
  return `**missed** by ${over.toFixed(digits)} ${unit} (+${((over / limit) * 100).toFixed(0)} %)`;
}

// ------------------------------------------------------------------ machine and versions

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverage: number[];
  platform: string;
}

export function machine(): Machine {
  let cpus = os.availableParallelism();
  try {
    cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || cpus;
  } catch {
    // nproc is coreutils; availableParallelism is the same number
  }
  return {
    date: new Date().toISOString(),
    cpus,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const requireFromRoot = createRequire(join(ROOT, 'package.json'));

function packageVersion(name: string): string {
  try {
    const file = requireFromRoot.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    // Packages whose "exports" hide package.json: find it under node_modules.
    const file = join(ROOT, 'node_modules', name, 'package.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : 'not installed';
  }
}

function testbedTool(key: string): string | undefined {
  const file = join(process.env.KSERVE_EDGE_CACHE ?? join(os.homedir(), '.cache', 'kserve-edge'), 'testbed.env');
  if (!existsSync(file)) return undefined;
  return new RegExp(`^${key}=(.*)$`, 'm').exec(readFileSync(file, 'utf8'))?.[1];
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).trim();
  } catch {
    return 'unknown';
  }
}

export function versions(): Record<string, string> {
  const apiserver = testbedTool('KUBE_APISERVER');
  const python = testbedTool('PYTHON');
  return {
    node: process.version,
    osls: packageVersion('osls'),
    esbuild: packageVersion('esbuild'),
    'serverless-esbuild': packageVersion('serverless-esbuild'),
    '@aws-sdk/client-acm': packageVersion('@aws-sdk/client-acm'),
    '@aws-sdk/client-route-53': packageVersion('@aws-sdk/client-route-53'),
    '@kubernetes/client-node': packageVersion('@kubernetes/client-node'),
    zod: packageVersion('zod'),
    'aws-local-stepfunctions': packageVersion('aws-local-stepfunctions'),
    moto: python ? run(python, ['-c', 'import moto; print(moto.__version__)']) : 'testbed not set up',
    'kube-apiserver': apiserver ? run(apiserver, ['--version']).replace(/^Kubernetes /, '') : 'testbed not set up',
  };
}

// ------------------------------------------------------------------ serverless.yml

/** Plugin-only keys serverless-esbuild strips before calling esbuild (its bundle.ts). */
const SERVERLESS_ESBUILD_ONLY = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  'plugins',
  'config',
];

export interface ServerlessFunction {
  key: string;
  handler: string;
  memorySize: number;
  timeout: number;
}

export interface ServerlessConfig {
  functions: ServerlessFunction[];
  esbuild: BuildOptions;
  outputFileExtension: string;
}

/** The functions and the esbuild options exactly as serverless.yml gives them to serverless-esbuild. */
export function serverlessConfig(): ServerlessConfig {
  const doc = yaml.load(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as {
    provider: { memorySize?: number; timeout?: number };
    custom: { esbuild: Record<string, unknown> };
    functions: Record<string, { handler: string; memorySize?: number; timeout?: number }>;
  };
  const raw = doc.custom.esbuild;
  const options: Record<string, unknown> = { bundle: true, platform: 'node', target: 'node18' };
  for (const [k, v] of Object.entries(raw)) if (!SERVERLESS_ESBUILD_ONLY.includes(k)) options[k] = v;
  const exclude = Array.isArray(raw.exclude) ? (raw.exclude as string[]) : [];
  options.external = [...((raw.external as string[] | undefined) ?? []), ...exclude.filter((e) => e !== '*')];
  let plugins: Plugin[] = [];
  if (typeof raw.plugins === 'string') {
    const loaded = requireFromRoot(join(ROOT, raw.plugins)) as Plugin[] | { default: Plugin[] };
    plugins = Array.isArray(loaded) ? loaded : loaded.default;
  }
  options.plugins = plugins;
  const ext = typeof raw.outputFileExtension === 'string' ? raw.outputFileExtension : '.js';
  if (ext !== '.js') options.outExtension = { '.js': ext };
  const memory = doc.provider.memorySize ?? 1024;
  const timeout = doc.provider.timeout ?? 6;
  return {
    functions: Object.entries(doc.functions).map(([key, f]) => ({
      key,
      handler: f.handler,
      memorySize: f.memorySize ?? memory,
      timeout: f.timeout ?? timeout,
    })),
    esbuild: options as BuildOptions,
    outputFileExtension: ext,
  };
}
