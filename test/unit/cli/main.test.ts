/**
 * The CLI's contract with a shell: `--version`, exit 2 with a one-line hint on
 * stderr for usage errors, the result on stdout and nothing else there, and
 * the message a checkout without `dist/` gets.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type CliIo } from '../../../cli/main';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { out: (t) => (out += t), err: (t) => (err += t), env: { LOG_LEVEL: 'silent' } },
    out: () => out,
    err: () => err,
  };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await main(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kserve-edge-cli-'));
  copyFileSync(join(ROOT, 'examples', 'cognito.json'), join(dir, 'request.json'));
  writeFileSync(join(dir, 'broken.json'), '{ "domain": ');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--version', () => {
  it('prints the name and version from package.json on stdout and exits 0', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
    const r = await run(['--version']);
    expect(r).toEqual({ code: 0, out: `${pkg.name} ${pkg.version}\n`, err: '' });
  });
});

describe('usage errors', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['no command', () => [], /^kserve-edge: no command given$/],
    ['an unknown command', () => ['deploy'], /^kserve-edge: unknown command "deploy"$/],
    ['an unknown flag', () => ['plan', '--requets', 'x.json'], /^kserve-edge: Unknown option '--requets'/],
    ['a missing --request', () => ['plan'], /^kserve-edge: --request FILE is required$/],
    ['a missing --request (provision)', () => ['provision', '--wait-scale', '0'], /^kserve-edge: --request FILE is required$/],
    ['a flag without its value', () => ['validate', '--request'], /^kserve-edge: Option '--request <value>' argument missing/],
    [
      'a bad --wait-scale',
      () => ['provision', '--request', join(dir, 'request.json'), '--wait-scale', 'fast'],
      /^kserve-edge: --wait-scale must be a number ≥ 0 \(got "fast"\)$/,
    ],
    [
      'a negative --wait-scale',
      () => ['provision', '--request', join(dir, 'request.json'), '--wait-scale=-1'],
      /^kserve-edge: --wait-scale must be a number ≥ 0/,
    ],
    [
      'an unreadable request file',
      () => ['validate', '--request', join(dir, 'missing.json')],
      /^kserve-edge: cannot read .*missing\.json: ENOENT$/,
    ],
    ['a stray argument', () => ['validate', 'extra', '--request', join(dir, 'request.json')], /^kserve-edge: unexpected argument "extra"$/],
  ];
  it.each(cases)('%s: exit 2, nothing on stdout, the error and a one-line usage hint on stderr', async (_, args, message) => {
    const r = await run(args());
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(message);
    expect(lines[1]).toMatch(/^Usage: kserve-edge <provision\|plan\|canary\|status\|validate\|schema> .*--help/);
  });

  it('--help prints the full usage on stdout and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toContain('Exit codes: 0 success, 1 failed run, 2 usage error.');
  });
});

describe('results on stdout, failures exit 1', () => {
  it('validate: the verdict on stdout', async () => {
    const r = await run(['validate', '--request', join(dir, 'request.json')]);
    expect(r).toEqual({ code: 0, out: expect.stringMatching(/^request is valid: platform\.example\.com/), err: '' });
  });

  it('schema: the JSON Schema on stdout', async () => {
    const r = await run(['schema']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toHaveProperty('properties.domain');
  });

  it('a request file that is not JSON is a failed run (1), the message on stderr', async () => {
    const r = await run(['validate', '--request', join(dir, 'broken.json')]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^RequestFileError: .*broken\.json is not valid JSON/);
  });

  it('a request that fails validation is a failed run (1), named, without a stack trace', async () => {
    writeFileSync(join(dir, 'invalid.json'), JSON.stringify({ domain: 'example.com' }));
    const r = await run(['validate', '--request', join(dir, 'invalid.json')]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('bin/kserve-edge.mjs without dist/', () => {
  it('says how to build the CLI and exits 2 instead of a stack trace', () => {
    const copy = mkdtempSync(join(tmpdir(), 'kserve-edge-nodist-'));
    try {
      mkdirSync(join(copy, 'bin'));
      copyFileSync(join(ROOT, 'bin', 'kserve-edge.mjs'), join(copy, 'bin', 'kserve-edge.mjs'));
      copyFileSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
      const r = spawnSync(process.execPath, [join(copy, 'bin', 'kserve-edge.mjs'), '--version'], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('the CLI is not built');
      expect(r.stderr).toContain('Run `npm run build` (or `npm ci`, whose prepare step builds it)');
      expect(r.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|\n\s+at /);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
