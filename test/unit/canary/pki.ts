/**
 * Throw-away PKI and local HTTPS servers for the canary tests.
 *
 * `makePki()` runs `openssl` to create, in a temporary directory:
 * - `ca`: the CA the canary is told to trust (passed as `extraCa`);
 * - `good`: a certificate from `ca` for the model and dashboard hosts;
 * - `otherHost`: a certificate from `ca` for a different name;
 * - `untrusted`: a certificate for the right names from a CA nobody trusts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll } from '@jest/globals';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CanaryFailedError } from '../../../shared/errors';
import { NEW_EC_KEY, openssl, selfSigned } from '../../fixtures/openssl';
import type { Resolver } from '../../../shared/canary/resolver';

export interface KeyPair {
  key: string;
  cert: string;
}

export interface Pki {
  dir: string;
  caPem: string;
  good: KeyPair;
  otherHost: KeyPair;
  untrusted: KeyPair;
  cleanup(): void;
}

export const GOOD_NAMES = ['*.staging.platform.example.com', '*.prod.platform.example.com', 'kubeflow.platform.example.com'];
export const SERVER_CERT_DAYS = 30;

function makeCa(dir: string, name: string): void {
  selfSigned(dir, name, {
    days: 2,
    subject: `/CN=kserve-edge test ${name}`,
    extensions: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
  });
}

/**
 * A server certificate from the CA files `<ca>.crt`/`<ca>.key` in `dir` (`ca` or
 * `rogue` of {@link makePki}). Names are DNS names, or `IP:<address>` for an IP SAN.
 */
export function makeLeaf(dir: string, name: string, ca: string, dnsNames: string[], serial: number): KeyPair {
  openssl(dir, ['req', ...NEW_EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${dnsNames[0]}`]);
  writeFileSync(
    join(dir, `${name}.ext`),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${dnsNames.map((n) => (n.startsWith('IP:') ? n : `DNS:${n}`)).join(',')}`,
      '',
    ].join('\n'),
  );
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-set_serial',
    String(serial),
    '-days',
    String(SERVER_CERT_DAYS),
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
  return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.crt`), 'utf8') };
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'kserve-edge-canary-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue');
  return {
    dir,
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    good: makeLeaf(dir, 'good', 'ca', GOOD_NAMES, 1001),
    otherHost: makeLeaf(dir, 'other', 'ca', ['*.other.example.org'], 1002),
    untrusted: makeLeaf(dir, 'untrusted', 'rogue', GOOD_NAMES, 1003),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface TestServer {
  port: number;
  /** Swap the behaviour between tests. */
  handler: Handler;
  /** Requests seen, newest last. */
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1 with a replaceable handler. */
export async function startServer(pair: KeyPair, handler: Handler): Promise<TestServer> {
  const state: TestServer = {
    port: 0,
    handler,
    requests: [],
    close: async () => undefined,
  };
  const server = https.createServer({ key: pair.key, cert: pair.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      state.handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/**
 * Before the describe block's tests: a throw-away PKI ({@link makePki}) and an
 * HTTPS server with its `good` certificate and `handler` (none by default),
 * handed to `use`;
 * after them: the server closed and the PKI removed.
 */
export function withGoodServer(use: (pki: Pki, server: TestServer) => void, handler: Handler = () => undefined): void {
  let pki: Pki | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => {
    pki = makePki();
    server = await startServer(pki.good, handler);
    use(pki, server);
  });
  afterAll(async () => {
    await server?.close();
    pki?.cleanup();
  });
}

/** Resolver over a fixed map of host → port on 127.0.0.1; unknown hosts fail as `dns`. */
export function fakeResolver(ports: Record<string, number>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async resolve(host: string) {
      calls.push(host);
      const port = ports[host];
      if (port === undefined) throw new CanaryFailedError('dns', `no record for ${host}`);
      return { address: '127.0.0.1', port, chain: [host] };
    },
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}
