/**
 * Loopback helpers: free ports on 127.0.0.1 and bounded readiness polls.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ManagedProcess } from './proc';
import { tail } from './proc';

export const LOOPBACK = '127.0.0.1';

const handedOut = new Set<number>();

/** A port on 127.0.0.1 that was free a moment ago and that this process has not handed out before. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen(0, LOOPBACK, () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port on 127.0.0.1 after 50 attempts');
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** PEM CA(s) to trust for https URLs (verification stays on). */
  ca?: string | string[];
  /** SNI / certificate name to check, when connecting to an IP. */
  servername?: string;
  timeoutMs?: number;
}

/** One HTTP(S) request to a loopback URL; no redirects are followed. */
export function httpRequest(url: string, options: HttpOptions = {}): Promise<HttpResult> {
  const u = new URL(url);
  const isHttps = u.protocol === 'https:';
  const mod = isHttps ? https : http;
  return new Promise<HttpResult>((resolve, reject) => {
    const req = mod.request(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: options.method ?? 'GET',
        headers: options.headers,
        timeout: options.timeoutMs ?? 5000,
        agent: false,
        ...(isHttps ? { ca: options.ca, servername: options.servername, rejectUnauthorized: true } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${options.timeoutMs ?? 5000} ms: ${url}`)));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface WaitOptions {
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Fail at once (with its log) if this process exits while waiting. */
  proc?: ManagedProcess;
}

/**
 * Polls `check` until it returns a value other than undefined/false.
 * Errors thrown by `check` count as "not yet".
 */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  for (;;) {
    if (options.proc?.exit) {
      throw new Error(
        `${options.proc.name} exited (${JSON.stringify(options.proc.exit)}) while waiting for ${options.what}; last lines of ${options.proc.logFile}:\n${tail(options.proc.logFile)}`,
      );
    }
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      const log = options.proc ? `\nlast lines of ${options.proc.logFile}:\n${tail(options.proc.logFile)}` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${why}${log}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}
