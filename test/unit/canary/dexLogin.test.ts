import { CanaryFailedError } from '../../../shared/errors';
import { clearSecrets, redactString } from '../../../shared/log';
import { dexLogin, MAX_LOGIN_REDIRECTS } from '../../../shared/canary/dexLogin';
import { createHttpsClient, type HttpClient } from '../../../shared/canary/http';
import { fakeKubeflow, type FakeKubeflowOptions } from './fakeKubeflow';
import { fakeResolver, type Pki, type TestServer, withGoodServer } from './pki';

const DASHBOARD = 'https://kubeflow.platform.example.com/';
const USER = 'user@example.com';
const PASSWORD = 'pa55-word-secret';
const SESSION = 'c2Vzc2lvbi12YWx1ZS1zZWNyZXQtMDEyMzQ1Njc4OQ';

describe('dexLogin', () => {
  let pki: Pki;
  let server: TestServer;
  let client: HttpClient;

  withGoodServer((p, s) => {
    pki = p;
    server = s;
  });
  beforeAll(() => {
    client = createHttpsClient({
      resolver: fakeResolver({ 'kubeflow.platform.example.com': server.port }),
      extraCa: pki.caPem,
      timeoutMs: 5000,
    });
  });
  beforeEach(() => {
    clearSecrets();
    server.requests.length = 0;
  });

  const use = (options: Partial<FakeKubeflowOptions> & Pick<FakeKubeflowOptions, 'variant'>) => {
    const kf = fakeKubeflow({ username: USER, password: PASSWORD, session: SESSION, ...options });
    server.handler = kf.handler;
    return kf;
  };

  async function loginError(password = PASSWORD): Promise<CanaryFailedError> {
    const err = await dexLogin({ dashboardUrl: DASHBOARD, username: USER, password, client }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CanaryFailedError);
    return err as CanaryFailedError;
  }

  it.each([200, 401, 403] as const)('logs in through oauth2-proxy (sign-in page %i) and Dex ≥ 2.31', async (signInStatus) => {
    // Prepare
    const kf = use({ variant: 'oauth2-proxy', signInStatus });
    // Act
    const cookie = await dexLogin({ dashboardUrl: DASHBOARD, username: USER, password: PASSWORD, client });
    // Assess
    expect(cookie).toBe(`oauth2_proxy_kubeflow=${SESSION}`);
    expect(kf.logins).toBe(1);
    const paths = server.requests.map((r) => `${r.method} ${r.url.split('?')[0]}`);
    expect(paths).toEqual([
      'GET /',
      'GET /oauth2/start',
      'GET /dex/auth',
      'GET /dex/auth/local',
      'GET /dex/auth/local/login',
      'POST /dex/auth/local/login',
      'GET /dex/approval',
      'GET /oauth2/callback',
      'GET /',
    ]);
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post?.url).toBe('/dex/auth/local/login?back=&state=REQ1');
    expect(post?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(post?.body).get('login')).toBe(USER);
    // the csrf cookie reached the callback, and the Host header is the dashboard's
    expect(server.requests.every((r) => r.headers.host === 'kubeflow.platform.example.com')).toBe(true);
  });

  it('joins a split oauth2-proxy session cookie in order', async () => {
    use({ variant: 'oauth2-proxy', splitSession: true });
    const cookie = await dexLogin({ dashboardUrl: DASHBOARD, username: USER, password: PASSWORD, client });
    const half = Math.ceil(SESSION.length / 2);
    expect(cookie).toBe(`oauth2_proxy_kubeflow_0=${SESSION.slice(0, half)}; oauth2_proxy_kubeflow_1=${SESSION.slice(half)}`);
  });

  it('logs in through oidc-authservice and Dex ≤ 2.30 (form at /dex/auth/local?req=)', async () => {
    const kf = use({ variant: 'authservice' });
    const cookie = await dexLogin({ dashboardUrl: DASHBOARD, username: USER, password: PASSWORD, client });
    expect(cookie).toBe(`authservice_session=${SESSION}`);
    expect(kf.logins).toBe(1);
    expect(server.requests.find((r) => r.method === 'POST')?.url).toBe('/dex/auth/local?req=REQ1');
    expect(server.requests.some((r) => r.url.startsWith('/oauth2/'))).toBe(false);
  });

  it('works with authservice in front of the newer Dex too', async () => {
    use({ variant: 'authservice', dexStyle: 'new' });
    await expect(dexLogin({ dashboardUrl: DASHBOARD, username: USER, password: PASSWORD, client })).resolves.toBe(
      `authservice_session=${SESSION}`,
    );
  });

  it('registers the password and the session as secrets', async () => {
    use({ variant: 'oauth2-proxy' });
    await dexLogin({ dashboardUrl: DASHBOARD, username: USER, password: PASSWORD, client });
    expect(redactString(`x ${PASSWORD} ${SESSION}`)).toBe('x [REDACTED] [REDACTED]');
  });

  it.each([
    ['oauth2-proxy', 200],
    ['oauth2-proxy', 401],
    ['authservice', 200],
    ['authservice', 401],
  ] as const)('fails as auth on a wrong password (%s, Dex answers %i)', async (variant, wrongPasswordStatus) => {
    const kf = use({ variant, wrongPasswordStatus });
    const wrong = 'wrong-password-secret';
    const err = await loginError(wrong);
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/rejected the credentials/);
    expect(kf.refused).toBe(1);
    expect(kf.logins).toBe(0);
    expect(err.message).not.toContain(wrong);
    expect(err.message).not.toContain(PASSWORD);
  });

  it('fails as auth when the chain loops', async () => {
    use({ variant: 'oauth2-proxy', loop: true });
    const err = await loginError();
    expect(err.kind).toBe('auth');
    expect(err.message).toContain(`more than ${MAX_LOGIN_REDIRECTS} redirects`);
    expect(server.requests.length).toBe(MAX_LOGIN_REDIRECTS + 1);
  });

  it('fails as auth when the login ends without a session cookie', async () => {
    // Prepare: a callback that forgets to set the cookie
    const kf = fakeKubeflow({ variant: 'authservice', username: USER, password: PASSWORD, session: SESSION });
    server.handler = (req, res, body) => {
      if (req.url?.startsWith('/login/oidc')) {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>logged in?</html>');
      }
      kf.handler(req, res, body);
    };
    const err = await loginError();
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/no authservice_session or oauth2_proxy_kubeflow cookie/);
  });

  it('fails as auth when no password form is reached', async () => {
    server.handler = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('boom');
    };
    const err = await loginError();
    expect(err.kind).toBe('auth');
    expect(err.message).toMatch(/stopped at \/ with HTTP 500/);
  });

  it('passes transport failures through with their own kind', async () => {
    const noDns = createHttpsClient({ resolver: fakeResolver({}), extraCa: pki.caPem, timeoutMs: 2000 });
    await expect(dexLogin({ dashboardUrl: DASHBOARD, username: USER, password: PASSWORD, client: noDns })).rejects.toMatchObject({
      kind: 'dns',
    });
  });
});
