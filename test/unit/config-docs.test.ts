/**
 * The README's environment table and the code agree: every variable the
 * product code reads (the configuration schema, plus any `process.env.X` left
 * in shared/, functions/, cli/, wiring/, local/) is in the table, and every
 * variable in the table is read by the code, or its row says which library
 * reads it ("not by kserve-edge").
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_VARIABLES } from '../../wiring/config';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const PRODUCT_DIRS = ['shared', 'functions', 'cli', 'wiring', 'local'];

/**
 * Files under shared/ that may read process.env, and why (see the comment at each read):
 * Node's own TLS switch, guarded where the cluster connection is made; the SDK's
 * credential variables, read by the stand-in for the SDK's credential provider.
 */
const SHARED_ENV_EXCEPTIONS = new Set(['shared/k8s/client.ts', 'shared/aws/lambdaCredentials.ts']);

function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|mts|js|mjs)$/.test(name) ? [path] : [];
  });
}

const files = PRODUCT_DIRS.flatMap((d) => sources(join(ROOT, d))).map((f) => ({ path: relative(ROOT, f), text: readFileSync(f, 'utf8') }));

/** `process.env.X` and `process.env['X']` / `process.env["X"]` reads, per file. */
function envReads(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\])/g))
    out.push((m[1] ?? m[2])!);
  return out;
}

interface Row {
  variables: string[];
  libraryOnly: boolean;
}

/** The rows of README.md's `| variable | effect |` table (section "Run"). */
function readmeRows(): Row[] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const start = lines.findIndex((l) => /^\|\s*variable\s*\|\s*effect\s*\|/.test(l));
  if (start < 0) throw new Error('README.md has no "| variable | effect |" table');
  const rows: Row[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [, first = '', effect = ''] = line.split('|');
    const variables = [...first.matchAll(/`([A-Z][A-Z0-9_]+)(?:=[^`]*)?`/g)].map((m) => m[1]!);
    rows.push({ variables, libraryOnly: /not by kserve-edge/.test(effect) });
  }
  return rows;
}

describe('README environment table ↔ code', () => {
  const rows = readmeRows();
  const documented = new Set(rows.flatMap((r) => r.variables));
  const libraryOnly = new Set(rows.filter((r) => r.libraryOnly).flatMap((r) => r.variables));
  const scanned = new Set(files.flatMap((f) => envReads(f.text)));
  const read = new Set<string>([...CONFIG_VARIABLES, ...scanned]);

  it('finds the table and the sources', () => {
    expect(rows.length).toBeGreaterThan(10);
    expect(files.length).toBeGreaterThan(40);
    expect(rows.every((r) => r.variables.length > 0)).toBe(true);
  });

  it('the scan sees the reads left outside the configuration module', () => {
    // Sanity check of the scan itself: the build-time flag is read as process.env.X in wiring/cluster.ts.
    expect(scanned.has('KSERVE_EDGE_LAMBDA_BUNDLE')).toBe(true);
  });

  it('documents every variable the code reads', () => {
    expect([...read].filter((v) => !documented.has(v)).sort()).toEqual([]);
  });

  it('reads every documented variable, unless its row names the library that does', () => {
    expect([...documented].filter((v) => !read.has(v) && !libraryOnly.has(v)).sort()).toEqual([]);
    // A row marked as a library's must not be read by kserve-edge itself.
    expect([...libraryOnly].filter((v) => read.has(v)).sort()).toEqual([]);
  });

  it('nothing under shared/ reads process.env, except where a comment says why', () => {
    const readers = files.filter((f) => f.path.startsWith('shared/') && /process\.env\b/.test(f.text)).map((f) => f.path);
    expect(readers.filter((p) => !SHARED_ENV_EXCEPTIONS.has(p))).toEqual([]);
    for (const p of readers) expect(files.find((f) => f.path === p)!.text).toMatch(/process\.env on purpose/);
  });

  it('the handlers and the CLI take their settings from wiring/, not from process.env', () => {
    const readers = files.filter((f) => /^(functions|cli)\//.test(f.path) && envReads(f.text).length > 0).map((f) => f.path);
    expect(readers).toEqual([]);
  });
});
