/**
 * A client for tests that talks to the testbed's "internet" the way a user
 * would, without the product code: the name is resolved through Route 53
 * (moto) to the ALB host name, the ALB host name through the host map to
 * `127.0.0.1:<port>`, and TLS is verified against the testbed CA with SNI.
 */
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { Testbed } from './testbed';

export interface Resolved {
  address: string;
  port: number;
  /** host → CNAME → … → ALB host */
  chain: string[];
}

function parent(name: string): string {
  const i = name.indexOf('.');
  return i < 0 ? '' : name.slice(i + 1);
}

/** Follows CNAMEs in the testbed's hosted zone (exact name, then `*.<parent>`) to an ALB in the host map. */
export async function resolveHost(tb: Testbed, host: string): Promise<Resolved> {
  const hostMap = JSON.parse(readFileSync(tb.lb.hostMapFile, 'utf8')) as Record<string, string>;
  const chain = [host];
  let current = host;
  for (let hop = 0; hop < 6; hop++) {
    const mapped = hostMap[current];
    if (mapped) {
      const [address, port] = mapped.split(':');
      return { address: address!, port: Number(port), chain };
    }
    let next: string | undefined;
    for (const candidate of [current, `*.${parent(current)}`]) {
      const out = await tb.aws.route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: tb.hostedZoneId,
          StartRecordName: candidate,
          StartRecordType: 'CNAME',
          MaxItems: 20,
        }),
      );
      const rr = out.ResourceRecordSets?.find((r) => r.Type === 'CNAME' && r.Name?.replace(/\.$/, '').replace(/^\\052/, '*') === candidate);
      next = rr?.ResourceRecords?.[0]?.Value?.replace(/\.$/, '');
      if (next) break;
    }
    if (!next) throw new Error(`no CNAME for ${current} (or *.${parent(current)}) in zone ${tb.hostedZoneId}; chain ${chain.join(' -> ')}`);
    chain.push(next);
    current = next;
  }
  throw new Error(`too many CNAME hops: ${chain.join(' -> ')}`);
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Names on the certificate the server presented. */
  peerCertificateNames: string[];
}

/**
 * One HTTPS request to `url` through the testbed's DNS, TLS verified against
 * the testbed CA only (as the canary does, plus system roots there). No redirects.
 */
export async function httpsRequest(
  tb: Testbed,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; ca?: string | string[]; timeoutMs?: number } = {},
): Promise<HttpsResponse> {
  const u = new URL(url);
  const target = await resolveHost(tb, u.hostname);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: target.address,
        port: target.port,
        servername: u.hostname,
        path: `${u.pathname}${u.search}`,
        method: options.method ?? 'GET',
        headers: {
          host: u.host,
          ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}),
          ...options.headers,
        },
        ca: options.ca ?? tb.caPem,
        rejectUnauthorized: true,
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.();
        const names = (cert?.subjectaltname ?? '')
          .split(', ')
          .filter(Boolean)
          .map((s) => s.replace(/^DNS:/, ''));
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            peerCertificateNames: names,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Just enough of a cookie jar for the login chain: name → value, across the chain's hosts. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  store(setCookie: string | string[] | undefined): void {
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq < 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=(0|-)/i.test(a)) || attrs.some((a) => /^\s*expires=.*1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(filter: (name: string) => boolean = () => true): string {
    return [...this.cookies.entries()]
      .filter(([n]) => filter(n))
      .map(([n, v]) => `${n}=${v}`)
      .join('; ');
  }
}

export interface LoginResult {
  jar: CookieJar;
  /** Every hop: status and URL. */
  hops: Array<{ method: string; url: string; status: number }>;
}

/**
 * The Dex login as the guide's `session_cookie()` does it: GET the dashboard
 * following redirects to the login form, POST `login`/`password` to that
 * form's URL, follow redirects back. Bounded to 15 hops per leg.
 */
export async function dexLogin(tb: Testbed, dashboardUrl: string, username: string, password: string): Promise<LoginResult> {
  const jar = new CookieJar();
  const hops: LoginResult['hops'] = [];
  const follow = async (startUrl: string, first?: { method: string; body: string }): Promise<string> => {
    let url = startUrl;
    let method = first?.method ?? 'GET';
    let body = first?.body;
    for (let i = 0; i < 15; i++) {
      const headers: Record<string, string> = {};
      const cookie = jar.header();
      if (cookie) headers.cookie = cookie;
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await httpsRequest(tb, url, { method, headers, ...(body !== undefined ? { body } : {}) });
      hops.push({ method, url, status: res.status });
      jar.store(res.headers['set-cookie']);
      const location = res.headers.location;
      if (res.status >= 300 && res.status < 400 && typeof location === 'string') {
        url = new URL(location, url).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      if (res.status !== 200) throw new Error(`login chain stopped at ${method} ${url}: ${res.status} ${res.body.slice(0, 300)}`);
      return url;
    }
    throw new Error(`more than 15 redirects from ${startUrl}`);
  };
  const formUrl = await follow(dashboardUrl);
  await follow(formUrl, { method: 'POST', body: new URLSearchParams({ login: username, password }).toString() });
  return { jar, hops };
}
