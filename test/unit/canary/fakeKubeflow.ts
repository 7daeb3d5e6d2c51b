/**
 * A fake Kubeflow front door for the Dex login tests: oauth2-proxy (≥ 1.9) or
 * oidc-authservice (≤ 1.8) in front of a fake Dex with one static user. It
 * follows the redirect chain of Kubeflow's login (oauth2-proxy → Dex `/dex/auth` →
 * the local connector's login form → `/oauth2/callback`, or oidc-authservice's),
 * checks the CSRF/state cookies, and then guards the model host the same way
 * (session cookie or a redirect to the login).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler } from './pki';
import { json } from './pki';

export interface FakeKubeflowOptions {
  variant: 'oauth2-proxy' | 'authservice';
  username: string;
  password: string;
  /** Session value the callback sets (split in two cookies when `splitSession`). */
  session: string;
  splitSession?: boolean;
  /** What Dex answers to a wrong password: re-render the form (200) or 401. */
  wrongPasswordStatus?: 200 | 401;
  /** oauth2-proxy's answer to `/` without a session. */
  signInStatus?: 200 | 401 | 403;
  /** Dex ≥ 2.31 (`/dex/auth/local/login?back=&state=`) or ≤ 2.30 (`/dex/auth/local?req=`). */
  dexStyle?: 'new' | 'old';
  /** Break the chain: redirect forever. */
  loop?: boolean;
}

export interface FakeKubeflow {
  handler: Handler;
  /** Completed logins. */
  logins: number;
  /** Password POSTs that were refused. */
  refused: number;
}

const FORM = (action: string, error = ''): string => `<!DOCTYPE html><html><body>
<h2>Log in to Your Account</h2>${error ? `<div id="login-error" class="dex-error-box">${error}</div>` : ''}
<form method="post" action="${action.replace(/&/g, '&amp;')}">
  <input type="text" id="login" name="login" placeholder="email address" autofocus/>
  <input type="password" id="password" name="password" placeholder="password"/>
  <button type="submit" id="submit-login">Login</button>
</form></body></html>`;

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function redirect(res: ServerResponse, status: number, location: string, setCookie: string[] = []): void {
  res.writeHead(status, { location, ...(setCookie.length ? { 'set-cookie': setCookie } : {}) });
  res.end();
}

export function fakeKubeflow(options: FakeKubeflowOptions): FakeKubeflow {
  const state: FakeKubeflow = { handler: () => undefined, logins: 0, refused: 0 };
  const dexStyle = options.dexStyle ?? (options.variant === 'oauth2-proxy' ? 'new' : 'old');
  const callback = options.variant === 'oauth2-proxy' ? '/oauth2/callback' : '/login/oidc';
  const csrfName = options.variant === 'oauth2-proxy' ? 'oauth2_proxy_kubeflow_csrf' : 'oidc_state_csrf';
  const sessionCookies = (): string[] => {
    const attrs = 'Path=/; Secure; HttpOnly; Max-Age=604800; SameSite=Lax';
    if (options.variant === 'authservice') return [`authservice_session=${options.session}; ${attrs}`];
    if (!options.splitSession) return [`oauth2_proxy_kubeflow=${options.session}; ${attrs}`];
    const half = Math.ceil(options.session.length / 2);
    return [
      `oauth2_proxy_kubeflow_1=${options.session.slice(half)}; ${attrs}`,
      `oauth2_proxy_kubeflow_0=${options.session.slice(0, half)}; ${attrs}`,
    ];
  };
  const hasSession = (req: IncomingMessage): boolean => {
    const c = cookies(req);
    if (options.variant === 'authservice') return c.authservice_session === options.session;
    return (c.oauth2_proxy_kubeflow ?? `${c.oauth2_proxy_kubeflow_0 ?? ''}${c.oauth2_proxy_kubeflow_1 ?? ''}`) === options.session;
  };
  const authRedirect = (res: ServerResponse): void =>
    redirect(
      res,
      302,
      `/dex/auth?client_id=kubeflow-oidc-authservice&redirect_uri=${encodeURIComponent(callback)}&response_type=code&scope=openid+profile+email+groups&state=STATE1`,
      [`${csrfName}=CSRF1; Path=/; Secure; HttpOnly; Max-Age=900`],
    );

  state.handler = (req, res, body) => {
    const url = new URL(req.url ?? '/', 'https://kubeflow.platform.example.com');
    const path = url.pathname;
    if (options.loop && path === '/') return redirect(res, 302, '/loop');
    if (options.loop && path === '/loop') return redirect(res, 302, '/');

    // ---- the model host (inference), behind the same front door
    if (path.startsWith('/v2/models/')) {
      if (hasSession(req)) {
        const model = path.split('/')[3] ?? '';
        return json(res, 200, {
          model_name: model,
          id: 'req-1',
          outputs: [{ name: 'predict', shape: [2], datatype: 'FP32', data: [1, 2] }],
        });
      }
      if (options.variant === 'authservice') return authRedirect(res);
      return redirect(res, 302, '/oauth2/start?rd=%2Fv2%2Fmodels');
    }

    // ---- Dex
    if (path === '/dex/auth') {
      const to = dexStyle === 'new' ? `/dex/auth/local?${url.searchParams.toString()}` : '/dex/auth/local?req=REQ1';
      return redirect(res, 302, to);
    }
    if (path === '/dex/auth/local' && dexStyle === 'new') return redirect(res, 302, '/dex/auth/local/login?back=&state=REQ1');
    const formPath = dexStyle === 'new' ? '/dex/auth/local/login' : '/dex/auth/local';
    if (path === formPath) {
      const action = `${path}${url.search}`;
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end(FORM(action));
      }
      const form = new URLSearchParams(body);
      if (
        req.headers['content-type'] === 'application/x-www-form-urlencoded' &&
        form.get('login') === options.username &&
        form.get('password') === options.password
      ) {
        return redirect(res, 303, '/dex/approval?req=REQ1');
      }
      state.refused += 1;
      res.writeHead(options.wrongPasswordStatus ?? 200, { 'content-type': 'text/html' });
      return res.end(FORM(action, 'Invalid Email Address and password.'));
    }
    if (path === '/dex/approval') return redirect(res, 303, `${callback}?code=CODE1&state=STATE1`);

    // ---- oauth2-proxy / authservice
    if (path === callback) {
      if (cookies(req)[csrfName] !== 'CSRF1' || url.searchParams.get('code') !== 'CODE1') {
        res.writeHead(403, { 'content-type': 'text/plain' });
        return res.end('csrf check failed');
      }
      state.logins += 1;
      return redirect(res, 302, '/', [...sessionCookies(), `${csrfName}=; Path=/; Max-Age=0`]);
    }
    if (options.variant === 'oauth2-proxy' && path === '/oauth2/start') {
      return authRedirect(res);
    }
    if (path === '/') {
      if (hasSession(req)) {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html>Kubeflow Central Dashboard</html>');
      }
      if (options.variant === 'authservice') return authRedirect(res);
      res.writeHead(options.signInStatus ?? 403, { 'content-type': 'text/html' });
      return res.end('<html><form action="/oauth2/start"><button>Sign in with Dex</button></form></html>');
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('404 page not found');
  };
  return state;
}
