/**
 * TLS verification is never turned off in product code: no `rejectUnauthorized: false`,
 * no `skipTLSVerify: true`, no `NODE_TLS_REJECT_UNAUTHORIZED` set to 0, no `insecure`
 * switches. Scans the sources of everything that ships (shared/, functions/, cli/).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|mts|js|mjs)$/.test(name) ? [path] : [];
  });
}

const FORBIDDEN: Array<[string, RegExp]> = [
  ['rejectUnauthorized: false', /rejectUnauthorized\s*[:=]\s*false/],
  ['skipTLSVerify: true', /skipTLSVerify\s*[:=]\s*true/],
  // An assignment (process.env.X = '0', env['X'] = 0), not a comparison or a message that names it.
  ['NODE_TLS_REJECT_UNAUTHORIZED = 0', /(?:\.|\[['"])NODE_TLS_REJECT_UNAUTHORIZED['"]?\s*\]?\s*=(?!=)\s*['"]?0/],
  ['insecureSkipTLSVerify', /insecure-?skip-?tls-?verify\s*[:=]\s*true/i],
  ['checkServerIdentity that accepts anything', /checkServerIdentity\s*[:=]\s*\(\)\s*=>\s*(undefined|null)/],
];

describe('TLS verification stays on in product code', () => {
  const files = ['shared', 'functions', 'cli'].flatMap((d) => sources(join(ROOT, d)));

  it('scans the product sources', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it.each(FORBIDDEN)('nowhere: %s', (_label, pattern) => {
    const hits = files.filter((f) => pattern.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f));
    expect(hits).toEqual([]);
  });
});
