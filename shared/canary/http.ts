/**
 * A minimal HTTPS client for the canary, over `node:https`.
 *
 * What it does differently from `fetch`:
 * - the address comes from a {@link Resolver} (Route 53 + host map in the
 *   testbed), while SNI, the Host header and certificate verification use the
 *   URL's host name, exactly as a client of the real ALB would;
 * - extra trusted CAs are added to Node's default roots (TLS verification is
 *   never turned off);
 * - redirects are returned, not followed (the Dex login follows them itself);
 * - every failure is a {@link HttpsRequestError} (a `CanaryFailed` error) whose
 *   `kind` names the layer and whose `phase` says how far the request got;
 * - one deadline covers resolution, connect, handshake and the whole body.
 *
 * ```
 *  t0 ── resolve ── tcp connect ── TLS handshake ── first byte ── end
 *        dnsMs      connectMs      tlsMs            ttfbMs        totalMs   (all from t0)
 *        phase:dns  phase:connect  phase:tls        phase:response
 * ```
 */
import https from 'node:https';
import tls from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { AccessDeniedError, CanaryFailedError, type AutomationErrorOptions, type CanaryFailureKind } from '../errors';
import type { Resolver } from './resolver';

/** How far a request got before it failed. */
export type RequestPhase = 'dns' | 'connect' | 'tls' | 'response';

/** A `CanaryFailed` error from the HTTPS client, with the phase it failed in. */
export class HttpsRequestError extends CanaryFailedError {
  readonly phase: RequestPhase;
  constructor(kind: CanaryFailureKind, phase: RequestPhase, message: string, options: AutomationErrorOptions = {}) {
    super(kind, message, options);
    this.phase = phase;
  }
}

export interface HttpsRequestOptions {
  url: string | URL;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  resolver: Resolver;
  /** PEM of extra trusted CAs, added to Node's default roots. */
  extraCa?: string;
  /** Deadline for the whole exchange, from resolution to the last body byte. */
  timeoutMs: number;
  /** SNI and the name the certificate is checked against; default the URL's host name. */
  servername?: string;
  /** Bodies longer than this are cut (the canary only reads small JSON answers). Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface TlsInfo {
  validTo: Date;
  /** The certificate's subjectAltName, as Node prints it (`DNS:a, DNS:b`). */
  subjectAltNames: string;
  authorized: boolean;
}

export interface Timings {
  dnsMs: number;
  connectMs: number;
  tlsMs: number;
  ttfbMs: number;
  totalMs: number;
}

export interface HttpsResponse {
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `body` decoded as UTF-8. */
  text: string;
  tls: TlsInfo;
  timings: Timings;
}

const DEFAULT_MAX_BODY = 1024 * 1024;

/**
 * TLS contexts trusting the default roots plus one extra CA, built once per CA:
 * a context made from ~150 PEM roots costs milliseconds and ~0.7 MB of heap,
 * which per request doubled a probe's time (`npm run bench`, canary section).
 */
const secureContexts = new Map<string, tls.SecureContext>();

function secureContextWith(extraCa: string): tls.SecureContext {
  let ctx = secureContexts.get(extraCa);
  if (ctx === undefined) {
    ctx = tls.createSecureContext({ ca: [...tls.rootCertificates, extraCa] });
    secureContexts.set(extraCa, ctx);
  }
  return ctx;
}

