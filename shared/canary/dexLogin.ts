/**
 * The Kubeflow Dex login, scripted without a browser.
 *
 * Two front doors exist, and both end on Dex's password form:
 *
 * ```
 *  oidc-authservice (Kubeflow ≤ 1.8)          oauth2-proxy (Kubeflow ≥ 1.9)
 *  GET /            302 → /dex/auth?…         GET /  200 sign-in page (or 401/403)
 *                                             GET /oauth2/start?rd=/  302 → /dex/auth?…
 *  /dex/auth        302 → /dex/auth/local?…   (same)
 *  Dex ≤ 2.30       200 form at /dex/auth/local?req=…
 *  Dex ≥ 2.31       302 → /dex/auth/local/login?back=&state=…  200 form
 *  POST form  login=…&password=…   303 → /dex/approval?req=…
 *  /dex/approval    303/302 → <callback>?code=…&state=…
 *  callback         302 → rd, Set-Cookie authservice_session | oauth2_proxy_kubeflow[_0,_1…]
 * ```
 *
 * A wrong password makes Dex render the form again (200) or answer 401.
 * Cookies travel in a {@link CookieJar}; redirects are followed by hand so the
 * jar sees every Set-Cookie.
 */
import { CanaryFailedError } from '../errors';
import { registerSecret } from '../log';
import { CookieJar, type Cookie } from './cookies';
import type { HttpClient, HttpsResponse } from './http';

/** Most redirects followed in one login. */
export const MAX_LOGIN_REDIRECTS = 15;

/** Session cookie of oidc-authservice (Kubeflow ≤ 1.8). */
export const AUTHSERVICE_COOKIE = 'authservice_session';
/** Session cookie of Kubeflow's oauth2-proxy (≥ 1.9); large sessions are split into `_0`, `_1`, … */
export const OAUTH2_PROXY_COOKIE = 'oauth2_proxy_kubeflow';
const OAUTH2_PROXY_COOKIE_RE = /^oauth2_proxy_kubeflow(?:_(\d+))?$/;

export interface DexLoginOptions {
  /** e.g. `https://kubeflow.platform.example.com/` */
  dashboardUrl: string;
  username: string;
  password: string;
  client: HttpClient;
  /** Clock of the cookie jar (epoch ms). */
  now?: () => number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Dex's password connector pages: `/dex/auth/local` (≤ 2.30) and `/dex/auth/local/login` (≥ 2.31). */
const DEX_PASSWORD_PATH = /\/dex\/auth\/[^/]+(?:\/login)?\/?$/;
const PASSWORD_INPUT = /<input[^>]*\bname\s*=\s*["']?password\b/i;

function isPasswordForm(url: URL, res: HttpsResponse): boolean {
  if (res.status !== 200) return false;
  if (DEX_PASSWORD_PATH.test(url.pathname)) return true;
  return url.pathname.includes('/dex/') && PASSWORD_INPUT.test(res.text);
}

/** The session cookies of either front door, split parts in order; empty when none was set. */
export function sessionCookies(cookies: readonly Cookie[]): Cookie[] {
  const authservice = cookies.filter((c) => c.name === AUTHSERVICE_COOKIE && c.value !== '');
  const proxy = cookies
    .map((c) => ({ c, m: OAUTH2_PROXY_COOKIE_RE.exec(c.name) }))
    .filter((x) => x.m !== null && x.c.value !== '')
    .sort((a, b) => Number(a.m?.[1] ?? -1) - Number(b.m?.[1] ?? -1))
    .map((x) => x.c);
  return [...authservice, ...proxy];
}

function fail(message: string): CanaryFailedError {
  return new CanaryFailedError('auth', `Dex login: ${message}`);
}

/**
 * Logs in to Kubeflow through Dex and returns the session as a `Cookie`
 * header value (`authservice_session=…` or `oauth2_proxy_kubeflow=…`, split
 * parts joined in order). The password and the cookie values are registered
 * as secrets; neither appears in any error message.
 *
 * Throws {@link CanaryFailedError}: `auth` when Dex refuses the credentials,
 * the chain does not reach a password form, loops, or ends without a session
 * cookie; `dns`/`tls`/`timeout`/`http` from the transport.
 *
 * @example
 *   const cookie = await dexLogin({ dashboardUrl: 'https://kubeflow.platform.example.com/', username, password, client });
 *   await client({ url: inferUrl, method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body });
 */
export async function dexLogin(options: DexLoginOptions): Promise<string> {
  registerSecret(options.password);
  const jar = new CookieJar(options.now ? { now: options.now } : {});
  let url = new URL(options.dashboardUrl);
  let method = 'GET';
  let body: string | undefined;
  let hops = 0;
  let posted = false;
  let triedOauth2Start = false;

  const next = (target: URL, how: string): void => {
    hops += 1;
    if (hops > MAX_LOGIN_REDIRECTS) throw fail(`more than ${MAX_LOGIN_REDIRECTS} redirects (last ${how} to ${target.pathname})`);
    if (target.protocol !== 'https:') throw fail(`redirected to a non-HTTPS URL (${target.protocol}//${target.host}${target.pathname})`);
    url = target;
  };

  for (;;) {
    const headers: Record<string, string> = { 'user-agent': 'kserve-edge-canary', accept: 'text/html,application/xhtml+xml,*/*' };
    const cookie = jar.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await options.client({ url, method, headers, ...(body !== undefined ? { body } : {}) });
    for (const c of jar.setFromResponse(url, res.headers['set-cookie'])) {
      if (sessionCookies([c]).length > 0) registerSecret(c.value);
    }

    if (REDIRECT_STATUSES.has(res.status)) {
      const location = res.headers.location;
      if (!location) throw fail(`${url.pathname} answered ${res.status} without a Location`);
      let target: URL;
      try {
        target = new URL(location, url);
      } catch {
        throw fail(`${url.pathname} answered ${res.status} with an invalid Location`);
      }
      // 307/308 keep method and body (a browser re-posts the form); 301/302/303 become GET.
      if (res.status !== 307 && res.status !== 308) {
        method = 'GET';
        body = undefined;
      }
      next(target, String(res.status));
      continue;
    }

    const session = sessionCookies(jar.all());
    if (posted) {
      if (session.length > 0) return session.map((c) => `${c.name}=${c.value}`).join('; ');
      if (res.status === 401 || res.status === 403 || isPasswordForm(url, res)) {
        throw fail(`Dex rejected the credentials of the canary user (HTTP ${res.status} at ${url.pathname})`);
      }
      throw fail(
        `the login ended at ${url.pathname} with HTTP ${res.status} and no ${AUTHSERVICE_COOKIE} or ${OAUTH2_PROXY_COOKIE} cookie`,
      );
    }

    if (isPasswordForm(url, res)) {
      // Dex posts the form to the page's own URL (`PostURL`), as the guide's helper does.
      posted = true;
      method = 'POST';
      body = new URLSearchParams({ login: options.username, password: options.password }).toString();
      continue;
    }

    if (session.length > 0) return session.map((c) => `${c.name}=${c.value}`).join('; ');

    // oauth2-proxy shows its sign-in page (or 401/403) on `/`; start the flow explicitly.
    if (!triedOauth2Start && !url.pathname.includes('/dex/') && (res.status === 200 || res.status === 401 || res.status === 403)) {
      triedOauth2Start = true;
      method = 'GET';
      body = undefined;
      next(new URL('/oauth2/start?rd=/', url), 'sign-in');
      continue;
    }

    throw fail(`the chain stopped at ${url.pathname} with HTTP ${res.status} before Dex's password form`);
  }
}
