import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { AccessDeniedError, CanaryFailedError, InvalidSecretError } from '../../../shared/errors';
import { clearSecrets, createLogger, silentLogger } from '../../../shared/log';
import type { SecretsPort } from '../../../shared/ports';
import { IRIS_INPUT, parseProvisionRequest, type ProvisionRequest, type ProvisionRequestInput } from '../../../shared/request';
import {
  assertCanaryOk,
  probeEndpoint,
  runCanary,
  type LoginCacheEntry,
  type ProbeCredentials,
  type ProbeResult,
} from '../../../shared/canary/probe';
import { Route53Resolver, type Resolver } from '../../../shared/canary/resolver';
import { MAX_LISTED_NAMESPACES, MAX_REASON_CHARS, runCanaryStep } from '../../../shared/steps/runCanary';
import { fakeKubeflow } from './fakeKubeflow';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import {
  fakeResolver,
  json,
  makePki,
  SERVER_CERT_DAYS,
  startServer,
  text,
  type Handler,
  type Pki,
  type TestServer,
  withGoodServer,
} from './pki';

const TOKEN = 'tok-3b9f1c2d-secret-value';
const WRONG_TOKEN = 'tok-wrong-0000-secret';
const STAGING = 'sklearn-irisv2.staging.platform.example.com';
const PROD = 'sklearn-irisv2.prod.platform.example.com';
const DASHBOARD = 'kubeflow.platform.example.com';
const INFER_PATH = '/v2/models/sklearn-irisv2/infer';
const V2_OK = {
  model_name: 'sklearn-irisv2',
  model_version: null,
  id: 'e5fc40ba-5f02-42f7-aff8-34042facbe11',
  parameters: null,
  outputs: [{ name: 'predict', shape: [2], datatype: 'FP32', parameters: null, data: [1, 2] }],
};

function makeRequest(overrides: Partial<ProvisionRequestInput> = {}): ProvisionRequest {
  return parseProvisionRequest({
    domain: 'platform.example.com',
    cluster: { name: 'kf', region: 'us-west-2' },
    namespaces: ['staging'],
    auth: { provider: 'cognito', headerValuesSecretId: 'kserve-edge/header-values' },
    canary: { expected: { outputName: 'predict', data: [1, 2] }, timeoutSeconds: 1 },
    ...overrides,
  });
}

/** The ALB of the Cognito flow: the header condition, then the KServe predictor. */
function albHandler(predictor: Handler): Handler {
  return (req, res, body) => {
    if (req.headers['x-api-key'] !== TOKEN) return text(res, 404, '', { server: 'awselb/2.0' });
    predictor(req, res, body);
  };
}

const v2Predictor: Handler = (req, res, body) => {
  if (req.method !== 'POST' || req.url !== INFER_PATH) return json(res, 404, { error: 'Model not found' }, { server: 'istio-envoy' });
  if (req.headers['content-type'] !== 'application/json') return json(res, 415, { error: 'content-type' });
  if (JSON.stringify(JSON.parse(body)) !== JSON.stringify(IRIS_INPUT)) return json(res, 400, { error: 'unexpected input' });
  json(res, 200, V2_OK);
};

function secretsOf(values: Record<string, string>): SecretsPort & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async getSecretString(id: string) {
      reads.push(id);
      const v = values[id];
      if (v === undefined) throw new Error(`no secret ${id}`);
      return v;
    },
  };
}

function expectNoSecrets(value: unknown, secrets: string[]): void {
  const text = JSON.stringify(value);
  for (const s of secrets) expect(text).not.toContain(s);
}

function expectOneFailure(r: ProbeResult, kind: string): void {
  expect(r.ok).toBe(false);
  expect(r.failureKind).toBe(kind);
  expect(Object.values(r.layers).filter((l) => l === 'fail')).toHaveLength(1);
}

/**
 * A Route 53 resolver over an in-memory zone `Z1` (platform.example.com) holding
 * the CNAMEs `cnames` (name → target), with `hostMap` as its host map.
 */
function zoneResolver(cnames: Record<string, string>, hostMap: Record<string, string>) {
  const route53 = InMemoryRoute53.withZones([{ id: 'Z1', name: 'platform.example.com' }]);
  for (const [name, target] of Object.entries(cnames)) route53.seedRecord('Z1', { name, type: 'CNAME', values: [target] });
  return { route53, resolver: new Route53Resolver({ route53, zoneId: 'Z1', loadHostMap: async () => hostMap }) };
}

