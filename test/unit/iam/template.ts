/**
 * The packaged CloudFormation template for the IAM tests: read from
 * `.serverless/` when `npm run package` already built it, otherwise built
 * here with scripts/package.sh (offline, ~1.5 min).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGED_TEMPLATE, readTemplate, type Deployment, type Template } from '../../../testbed/iam/policies';
import type { WireRequest } from '../../../testbed/iam/requests';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Generous: packaging bundles every function. */
export const PACKAGE_TIMEOUT_MS = 300_000;

/**
 * The packaged template, built first when it is missing or older than
 * serverless.yml. Test files run in parallel workers and package.sh starts
 * with `rm -rf .serverless`, so one worker builds (holding a lock directory)
 * while the others wait for it.
 */
export function packagedTemplate(): Template {
  const path = join(ROOT, PACKAGED_TEMPLATE);
  const fresh = () => existsSync(path) && statSync(path).mtimeMs >= statSync(join(ROOT, 'serverless.yml')).mtimeMs;
  const lock = join(tmpdir(), `kserve-edge-package-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);
  const deadline = Date.now() + PACKAGE_TIMEOUT_MS;
  while (!fresh()) {
    let mine = false;
    try {
      mkdirSync(lock);
      mine = true;
    } catch {
      // Another worker is packaging.
    }
    if (mine) {
      try {
        if (!fresh())
          execFileSync('bash', [join(ROOT, 'scripts', 'package.sh')], { cwd: ROOT, stdio: 'ignore', timeout: PACKAGE_TIMEOUT_MS });
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    } else {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock} to go (remove it if no packaging is running)`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  return readTemplate(path);
}

export const ACCOUNT = '123456789012';
export const REGION = 'us-west-2';
export const ZONE = 'ZTESTBEDZONE0000000001';

/** The testbed's deployment: scripts/package.sh's defaults (region us-west-2, cluster kubeflow), one zone. */
export const DEPLOYMENT: Deployment = { accountId: ACCOUNT, region: REGION, hostedZoneIds: [ZONE] };

/** A loopback HTTP server that records every request and answers with `answer`. */
export async function captureServer(
  answer: (req: WireRequest) => { status: number; headers?: Record<string, string>; body: string } = () => ({ status: 200, body: '{}' }),
): Promise<{ url: string; requests: WireRequest[]; close(): Promise<void> }> {
  const requests: WireRequest[] = [];
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const wire: WireRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(parts).toString('utf8'),
      };
      requests.push(wire);
      const a = answer(wire);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers, 'content-length': String(Buffer.byteLength(a.body)) });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
