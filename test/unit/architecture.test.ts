/**
 * The layers, kept by a test: reads the real import graph of the source tree
 * and fails on an import that points the wrong way.
 *
 * | importer          | may not import                                                                   |
 * |-------------------|----------------------------------------------------------------------------------|
 * | `shared/plan/**`  | anything but `shared/{plan,request,ports,ownership,errors}` and `node:*` built-ins |
 * | `shared/steps/**` | an `@aws-sdk/*` client, `@kubernetes/client-node`, `shared/aws/*`, `shared/k8s/*`  |
 * | `shared/**`       | `functions/`, `cli/`, `local/`, `testbed/`, `bench/`, `wiring/`                   |
 *
 * Planners take state and return changes; steps reach AWS and Kubernetes only
 * through the ports they are given; the edge (handlers, CLI, local runner)
 * depends on `shared/`, never the other way round.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The source folders whose files are read (the edge and the core; tests are not part of the graph). */
const SOURCE_DIRS = ['shared', 'functions', 'cli', 'local'];

/** One import: who imports, what it wrote, and what that resolves to (a repository path, or the bare package name). */
export interface ImportEdge {
  /** Repository-relative path with `/`, e.g. `shared/plan/cluster.ts`. */
  from: string;
  /** The specifier as written, e.g. `../ports` or `@aws-sdk/client-acm`. */
  specifier: string;
  /** Repository-relative path of the resolved file for a relative specifier; `undefined` when it resolves to nothing. */
  file?: string;
}

export interface Violation {
  from: string;
  specifier: string;
  rule: string;
}

const PLAN_MAY_IMPORT = ['shared/plan/', 'shared/request', 'shared/ports', 'shared/ownership', 'shared/errors'];
const STEPS_MAY_NOT_IMPORT_PACKAGES = [/^@aws-sdk\/client-/, /^@kubernetes\/client-node(\/|$)/];
const STEPS_MAY_NOT_IMPORT_FILES = ['shared/aws/', 'shared/k8s/'];
const EDGE_DIRS = ['functions/', 'cli/', 'local/', 'testbed/', 'bench/', 'wiring/'];

/** `shared/request.ts`, `shared/request/index.ts` and `shared/request/x.ts` all count as `shared/request`. */
function isUnder(file: string, prefix: string): boolean {
  if (prefix.endsWith('/')) return file.startsWith(prefix);
  return file === `${prefix}.ts` || file.startsWith(`${prefix}/`);
}

/**
 * The layer rules of the module comment, over an import graph. Pure: the
 * graph may be the real tree's or a made-up one.
 */
export function layerViolations(edges: readonly ImportEdge[]): Violation[] {
  const out: Violation[] = [];
  for (const e of edges) {
    const relativeSpecifier = e.specifier.startsWith('.');
    if (relativeSpecifier && e.file === undefined) {
      out.push({ from: e.from, specifier: e.specifier, rule: 'a relative import must resolve to a file in the tree' });
      continue;
    }
    const target = e.file;
    if (e.from.startsWith('shared/plan/')) {
      const allowed = target !== undefined ? PLAN_MAY_IMPORT.some((p) => isUnder(target, p)) : e.specifier.startsWith('node:');
      if (!allowed) {
        out.push({
          from: e.from,
          specifier: e.specifier,
          rule: 'shared/plan/ may import only shared/{plan,request,ports,ownership,errors} and node:* built-ins',
        });
      }
    }
    if (e.from.startsWith('shared/steps/')) {
      const forbidden =
        target !== undefined
          ? STEPS_MAY_NOT_IMPORT_FILES.some((p) => isUnder(target, p))
          : STEPS_MAY_NOT_IMPORT_PACKAGES.some((r) => r.test(e.specifier));
      if (forbidden) {
        out.push({
          from: e.from,
          specifier: e.specifier,
          rule: 'shared/steps/ reaches AWS and Kubernetes through ports only (no SDK client, @kubernetes/client-node, shared/aws or shared/k8s)',
        });
      }
    }
    if (e.from.startsWith('shared/') && target !== undefined && EDGE_DIRS.some((d) => isUnder(target, d))) {
      out.push({ from: e.from, specifier: e.specifier, rule: `shared/ must not import the edge (${EDGE_DIRS.join(', ')})` });
    }
  }
  return out;
}