describe('probeEndpoint', () => {
  let pki: Pki;
  let alb: TestServer;
  let otherHost: TestServer;
  let untrusted: TestServer;
  let silent: net.Server;
  let silentPort: number;
  const now = (): Date => new Date();

  beforeAll(async () => {
    pki = makePki();
    alb = await startServer(pki.good, albHandler(v2Predictor));
    otherHost = await startServer(pki.otherHost, albHandler(v2Predictor));
    untrusted = await startServer(pki.untrusted, albHandler(v2Predictor));
    // Accepts TCP and never says a word (no TLS handshake).
    silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await Promise.all([alb.close(), otherHost.close(), untrusted.close()]);
    await new Promise<void>((r) => {
      silent.close(() => r());
      // close() waits for the sockets the handshake-timeout test left open
      for (const s of sockets) s.destroy();
    });
    pki.cleanup();
  });
  const sockets: net.Socket[] = [];
  beforeEach(() => {
    clearSecrets();
    alb.handler = albHandler(v2Predictor);
    alb.requests.length = 0;
  });

  const header = (value = TOKEN): ProbeCredentials => ({ kind: 'header', name: 'x-api-key', value });
  const probe = (opts: { credentials?: ProbeCredentials; port?: number; request?: ProvisionRequest; extraCa?: string | null } = {}) =>
    probeEndpoint({
      request: opts.request ?? makeRequest(),
      namespace: 'staging',
      credentials: opts.credentials ?? header(),
      resolver: fakeResolver({ [STAGING]: opts.port ?? alb.port }),
      ...(opts.extraCa === null ? {} : { extraCa: opts.extraCa ?? pki.caPem }),
      now,
    });

  it('passes every layer on a 200 V2 answer with the expected prediction', async () => {
    // Act
    const r = await probe();
    // Assess
    expect(r).toMatchObject({
      namespace: 'staging',
      host: STAGING,
      url: `https://${STAGING}${INFER_PATH}`,
      ok: true,
      status: 200,
      prediction: [1, 2],
      layers: { dns: 'pass', tls: 'pass', auth: 'pass', http: 'pass', protocol: 'pass', prediction: 'pass' },
    });
    expect(r.failureKind).toBeUndefined();
    expect(r.certificateDaysToExpiry).toBeGreaterThanOrEqual(SERVER_CERT_DAYS - 2);
    expect(r.certificateDaysToExpiry).toBeLessThanOrEqual(SERVER_CERT_DAYS);
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    const seen = alb.requests[0];
    expect(seen?.headers.host).toBe(STAGING);
    expect(seen?.headers['x-api-key']).toBe(TOKEN);
    expectNoSecrets(r, [TOKEN]);
  });

  it('skips the prediction layer when nothing is expected and reports the first output', async () => {
    const r = await probe({ request: makeRequest({ canary: { timeoutSeconds: 1 } }) });
    expect(r.ok).toBe(true);
    expect(r.layers.prediction).toBe('skipped');
    expect(r.prediction).toEqual([1, 2]);
  });

  it('classifies the ALB fixed-response 404 for a wrong header value as auth', async () => {
    const r = await probe({ credentials: header(WRONG_TOKEN) });
    expectOneFailure(r, 'auth');
    expect(r.status).toBe(404);
    expect(r.layers).toMatchObject({ dns: 'pass', tls: 'pass', auth: 'fail', http: 'skipped' });
    expect(r.message).toContain('x-api-key header value was not accepted');
    expectNoSecrets(r, [WRONG_TOKEN, TOKEN]);
  });

  it('classifies a JSON 404 from Istio/KServe (model missing) as http, not auth', async () => {
    alb.handler = albHandler((_req, res) => json(res, 404, { error: 'Model sklearn-irisv2 not found' }, { server: 'istio-envoy' }));
    const r = await probe();
    expectOneFailure(r, 'http');
    expect(r.layers.auth).toBe('pass');
  });

  it('classifies Istio "RBAC: access denied" 403 as http', async () => {
    alb.handler = albHandler((_req, res) => text(res, 403, 'RBAC: access denied', { server: 'istio-envoy' }));
    const r = await probe();
    expectOneFailure(r, 'http');
    expect(r.status).toBe(403);
    expect(r.layers).toMatchObject({ auth: 'pass', http: 'fail', protocol: 'skipped' });
    expect(r.message).toContain('AuthorizationPolicy');
  });

  it.each([
    ['a redirect to the Dex login', 302, { location: '/dex/auth?client_id=x&state=y' }],
    ['a redirect to oauth2-proxy', 303, { location: 'https://kubeflow.platform.example.com/oauth2/start?rd=%2F' }],
    ['401', 401, {}],
    ['a plain 403', 403, {}],
  ] as const)('classifies %s as auth', async (_name, status, headers) => {
    alb.handler = albHandler((_req, res) => {
      res.writeHead(status, headers);
      res.end();
    });
    const r = await probe();
    expectOneFailure(r, 'auth');
    expect(r.status).toBe(status);
  });

  it('classifies a 503 and a redirect elsewhere as http', async () => {
    alb.handler = albHandler((_req, res) => text(res, 503, 'no healthy upstream'));
    const r1 = await probe();
    expectOneFailure(r1, 'http');
    expect(r1.message).toContain('HTTP 503: no healthy upstream');
    alb.handler = albHandler((_req, res) => {
      res.writeHead(301, { location: 'https://elsewhere.example.com/' });
      res.end();
    });
    expectOneFailure(await probe(), 'http');
  });

  it('classifies a non-JSON 200 as protocol', async () => {
    alb.handler = albHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>Kubeflow Central Dashboard</html>');
    });
    const r = await probe();
    expectOneFailure(r, 'protocol');
    expect(r.layers).toMatchObject({ auth: 'pass', http: 'pass', protocol: 'fail', prediction: 'skipped' });
    expect(r.message).toContain('not JSON');
  });

  it('classifies JSON that is not a V2 response as protocol', async () => {
    alb.handler = albHandler((_req, res) => json(res, 200, { predictions: [1, 1] }));
    const r = await probe();
    expectOneFailure(r, 'protocol');
    expect(r.message).toContain('model_name');
  });

  it('classifies a wrong prediction as prediction, with expected and actual', async () => {
    alb.handler = albHandler((_req, res) =>
      json(res, 200, { ...V2_OK, outputs: [{ name: 'predict', shape: [2], datatype: 'FP32', data: [2, 2] }] }),
    );
    const r = await probe();
    expectOneFailure(r, 'prediction');
    expect(r.layers.protocol).toBe('pass');
    expect(r.message).toContain('expected [1,2], actual [2,2]');
  });

  it('classifies a certificate for another host as tls', async () => {
    const r = await probe({ port: otherHost.port });
    expectOneFailure(r, 'tls');
    expect(r.layers).toMatchObject({ dns: 'pass', tls: 'fail', auth: 'skipped' });
    expect(r.message).toMatch(/altnames|ALTNAME/i);
    expect(r.status).toBeUndefined();
  });

  it('classifies a certificate from an untrusted CA as tls', async () => {
    const r = await probe({ port: untrusted.port });
    expectOneFailure(r, 'tls');
    expect(r.message).toMatch(/certificate/i);
  });

  it('does not trust the test CA unless it is passed (default roots only)', async () => {
    const r = await probe({ extraCa: null });
    expectOneFailure(r, 'tls');
  });

  it('times out when the server never answers the request', async () => {
    alb.handler = () => undefined;
    const started = Date.now();
    const r = await probe();
    expectOneFailure(r, 'timeout');
    expect(r.layers).toMatchObject({ dns: 'pass', tls: 'pass', http: 'fail' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r.message).toContain('longer than 1000 ms');
  });

  it('times out when the server never completes the TLS handshake', async () => {
    const r = await probe({ port: silentPort });
    expectOneFailure(r, 'timeout');
    expect(r.layers).toMatchObject({ dns: 'pass', tls: 'fail' });
  });

  it('classifies a refused connection as http', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await probe({ port });
    expectOneFailure(r, 'http');
    expect(r.message).toContain('ECONNREFUSED');
  });

  it('classifies a missing DNS record (Route 53) as dns', async () => {
    // Prepare: the zone exists but has no *.staging record
    const { resolver } = zoneResolver({ '*.prod.platform.example.com': 'alb.example.com' }, { 'alb.example.com': `127.0.0.1:${alb.port}` });
    // Act
    const r = await probeEndpoint({
      request: makeRequest(),
      namespace: 'staging',
      credentials: header(),
      resolver,
      extraCa: pki.caPem,
      now,
    });
    // Assess
    expectOneFailure(r, 'dns');
    expect(r.layers).toMatchObject({ dns: 'fail', tls: 'skipped' });
    expect(r.message).toContain('*.staging.platform.example.com');
    expect(alb.requests).toHaveLength(0);
  });

  it('lets AccessDenied from the Route 53 resolver through instead of reading it as DNS not ready', async () => {
    const { route53, resolver } = zoneResolver({}, {});
    route53.failures.add(
      'getHostedZone',
      new AccessDeniedError('not allowed to route53:GetHostedZone: AccessDenied: User: … is not authorized'),
    );
    await expect(
      probeEndpoint({ request: makeRequest(), namespace: 'staging', credentials: header(), resolver, extraCa: pki.caPem, now }),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(alb.requests).toHaveLength(0);
  });

  it('reaches the endpoint through Route 53 + host map when the record exists', async () => {
    const albName = 'k8s-istiosys-istioing-abc.us-west-2.elb.amazonaws.com';
    const { resolver } = zoneResolver({ '*.staging.platform.example.com': albName }, { [albName]: `127.0.0.1:${alb.port}` });
    const r = await probeEndpoint({
      request: makeRequest(),
      namespace: 'staging',
      credentials: header(),
      resolver,
      extraCa: pki.caPem,
      now,
    });
    expect(r.ok).toBe(true);
  });

  it('never puts the credential in the message, even when the server echoes it', async () => {
    alb.handler = albHandler((req, res) => text(res, 500, `bad request with key ${String(req.headers['x-api-key'])}`));
    const r = await probe();
    expectOneFailure(r, 'http');
    expect(r.message).toContain('[REDACTED]');
    expectNoSecrets(r, [TOKEN]);
    const cookie = 'authservice_session=c2Vzc2lvbi1zZWNyZXQ';
    alb.handler = (req, res) => text(res, 500, `cookie was ${String(req.headers.cookie)}`);
    const r2 = await probe({ credentials: { kind: 'cookie', cookie } });
    expectNoSecrets(r2, [cookie, 'c2Vzc2lvbi1zZWNyZXQ']);
  });
});

