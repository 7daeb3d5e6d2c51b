/**
 * The canary in JWT mode against a fake issuer and a fake ALB over real TLS:
 * a client-credentials token (HTTP Basic, RFC 6749 §2.3.1), cached until
 * shortly before expiry, never in a result or log line; per endpoint the valid
 * token gets the prediction, no token gets 401, a token failing a required
 * claim is refused, and (migration) the header token still passes. Each
 * failure is layer `auth`.
 */
import { clearSecrets, createLogger } from '../../../shared/log';
import type { SecretsPort } from '../../../shared/ports';
import { IRIS_INPUT, parseProvisionRequest, type ProvisionRequest } from '../../../shared/request';
import { runCanary, type ProbeResult } from '../../../shared/canary/probe';
import { basicAuthorization, formEncode, TOKEN_REFRESH_MARGIN_MS, type CachedToken } from '../../../shared/canary/token';
import { canaryMetricLines } from '../../../shared/canary/metrics';
import { fakeResolver, json, text, type Handler, type Pki, type TestServer, withGoodServer } from './pki';

const MODEL_HOST = 'sklearn-irisv2.staging.platform.example.com';
const ISSUER_HOST = 'kubeflow.platform.example.com';
const ISSUER = `https://${ISSUER_HOST}/dex`;
const CLIENT_ID = 'kserve:canary'; // a ':' must be form-encoded before Basic, or it would end the id
const CLIENT_SECRET = 'cs:9f8e/7d6c+5b4a';
const HEADER_TOKEN = 'Hdr-8c1f0e3b9a7d6c5e4f3a';
const V2_OK = { model_name: 'sklearn-irisv2', id: '1', outputs: [{ name: 'predict', shape: [2], datatype: 'FP32', data: [1, 2] }] };

/** Issuer state: tokens handed out by scope, and how the ALB judges them. */
interface World {
  issued: Array<{ scope: string; token: string }>;
  /** Scopes whose tokens pass the required claim. */
  goodScopes: Set<string>;
  /** The ALB answers 200 without a token (a broken deployment). */
  openDoor: boolean;
  expiresIn: number;
}

function handler(world: World): Handler {
  return (req, res, body) => {
    const host = (req.headers.host ?? '').split(':')[0];
    if (host === ISSUER_HOST) {
      if (req.url === '/dex/.well-known/openid-configuration') {
        return json(res, 200, { issuer: ISSUER, jwks_uri: `${ISSUER}/keys`, token_endpoint: `${ISSUER}/token` });
      }
      if (req.url !== '/dex/token' || req.method !== 'POST') return json(res, 404, {});
      if (req.headers.authorization !== basicAuthorization(CLIENT_ID, CLIENT_SECRET)) return json(res, 401, { error: 'invalid_client' });
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
      const scope = form.get('scope') ?? '';
      const token = `eyJ.tok-${world.issued.length}-${scope.replace(/\W/g, '')}.sig`;
      world.issued.push({ scope, token });
      return json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: world.expiresIn });
    }
    // The ALB: a header rule first (migration), then the JWT rule.
    if (req.headers['x-api-key'] === HEADER_TOKEN) return json(res, 200, V2_OK);
    const auth = req.headers.authorization;
    if (!auth) return world.openDoor ? json(res, 200, V2_OK) : text(res, 401, 'Unauthorized', { server: 'awselb/2.0' });
    const issued = world.issued.find((t) => `Bearer ${t.token}` === auth);
    if (!issued || !world.goodScopes.has(issued.scope)) return text(res, 401, 'Unauthorized', { server: 'awselb/2.0' });
    if (JSON.stringify(JSON.parse(body)) !== JSON.stringify(IRIS_INPUT)) return json(res, 400, {});
    json(res, 200, V2_OK);
  };
}

function request(canary: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): ProvisionRequest {
  return parseProvisionRequest({
    domain: 'platform.example.com',
    cluster: { name: 'kf', region: 'us-west-2' },
    namespaces: ['staging'],
    auth: {
      provider: 'jwt',
      issuer: ISSUER,
      jwksEndpoint: `${ISSUER}/keys`,
      claims: [{ name: 'scope', format: 'space-separated-values', values: ['kserve/invoke'] }],
      canary: { clientSecretId: 'canary-client', scope: 'kserve/invoke', refusedScope: 'openid', ...canary },
      ...extra,
    },
    canary: { expected: { outputName: 'predict', data: [1, 2] }, timeoutSeconds: 2 },
  });
}