/** `file → specifier (rule)`, one line per violation. */
export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.from} imports "${v.specifier}": ${v.rule}`).join('\n');
}

function tsFilesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : tsFilesUnder(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The file a relative specifier points at, as TypeScript's bundler resolution would find it. */
function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  const candidates = [base, `${base}.ts`, join(base, 'index.ts')];
  // `./x.js` written for ESM output names `./x.ts`.
  if (/\.[cm]?js$/.test(base)) candidates.push(base.replace(/\.([cm]?)js$/, '.$1ts'));
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

/** Every import, `export … from` and `import()` specifier of `source` (type-only ones included). */
export function specifiersOf(source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The import graph of every `.ts` file under {@link SOURCE_DIRS}. */
export function readImportGraph(root: string = ROOT): ImportEdge[] {
  const toRepoPath = (abs: string) => relative(root, abs).split(sep).join('/');
  return SOURCE_DIRS.flatMap((d) => tsFilesUnder(join(root, d))).flatMap((file) =>
    specifiersOf(readFileSync(file, 'utf8')).map((specifier): ImportEdge => {
      const edge: ImportEdge = { from: toRepoPath(file), specifier };
      if (specifier.startsWith('.')) {
        const found = resolveRelative(file, specifier);
        if (found) edge.file = toRepoPath(found);
      }
      return edge;
    }),
  );
}

describe('the import graph reader', () => {
  it('finds import, import type, export-from, side-effect and dynamic import specifiers', () => {
    const source = [
      "import { a } from './a';",
      "import type { B } from '../b';",
      "export { c } from './c';",
      "export * from './d';",
      "import './e';",
      "const f = await import('./f');",
      "const g = () => import('@aws-sdk/client-acm');",
      "// import { h } from './commented-out';",
    ].join('\n');
    expect(specifiersOf(source)).toEqual(['./a', '../b', './c', './d', './e', './f', '@aws-sdk/client-acm']);
  });

  it('reads the real tree and resolves relative imports to files', () => {
    const graph = readImportGraph();
    expect(graph.length).toBeGreaterThan(100);
    expect(graph).toContainEqual({ from: 'shared/plan/cluster.ts', specifier: '../ports', file: 'shared/ports.ts' });
    expect(graph.some((e) => e.from.startsWith('functions/') && e.file?.startsWith('shared/steps/'))).toBe(true);
  });
});

describe('layerViolations', () => {
  const edge = (from: string, specifier: string, file?: string): ImportEdge =>
    file === undefined ? { from, specifier } : { from, specifier, file };

  it('accepts a graph that keeps the layers', () => {
    expect(
      layerViolations([
        edge('shared/plan/cluster.ts', '../ports', 'shared/ports.ts'),
        edge('shared/plan/cluster.ts', '../request', 'shared/request.ts'),
        edge('shared/plan/deprovision.ts', './records', 'shared/plan/records.ts'),
        edge('shared/plan/certificates.ts', 'node:crypto'),
        edge('shared/steps/configureCluster.ts', '../plan/cluster', 'shared/plan/cluster.ts'),
        edge('shared/steps/configureCluster.ts', '../log', 'shared/log.ts'),
        edge('shared/aws/acm.ts', '@aws-sdk/client-acm'),
        edge('functions/x/handler.ts', '../../shared/aws/acm', 'shared/aws/acm.ts'),
        edge('cli/plan.ts', '../shared/k8s/connect', 'shared/k8s/connect.ts'),
      ]),
    ).toEqual([]);
  });

  it('names the file and the import for each broken rule', () => {
    const violations = layerViolations([
      edge('shared/plan/cluster.ts', '../log', 'shared/log.ts'),
      edge('shared/plan/cluster.ts', 'zod'),
      edge('shared/plan/cluster.ts', 'crypto'),
      edge('shared/plan/cluster.ts', '../k8s/client', 'shared/k8s/client.ts'),
      edge('shared/steps/ensureCertificates.ts', '@aws-sdk/client-acm'),
      edge('shared/steps/configureCluster.ts', '@kubernetes/client-node'),
      edge('shared/steps/configureCluster.ts', '../k8s/connect', 'shared/k8s/connect.ts'),
      edge('shared/steps/upsertDnsRecords.ts', '../aws/route53', 'shared/aws/route53.ts'),
      edge('shared/runner/handlers.ts', '../../functions/x/handler', 'functions/x/handler.ts'),
      edge('shared/canary/env.ts', '../../cli/main', 'cli/main.ts'),
      edge('shared/log.ts', '../testbed/testbed', 'testbed/testbed.ts'),
      edge('shared/x.ts', '../local/runner', 'local/runner.ts'),
      edge('shared/x.ts', '../bench/run', 'bench/run.ts'),
      edge('shared/x.ts', '../wiring/env', 'wiring/env.ts'),
      edge('shared/x.ts', './missing'),
    ]);
    expect(violations.map((v) => [v.from, v.specifier])).toEqual([
      ['shared/plan/cluster.ts', '../log'],
      ['shared/plan/cluster.ts', 'zod'],
      ['shared/plan/cluster.ts', 'crypto'],
      ['shared/plan/cluster.ts', '../k8s/client'],
      ['shared/steps/ensureCertificates.ts', '@aws-sdk/client-acm'],
      ['shared/steps/configureCluster.ts', '@kubernetes/client-node'],
      ['shared/steps/configureCluster.ts', '../k8s/connect'],
      ['shared/steps/upsertDnsRecords.ts', '../aws/route53'],
      ['shared/runner/handlers.ts', '../../functions/x/handler'],
      ['shared/canary/env.ts', '../../cli/main'],
      ['shared/log.ts', '../testbed/testbed'],
      ['shared/x.ts', '../local/runner'],
      ['shared/x.ts', '../bench/run'],
      ['shared/x.ts', '../wiring/env'],
      ['shared/x.ts', './missing'],
    ]);
    expect(formatViolations(violations.slice(0, 1))).toBe(
      'shared/plan/cluster.ts imports "../log": shared/plan/ may import only shared/{plan,request,ports,ownership,errors} and node:* built-ins',
    );
  });

  it('does not mistake a sibling name for an allowed module (shared/requests.ts is not shared/request)', () => {
    expect(layerViolations([edge('shared/plan/x.ts', '../requests', 'shared/requests.ts')])).toHaveLength(1);
  });
});

describe('the source tree', () => {
  it('keeps the layers', () => {
    const violations = layerViolations(readImportGraph());
    // The message lists every offending file and import, so a failure says what to fix.
    expect(formatViolations(violations)).toBe('');
  });
});