describe('runCanary', () => {
  let pki: Pki;
  let server: TestServer;
  const now = (): Date => new Date();

  withGoodServer((p, s) => {
    pki = p;
    server = s;
  }, albHandler(v2Predictor));
  beforeEach(() => {
    clearSecrets();
    server.requests.length = 0;
  });

  const resolver = () => fakeResolver({ [STAGING]: server.port, [PROD]: server.port, [DASHBOARD]: server.port });

  describe('with Cognito', () => {
    const request = () => makeRequest({ namespaces: ['staging', 'prod'] });
    const secrets = (values = [TOKEN, 'tok-second-unused-xx']) =>
      secretsOf({ 'kserve-edge/header-values': JSON.stringify({ headerValues: values }) });

    it('probes every namespace with the first header value and succeeds', async () => {
      // Prepare
      server.handler = albHandler(v2Predictor);
      const lines: string[] = [];
      const log = createLogger({ sink: (l) => lines.push(l), level: 'debug' });
      // Act
      const run = await runCanary({ request: request() }, { secrets: secrets(), resolver: resolver(), extraCa: pki.caPem, now, log });
      // Assess
      expect(run.ok).toBe(true);
      expect(run.results.map((r) => r.host)).toEqual([STAGING, PROD]);
      expect(server.requests.map((r) => r.headers.host).sort()).toEqual([PROD, STAGING]);
      expect(() => assertCanaryOk(run)).not.toThrow();
      expect(lines).toHaveLength(2);
      expectNoSecrets({ run, lines }, [TOKEN]);
    });

    it('respects canary.namespaces', async () => {
      server.handler = albHandler(v2Predictor);
      const req = makeRequest({ namespaces: ['staging', 'prod'], canary: { namespaces: ['prod'], timeoutSeconds: 1 } });
      const run = await runCanary(
        { request: req },
        { secrets: secrets(), resolver: resolver(), extraCa: pki.caPem, now, log: silentLogger },
      );
      expect(run.results.map((r) => r.namespace)).toEqual(['prod']);
    });

    it('fails the run when one namespace fails, and assertCanaryOk throws its kind', async () => {
      server.handler = albHandler((req, res, body) =>
        req.headers.host === PROD ? text(res, 403, 'RBAC: access denied') : v2Predictor(req, res, body),
      );
      const run = await runCanary(
        { request: request() },
        { secrets: secrets(), resolver: resolver(), extraCa: pki.caPem, now, log: silentLogger },
      );
      expect(run.ok).toBe(false);
      expect(run.results.map((r) => r.ok)).toEqual([true, false]);
      let err: unknown;
      try {
        assertCanaryOk(run);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CanaryFailedError);
      expect(err).toMatchObject({ name: 'CanaryFailed', kind: 'http' });
      expect((err as Error).message).toContain(`namespace prod (${PROD})`);
    });

    it('runCanaryStep returns a summary without secrets', async () => {
      server.handler = albHandler(v2Predictor);
      const out = await runCanaryStep(
        { request: request() },
        { secrets: secrets(), resolver: resolver(), extraCa: pki.caPem, now, log: silentLogger },
      );
      expect(out.ok).toBe(true);
      expect(out.namespaces).toHaveLength(2);
      expect(out.namespaces[0]).toMatchObject({ namespace: 'staging', host: STAGING, status: 200, prediction: [1, 2] });
      expect(out.namespaces[0]?.certificateDaysToExpiry).toBeGreaterThan(0);
      expect(Object.keys(out.namespaces[0] ?? {}).sort()).toEqual([
        'certificateDaysToExpiry',
        'host',
        'latencyMs',
        'namespace',
        'prediction',
        'status',
      ]);
      expectNoSecrets(out, [TOKEN]);
    });

    it('runCanaryStep throws CanaryFailed(auth) when the header is refused, without the token', async () => {
      server.handler = albHandler(v2Predictor);
      const err = await runCanaryStep(
        { request: request() },
        { secrets: secrets([WRONG_TOKEN]), resolver: resolver(), extraCa: pki.caPem, now, log: silentLogger },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ name: 'CanaryFailed', kind: 'auth' });
      expect((err as Error).message).toContain('namespace staging');
      expect((err as Error).message).not.toContain(WRONG_TOKEN);
    });

    describe('runCanaryStep, the first canary after provisioning (time injected)', () => {
      const T0 = '2026-01-01T00:00:00.000Z';
      const at = (seconds: number) => () => new Date(Date.parse(T0) + seconds * 1000);

      it('returns ready: false with the next wait while a host does not resolve yet, then ready once it does', async () => {
        // Prepare: prod's name is not in DNS yet.
        server.handler = albHandler(v2Predictor);
        const stagingOnly = fakeResolver({ [STAGING]: server.port });
        // Act
        const first = await runCanaryStep(
          { request: request() },
          { secrets: secrets(), resolver: stagingOnly, extraCa: pki.caPem, now: at(0), log: silentLogger },
        );
        const second = await runCanaryStep(
          { request: request(), previous: first },
          { secrets: secrets(), resolver: resolver(), extraCa: pki.caPem, now: at(first.waitSeconds), log: silentLogger },
        );
        // Assess
        expect(first).toMatchObject({
          ok: false,
          ready: false,
          waitSeconds: 5,
          elapsedSeconds: 0,
          attempts: 1,
          firstAttemptAt: T0,
          deadlineSeconds: 900,
        });
        expect(first.namespaces.map((n) => [n.namespace, n.failureKind])).toEqual([
          ['staging', undefined],
          ['prod', 'dns'],
        ]);
        expect(first.namespaces[1]?.reason).toContain(`no record for ${PROD}`);
        expect(second).toMatchObject({ ok: true, ready: true, waitSeconds: 0, elapsedSeconds: 5, attempts: 2, firstAttemptAt: T0 });
        expectNoSecrets({ first, second }, [TOKEN]);
      });

      it('waits on 503 while the targets register', async () => {
        server.handler = albHandler((_req, res) => text(res, 503, 'Service Temporarily Unavailable', { server: 'awselb/2.0' }));
        const out = await runCanaryStep(
          { request: request() },
          { secrets: secrets(), resolver: resolver(), extraCa: pki.caPem, now: at(0), log: silentLogger },
        );
        expect(out).toMatchObject({ ok: false, ready: false, waitSeconds: 5 });
        expect(out.namespaces.map((n) => [n.failureKind, n.status])).toEqual([
          ['http', 503],
          ['http', 503],
        ]);
      });

      it('lists at most 100 red namespaces with short reasons when hundreds are red (the output stays small)', async () => {
        // Prepare: 250 namespaces, every one failing with a long message (an error page's worth).
        const many = Array.from({ length: 250 }, (_, i) => `ns-${String(i + 1).padStart(3, '0')}`);
        const longFailure: Resolver = {
          resolve: async (host) => {
            throw new CanaryFailedError('dns', `no record for ${host}: ${'x'.repeat(3000)}`);
          },
        };
        // Act
        const out = await runCanaryStep(
          { request: makeRequest({ namespaces: many }) },
          { secrets: secrets(), resolver: longFailure, extraCa: pki.caPem, now: at(0), log: silentLogger },
        );
        // Assess
        expect(out).toMatchObject({ ok: false, ready: false, green: 0, redNotListed: 150 });
        expect(out.namespaces).toHaveLength(MAX_LISTED_NAMESPACES);
        expect(out.namespaces.every((n) => n.failureKind === 'dns' && n.reason !== undefined && n.reason.length <= MAX_REASON_CHARS)).toBe(
          true,
        );
        expect(JSON.stringify(out).length).toBeLessThan(64 * 1024);
      });

      it('throws CanaryFailed with the layer once deadlines.canarySeconds have passed since the first attempt', async () => {
        const err = await runCanaryStep(
          { request: request(), previous: { firstAttemptAt: T0, attempts: 22 } },
          { secrets: secrets(), resolver: fakeResolver({}), extraCa: pki.caPem, now: at(901), log: silentLogger },
        ).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toMatchObject({ name: 'CanaryFailed', kind: 'dns' });
        expect((err as Error).message).toMatch(/^dns: namespace staging /);
        expect((err as Error).message).toContain('still failing after 901s and 23 attempts (deadline 900s)');
        expect((err as Error).message).not.toContain(TOKEN);
      });

      it('throws at once on a wrong prediction: waiting does not change the model', async () => {
        server.handler = albHandler(v2Predictor);
        const wrong = makeRequest({
          namespaces: ['staging', 'prod'],
          canary: { expected: { outputName: 'predict', data: [9, 9] }, timeoutSeconds: 1 },
        });
        await expect(
          runCanaryStep(
            { request: wrong },
            { secrets: secrets(), resolver: resolver(), extraCa: pki.caPem, now: at(0), log: silentLogger },
          ),
        ).rejects.toMatchObject({ name: 'CanaryFailed', kind: 'prediction', message: expect.stringContaining('not waited for') });
      });

      it('starts a new wait when the previous attempt is not usable (StartCanary passes {})', async () => {
        server.handler = albHandler(v2Predictor);
        const out = await runCanaryStep(
          { request: request(), previous: {} },
          { secrets: secrets(), resolver: fakeResolver({}), extraCa: pki.caPem, now: at(30), log: silentLogger },
        );
        expect(out).toMatchObject({ ready: false, attempts: 1, firstAttemptAt: at(30)().toISOString(), elapsedSeconds: 0 });
      });
    });

    it('throws InvalidSecret for a malformed secret, without echoing it', async () => {
      const bad = secretsOf({ 'kserve-edge/header-values': '{"headerValues": "tok-not-an-array"}' });
      const err = await runCanary(
        { request: request() },
        { secrets: bad, resolver: resolver(), extraCa: pki.caPem, now, log: silentLogger },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidSecretError);
      expect((err as Error).message).not.toContain('tok-not-an-array');
    });
  });

  describe('with Dex', () => {
    const USER = 'user@example.com';
    const PASSWORD = 'dex-password-secret';
    const SESSION = 'session-cookie-value-secret-1234';
    const request = () =>
      makeRequest({ namespaces: ['staging', 'prod'], auth: { provider: 'dex', loginSecretId: 'kserve-edge/dex-login' } });
    const secrets = (password = PASSWORD) => secretsOf({ 'kserve-edge/dex-login': JSON.stringify({ username: USER, password }) });

    it('logs in once, probes with the session cookie, and reuses the cached login', async () => {
      // Prepare
      const kf = fakeKubeflow({ variant: 'oauth2-proxy', username: USER, password: PASSWORD, session: SESSION });
      server.handler = kf.handler;
      const loginCache = new Map<string, LoginCacheEntry>();
      const lines: string[] = [];
      const deps = {
        secrets: secrets(),
        resolver: resolver(),
        extraCa: pki.caPem,
        now,
        log: createLogger({ sink: (l) => lines.push(l) }),
        loginCache,
      };
      // Act
      const first = await runCanary({ request: request() }, deps);
      const second = await runCanary({ request: request() }, deps);
      // Assess
      expect(first.ok).toBe(true);
      expect(second.ok).toBe(true);
      expect(kf.logins).toBe(1);
      expect([...loginCache.values()][0]?.expiresAt).toBeGreaterThan(Date.now() + 9 * 60 * 1000);
      const inference = server.requests.filter((r) => r.url.startsWith('/v2/'));
      expect(inference).toHaveLength(4);
      expect(inference.every((r) => r.headers.cookie === `oauth2_proxy_kubeflow=${SESSION}`)).toBe(true);
      expectNoSecrets({ first, second, lines }, [PASSWORD, SESSION]);
    });

    it('logs in again when the cache entry expired', async () => {
      const kf = fakeKubeflow({ variant: 'authservice', username: USER, password: PASSWORD, session: SESSION });
      server.handler = kf.handler;
      let t = Date.now();
      const loginCache = new Map<string, LoginCacheEntry>();
      const deps = { secrets: secrets(), resolver: resolver(), extraCa: pki.caPem, now: () => new Date(t), log: silentLogger, loginCache };
      await runCanary({ request: request() }, deps);
      t += 11 * 60 * 1000;
      const run = await runCanary({ request: request() }, deps);
      expect(run.ok).toBe(true);
      expect(kf.logins).toBe(2);
    });

    it('drops a cached session the endpoint refuses and logs in again once', async () => {
      const kf = fakeKubeflow({ variant: 'oauth2-proxy', username: USER, password: PASSWORD, session: SESSION });
      server.handler = kf.handler;
      const loginCache = new Map<string, LoginCacheEntry>([
        [`https://${DASHBOARD}/|${USER}`, { cookie: 'oauth2_proxy_kubeflow=stale-session-value', expiresAt: Date.now() + 60_000 }],
      ]);
      const run = await runCanary(
        { request: request() },
        { secrets: secrets(), resolver: resolver(), extraCa: pki.caPem, now, log: silentLogger, loginCache },
      );
      expect(run.ok).toBe(true);
      expect(kf.logins).toBe(1);
      expect([...loginCache.values()][0]?.cookie).toBe(`oauth2_proxy_kubeflow=${SESSION}`);
    });

    it('reports a wrong password as auth for every namespace, without the password', async () => {
      const kf = fakeKubeflow({ variant: 'oauth2-proxy', username: USER, password: PASSWORD, session: SESSION });
      server.handler = kf.handler;
      const wrong = 'wrong-dex-password-secret';
      const loginCache = new Map<string, LoginCacheEntry>();
      const deps = { secrets: secrets(wrong), resolver: resolver(), extraCa: pki.caPem, now, log: silentLogger, loginCache };
      const run = await runCanary({ request: request() }, deps);
      expect(run.ok).toBe(false);
      expect(run.results.map((r) => [r.namespace, r.failureKind, r.layers.auth])).toEqual([
        ['staging', 'auth', 'fail'],
        ['prod', 'auth', 'fail'],
      ]);
      expect(run.results[0]?.message).toContain(`login at https://${DASHBOARD}/ failed`);
      expect(loginCache.size).toBe(0);
      expectNoSecrets(run, [wrong, PASSWORD]);
      await expect(runCanaryStep({ request: request() }, deps)).rejects.toMatchObject({ name: 'CanaryFailed', kind: 'auth' });
      expect(server.requests.some((r) => r.url.startsWith('/v2/'))).toBe(false);
    });

    it('classifies the login redirect a model host answers to a bad cookie as auth', async () => {
      const kf = fakeKubeflow({ variant: 'authservice', username: USER, password: PASSWORD, session: SESSION });
      server.handler = kf.handler;
      const r = await probeEndpoint({
        request: request(),
        namespace: 'staging',
        credentials: { kind: 'cookie', cookie: 'authservice_session=not-the-session' },
        resolver: resolver(),
        extraCa: pki.caPem,
        now,
      });
      expectOneFailure(r, 'auth');
      expect(r.status).toBe(302);
      expect(r.message).toContain('/dex/auth');
    });
  });
});