const secrets: SecretsPort = {
  async getSecretString(id) {
    if (id === 'canary-client') return JSON.stringify({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    if (id === 'api-tokens') return JSON.stringify({ headerValues: [HEADER_TOKEN] });
    throw new Error(`no secret ${id}`);
  },
};

describe('runCanary: JWT mode', () => {
  let pki: Pki;
  let server: TestServer;
  let world: World;
  let nowMs: number;
  const lines: string[] = [];
  const run = (req: ProvisionRequest, cache?: Map<string, CachedToken>) =>
    runCanary(
      { request: req },
      {
        secrets,
        resolver: fakeResolver({ [MODEL_HOST]: server.port, [ISSUER_HOST]: server.port }),
        extraCa: pki.caPem,
        now: () => new Date(nowMs),
        log: createLogger({ level: 'debug', sink: (l) => lines.push(l) }),
        ...(cache ? { tokenCache: cache } : {}),
      },
    );
  const tokenPosts = () => server.requests.filter((r) => r.url === '/dex/token').length;

  withGoodServer((p, s) => {
    pki = p;
    server = s;
  });
  beforeEach(() => {
    clearSecrets();
    lines.length = 0;
    world = { issued: [], goodScopes: new Set(['kserve/invoke']), openDoor: false, expiresIn: 3600 };
    server.handler = handler(world);
    server.requests.length = 0;
    nowMs = Date.parse('2026-12-01T00:00:00Z');
  });

  const expectClean = (value: unknown) => {
    const text = JSON.stringify(value) + lines.join('\n');
    for (const t of world.issued) expect(text).not.toContain(t.token);
    expect(text).not.toContain(CLIENT_SECRET);
    expect(text).not.toContain(HEADER_TOKEN);
  };

  it('green: the token gets the prediction, no token gets 401, the refused-scope token is refused', async () => {
    const out = await run(request());
    const r = out.results[0] as ProbeResult;
    expect(out.ok).toBe(true);
    expect(r).toMatchObject({ ok: true, status: 200, prediction: [1, 2] });
    expect(r.checks).toEqual([
      { name: 'no-token', state: 'pass', status: 401 },
      { name: 'refused-claim', state: 'pass', status: 401 },
    ]);
    // RFC 6749 §2.3.1: form-encoded id and secret in HTTP Basic; the form asks for the scope.
    const post = server.requests.find((q) => q.url === '/dex/token')!;
    expect(post.headers.authorization).toBe(
      `Basic ${Buffer.from(`${formEncode(CLIENT_ID)}:${formEncode(CLIENT_SECRET)}`).toString('base64')}`,
    );
    expect(formEncode(CLIENT_ID)).toBe('kserve%3Acanary');
    expect(formEncode(CLIENT_SECRET)).toBe('cs%3A9f8e%2F7d6c%2B5b4a');
    expect(new URLSearchParams(post.body).get('scope')).toBe('kserve/invoke');
    expect(world.issued.map((t) => t.scope)).toEqual(['kserve/invoke', 'openid']);
    expectClean(out);
  });

  it('discovers the token endpoint when the request does not name it', async () => {
    const out = await run(request());
    expect(out.ok).toBe(true);
    expect(server.requests.some((q) => q.url === '/dex/.well-known/openid-configuration')).toBe(true);
  });

  it('caches the token until shortly before it expires', async () => {
    const cache = new Map<string, CachedToken>();
    await run(request({ refusedScope: undefined }), cache);
    await run(request({ refusedScope: undefined }), cache);
    expect(tokenPosts()).toBe(1);
    nowMs += 3600 * 1000 - TOKEN_REFRESH_MARGIN_MS + 1;
    await run(request({ refusedScope: undefined }), cache);
    expect(tokenPosts()).toBe(2);
  });

  it('a cached token the ALB refuses is replaced once', async () => {
    const cache = new Map<string, CachedToken>();
    await run(request({ refusedScope: undefined }), cache);
    world.issued.length = 0; // the issuer forgot every token: the cached one is now refused
    const out = await run(request({ refusedScope: undefined }), cache);
    expect(out.ok).toBe(true);
    expect(tokenPosts()).toBe(2);
  });

  it('skips the claim check with a reason when there is no way to get a refused token', async () => {
    const out = await run(request({ refusedScope: undefined }));
    expect(out.ok).toBe(true);
    expect(out.results[0]?.checks?.[1]).toMatchObject({
      name: 'refused-claim',
      state: 'skipped',
      reason: expect.stringContaining('refusedScope'),
    });
  });

  it('reports auth when the required claim is changed (the valid token is refused)', async () => {
    world.goodScopes = new Set(['something/else']);
    const out = await run(request());
    const r = out.results[0]!;
    expect(r).toMatchObject({ ok: false, failureKind: 'auth', status: 401 });
    expect(r.layers.auth).toBe('fail');
    const metrics = canaryMetricLines(out.results);
    expect(metrics[0]?.metadata.FailureKind).toBe('auth');
    expect(metrics[1]?.dimensions.FailureKind).toBe('auth');
    expectClean(out);
  });

  it('reports auth when a request without a token is answered 200', async () => {
    world.openDoor = true;
    const r = (await run(request())).results[0]!;
    expect(r).toMatchObject({ ok: false, failureKind: 'auth' });
    expect(r.message).toContain('no-token check');
    expect(r.message).toContain('does not verify tokens');
  });

  it('reports auth when the token failing the claim is accepted', async () => {
    world.goodScopes.add('openid');
    const r = (await run(request())).results[0]!;
    expect(r).toMatchObject({ ok: false, failureKind: 'auth' });
    expect(r.checks?.[1]).toMatchObject({ name: 'refused-claim', state: 'fail', status: 200 });
  });

  it('reports auth, without the secret, when the issuer refuses the client', async () => {
    const out = await run(request({ tokenEndpoint: `${ISSUER}/wrong` }));
    expect(out.results[0]).toMatchObject({ ok: false, failureKind: 'auth' });
    expect(out.results[0]?.message).toContain('HTTP 404');
    expectClean(out);
  });

  it('migration: the header token is checked too', async () => {
    const out = await run(request({}, { transition: { headerValuesSecretId: 'api-tokens' } }));
    expect(out.ok).toBe(true);
    expect(out.results[0]?.checks?.map((c) => `${c.name}=${c.state}`)).toEqual(['no-token=pass', 'refused-claim=pass', 'header=pass']);
    expectClean(out);
  });

  it('logs no token even at debug level', async () => {
    await run(request(), new Map());
    expect(lines.length).toBeGreaterThan(0);
    expectClean({});
  });
});
