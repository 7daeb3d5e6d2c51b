import type { TLSSocket } from 'node:tls';
import { CanaryFailedError } from '../../../shared/errors';
import { classifySocketError, httpsRequest, HttpsRequestError } from '../../../shared/canary/http';
import type { Resolver } from '../../../shared/canary/resolver';
import { fakeResolver, SERVER_CERT_DAYS, text, type Pki, type TestServer, withGoodServer } from './pki';

const HOST = 'sklearn-irisv2.staging.platform.example.com';

describe('httpsRequest', () => {
  let pki: Pki;
  let server: TestServer;
  let servernames: Array<string | false | null>;

  withGoodServer((p, s) => {
    pki = p;
    server = s;
  });
  beforeEach(() => {
    servernames = [];
    server.requests.length = 0;
    server.handler = (req, res) => {
      servernames.push((req.socket as TLSSocket).servername);
      text(res, 200, 'hello');
    };
  });

  const call = (over: Partial<Parameters<typeof httpsRequest>[0]> = {}) =>
    httpsRequest({
      url: `https://${HOST}/v2/health/ready?x=1`,
      resolver: fakeResolver({ [HOST]: server.port }),
      extraCa: pki.caPem,
      timeoutMs: 3000,
      ...over,
    });

  it('connects to the resolved address with SNI and Host of the URL, and reports TLS and timings', async () => {
    // Act
    const res = await call({ headers: { Host: 'evil.example.org', 'x-test': '1' } });
    // Assess
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello');
    expect(res.body.equals(Buffer.from('hello'))).toBe(true);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/v2/health/ready?x=1' });
    expect(server.requests[0]?.headers.host).toBe(HOST);
    expect(server.requests[0]?.headers['x-test']).toBe('1');
    expect(servernames).toEqual([HOST]);
    expect(res.tls.authorized).toBe(true);
    expect(res.tls.subjectAltNames).toContain('DNS:*.staging.platform.example.com');
    const days = (res.tls.validTo.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(SERVER_CERT_DAYS - 2);
    expect(days).toBeLessThanOrEqual(SERVER_CERT_DAYS);
    const t = res.timings;
    expect(t.dnsMs).toBeLessThanOrEqual(t.connectMs);
    expect(t.connectMs).toBeLessThanOrEqual(t.tlsMs);
    expect(t.tlsMs).toBeLessThanOrEqual(t.ttfbMs);
    expect(t.ttfbMs).toBeLessThanOrEqual(t.totalMs);
  });

  it('lets the system resolve a host name the resolver returns (host map "localhost:PORT")', async () => {
    const byName: Resolver = { resolve: async (h) => ({ address: 'localhost', port: server.port, chain: [h] }) };
    const res = await call({ resolver: byName });
    expect(res.status).toBe(200);
  });

  it('sends the body with a content length', async () => {
    server.handler = (_req, res, body) => text(res, 200, `got ${body}`);
    const res = await call({ method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(res.text).toBe('got {"a":1}');
    expect(server.requests[0]?.headers['content-length']).toBe('7');
  });

  it('returns redirects instead of following them', async () => {
    server.handler = (_req, res) => {
      res.writeHead(302, { location: '/dex/auth', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'] });
      res.end();
    };
    const res = await call();
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/dex/auth');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(server.requests).toHaveLength(1);
  });

  it('cuts bodies at maxBodyBytes', async () => {
    server.handler = (_req, res) => text(res, 200, 'x'.repeat(10_000));
    const res = await call({ maxBodyBytes: 100 });
    expect(res.body.length).toBe(100);
  });

  it('verifies the certificate against the URL host, not the address', async () => {
    const err = await call({ url: 'https://other.example.org/', resolver: fakeResolver({ 'other.example.org': server.port }) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HttpsRequestError);
    expect(err).toMatchObject({ name: 'CanaryFailed', kind: 'tls', phase: 'tls' });
    expect((err as Error).message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('fails as dns when the resolver fails, keeping its message', async () => {
    const err = await call({ resolver: fakeResolver({}) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'dns', phase: 'dns', message: `dns: no record for ${HOST}` });
    const odd: Resolver = {
      resolve: async () => {
        throw Object.assign(new Error('boom'), { code: 'ESERVFAIL' });
      },
    };
    await expect(call({ resolver: odd })).rejects.toMatchObject({ kind: 'dns', phase: 'dns' });
  });

  it('applies the deadline to resolution too', async () => {
    const slow: Resolver = { resolve: () => new Promise(() => undefined) };
    await expect(call({ resolver: slow, timeoutMs: 200 })).rejects.toMatchObject({ kind: 'timeout', phase: 'dns' });
  });

  it('rejects non-HTTPS URLs', async () => {
    await expect(call({ url: `http://${HOST}/` })).rejects.toBeInstanceOf(CanaryFailedError);
  });
});

describe('classifySocketError', () => {
  const e = (code: string) => Object.assign(new Error(code), { code });
  it.each([
    ['ENOTFOUND', 'connect', 'dns'],
    ['ECONNREFUSED', 'connect', 'http'],
    ['ECONNRESET', 'tls', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls', 'tls'],
    ['ECONNRESET', 'response', 'http'],
    ['EPIPE', 'response', 'http'],
    ['ANY', 'dns', 'dns'],
  ] as const)('%s in phase %s is %s', (code, phase, kind) => {
    expect(classifySocketError(e(code), phase)).toBe(kind);
  });
});