/** OpenSSL/Node codes that mean the peer's certificate was not acceptable. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'ENODATA']);

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function isTlsCode(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('CERT_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_');
}

/** Sanitised description of a socket error: its code and message, no request data. */
function describe(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * Classifies a low-level error by the phase it happened in.
 *
 * | phase    | error                                  | kind    |
 * |----------|----------------------------------------|---------|
 * | dns      | anything                               | dns     |
 * | connect  | ENOTFOUND/EAI_*                         | dns     |
 * | connect  | refused/unreachable/reset              | http    |
 * | tls      | certificate/handshake/reset            | tls     |
 * | response | TLS code (renegotiation)               | tls     |
 * | response | anything else                          | http    |
 */
export function classifySocketError(err: unknown, phase: RequestPhase): CanaryFailureKind {
  const code = errorCode(err);
  if (phase === 'dns' || DNS_CODES.has(code)) return 'dns';
  if (isTlsCode(code)) return 'tls';
  if (phase === 'tls') return 'tls';
  return 'http';
}

/**
 * One HTTPS request. Redirects are returned as they are.
 *
 * @example
 *   const res = await httpsRequest({
 *     url: 'https://sklearn-irisv2.staging.platform.example.com/v2/models/sklearn-irisv2/infer',
 *     method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input),
 *     resolver, timeoutMs: 10_000,
 *   });
 */
export async function httpsRequest(options: HttpsRequestOptions): Promise<HttpsResponse> {
  const url = typeof options.url === 'string' ? new URL(options.url) : options.url;
  if (url.protocol !== 'https:') throw new HttpsRequestError('http', 'connect', `only https URLs are supported, got ${url.protocol}`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const servername = options.servername ?? hostname;
  const t0 = performance.now();
  const since = (): number => Math.round((performance.now() - t0) * 10) / 10;
  const deadline = t0 + options.timeoutMs;

  // ---- resolution, under the same deadline
  let resolved: Awaited<ReturnType<Resolver['resolve']>>;
  let timer: NodeJS.Timeout | undefined;
  try {
    resolved = await Promise.race([
      // An IP literal needs no resolution (an issuer may be named by address, as on the testbed).
      isIP(hostname) !== 0 ? Promise.resolve({ address: hostname, port: 443, chain: [hostname] }) : options.resolver.resolve(hostname),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new HttpsRequestError('timeout', 'dns', `resolving ${hostname} took longer than ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    if (err instanceof HttpsRequestError) throw err;
    // The function's role may not read what resolving needs (Route 53 resolver): that is no DNS
    // answer still to come, and waiting for one would only hide the denial until the deadline.
    if (err instanceof AccessDeniedError) throw err;
    if (err instanceof CanaryFailedError)
      throw new HttpsRequestError(err.kind, 'dns', err.message.replace(/^[a-z]+: /, ''), { cause: err });
    throw new HttpsRequestError('dns', 'dns', `resolving ${hostname} failed: ${describe(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
  const dnsMs = since();

  const lookup: LookupFunction = (_host, opts, callback) => {
    const family = isIP(resolved.address);
    // A host map may name a host ("localhost:8443"): let the system resolve that one.
    if (family === 0) return dnsLookup(resolved.address, opts, callback);
    if ((opts as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address: resolved.address, family },
      ]);
    } else {
      callback(null, resolved.address, family);
    }
  };

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.headers ?? {})) {
    if (k.toLowerCase() !== 'host') headers[k] = v;
  }
  // Host = the URL's authority, whatever port we actually connect to.
  headers.host = url.host;
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
  if (body !== undefined) headers['content-length'] = String(body.length);
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;

  return new Promise<HttpsResponse>((resolve, reject) => {
    let phase: RequestPhase = 'connect';
    let connectMs = 0;
    let tlsMs = 0;
    let ttfbMs = 0;
    let tlsInfo: TlsInfo | undefined;
    let settled = false;

    const fail = (err: HttpsRequestError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadlineTimer);
      req.destroy();
      reject(err);
    };

    const req = https.request({
      protocol: 'https:',
      host: hostname,
      // A port in the URL wins (an issuer on :8443); else where the resolver says (a host map may name one).
      port: url.port !== '' ? Number(url.port) : resolved.port,
      path: `${url.pathname}${url.search}`,
      method: options.method ?? 'GET',
      headers,
      // No SNI for an IP literal (RFC 6066 §3 allows host names only); the certificate is still checked against it.
      ...(isIP(servername) === 0 ? { servername } : {}),
      lookup,
      agent: false,
      // Verification stays on; extra CAs are added to, never replace, the default roots.
      rejectUnauthorized: true,
      ...(options.extraCa ? { secureContext: secureContextWith(options.extraCa) } : {}),
    });

    const deadlineTimer = setTimeout(
      () => {
        const where = phase === 'connect' ? 'connecting to' : phase === 'tls' ? 'TLS handshake with' : 'waiting for the answer of';
        fail(new HttpsRequestError('timeout', phase, `${where} ${url.host} took longer than ${options.timeoutMs} ms`));
      },
      Math.max(0, deadline - performance.now()),
    );

    req.on('socket', (socket) => {
      socket.once('connect', () => {
        connectMs = since();
        phase = 'tls';
      });
      socket.once('secureConnect', () => {
        tlsMs = since();
        phase = 'response';
        const tlsSocket = socket as tls.TLSSocket;
        const cert = tlsSocket.getPeerCertificate();
        tlsInfo = {
          validTo: new Date(cert.valid_to),
          subjectAltNames: cert.subjectaltname ?? '',
          authorized: tlsSocket.authorized,
        };
      });
    });

    req.on('error', (err) => {
      const kind = classifySocketError(err, phase);
      const what = kind === 'tls' ? 'TLS with' : phase === 'connect' ? 'connecting to' : 'request to';
      fail(
        new HttpsRequestError(kind, phase === 'connect' && kind === 'tls' ? 'tls' : phase, `${what} ${url.host} failed: ${describe(err)}`, {
          cause: err,
        }),
      );
    });

    req.on('response', (res) => {
      ttfbMs = since();
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size >= maxBody) return;
        const room = maxBody - size;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        chunks.push(part);
        size += part.length;
      });
      res.on('error', (err) =>
        fail(new HttpsRequestError('http', 'response', `reading the answer of ${url.host} failed: ${describe(err)}`, { cause: err })),
      );
      res.on('aborted', () => fail(new HttpsRequestError('http', 'response', `${url.host} closed the connection mid-answer`)));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(deadlineTimer);
        const buf = Buffer.concat(chunks);
        resolve({
          url: url.toString(),
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: buf,
          text: buf.toString('utf8'),
          tls: tlsInfo ?? { validTo: new Date(Number.NaN), subjectAltNames: '', authorized: false },
          timings: { dnsMs, connectMs, tlsMs, ttfbMs, totalMs: since() },
        });
      });
    });

    req.end(body);
  });
}

// ------------------------------------------------------------------ client

export interface ClientRequest {
  url: string | URL;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** What the Dex login needs from HTTP: one request at a time, no redirects followed. */
export type HttpClient = (request: ClientRequest) => Promise<HttpsResponse>;

/**
 * Binds resolver, CAs and timeout into a {@link HttpClient}.
 *
 * @example
 *   const client = createHttpsClient({ resolver, extraCa, timeoutMs: 10_000 });
 *   const res = await client({ url: 'https://kubeflow.platform.example.com/' });
 */
export function createHttpsClient(options: { resolver: Resolver; extraCa?: string; timeoutMs: number }): HttpClient {
  return (request) =>
    httpsRequest({
      ...request,
      resolver: options.resolver,
      timeoutMs: options.timeoutMs,
      ...(options.extraCa ? { extraCa: options.extraCa } : {}),
    });
}
