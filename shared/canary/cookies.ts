/**
 * A tiny cookie jar for the scripted Dex login: enough of RFC 6265 for a few
 * hosts on one domain (host-only and Domain cookies, path matching, Max-Age
 * and Expires, Secure). No public-suffix list: the login talks to the
 * Kubeflow dashboard host only.
 */

export interface Cookie {
  name: string;
  value: string;
  /** Lowercase domain without a leading dot. */
  domain: string;
  /** True when no Domain attribute was given: only the exact host gets it back. */
  hostOnly: boolean;
  path: string;
  /** Epoch milliseconds; undefined for a session cookie. */
  expiresAt?: number;
  secure: boolean;
  httpOnly: boolean;
}

/** Parses one `Set-Cookie` header value as received from `url`; undefined if it is unusable. */
export function parseSetCookie(header: string, url: URL, now: number): Cookie | undefined {
  const [pair = '', ...attrs] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const name = pair.slice(0, eq).trim();
  const value = pair
    .slice(eq + 1)
    .trim()
    .replace(/^"(.*)"$/, '$1');
  if (name === '') return undefined;
  const host = url.hostname.toLowerCase();
  const cookie: Cookie = { name, value, domain: host, hostOnly: true, path: defaultPath(url.pathname), secure: false, httpOnly: false };
  let maxAge: number | undefined;
  let expires: number | undefined;
  for (const attr of attrs) {
    const i = attr.indexOf('=');
    const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
    const val = i < 0 ? '' : attr.slice(i + 1).trim();
    switch (key) {
      case 'domain': {
        const domain = val.replace(/^\./, '').toLowerCase();
        if (domain === '') break;
        // A server may only set cookies for itself or a parent domain.
        if (!domainMatch(host, domain)) return undefined;
        cookie.domain = domain;
        cookie.hostOnly = false;
        break;
      }
      case 'path':
        if (val.startsWith('/')) cookie.path = val;
        break;
      case 'max-age':
        if (/^-?\d+$/.test(val)) maxAge = Number(val);
        break;
      case 'expires': {
        const t = Date.parse(val);
        if (!Number.isNaN(t)) expires = t;
        break;
      }
      case 'secure':
        cookie.secure = true;
        break;
      case 'httponly':
        cookie.httpOnly = true;
        break;
      default:
        break;
    }
  }
  // Max-Age wins over Expires (RFC 6265 §5.3 step 3).
  if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : now + maxAge * 1000;
  else if (expires !== undefined) cookie.expiresAt = expires;
  return cookie;
}

function defaultPath(pathname: string): string {
  if (!pathname.startsWith('/')) return '/';
  const last = pathname.lastIndexOf('/');
  return last <= 0 ? '/' : pathname.slice(0, last);
}

function domainMatch(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

function pathMatch(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/**
 * @example
 *   const jar = new CookieJar();
 *   jar.setFromResponse(url, res.headers['set-cookie']);
 *   const header = jar.cookieHeader(nextUrl); // "a=1; b=2" or ""
 */
export class CookieJar {
  private cookies: Cookie[] = [];
  private readonly clock: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.clock = options.now ?? Date.now;
  }

  /** Stores every cookie of a response; an expired one deletes its namesake. */
  setFromResponse(url: string | URL, setCookie: string | string[] | undefined): Cookie[] {
    if (setCookie === undefined) return [];
    const u = typeof url === 'string' ? new URL(url) : url;
    const now = this.clock();
    const stored: Cookie[] = [];
    for (const header of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const cookie = parseSetCookie(header, u, now);
      if (!cookie) continue;
      this.cookies = this.cookies.filter((c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path));
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= now) continue;
      this.cookies.push(cookie);
      stored.push(cookie);
    }
    return stored;
  }

  /** Cookies to send to `url`, longest path first (RFC 6265 §5.4). */
  cookiesFor(url: string | URL): Cookie[] {
    const u = typeof url === 'string' ? new URL(url) : url;
    const host = u.hostname.toLowerCase();
    const now = this.clock();
    return this.cookies
      .filter((c) => c.expiresAt === undefined || c.expiresAt > now)
      .filter((c) => (c.hostOnly ? c.domain === host : domainMatch(host, c.domain)))
      .filter((c) => pathMatch(u.pathname || '/', c.path))
      .filter((c) => !c.secure || u.protocol === 'https:')
      .sort((a, b) => b.path.length - a.path.length);
  }

  /** The `Cookie` header for `url`; empty when there is nothing to send. */
  cookieHeader(url: string | URL): string {
    return this.cookiesFor(url)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }

  /** Every live cookie (any host). */
  all(): Cookie[] {
    const now = this.clock();
    return this.cookies.filter((c) => c.expiresAt === undefined || c.expiresAt > now);
  }
}
