/**
 * {@link HttpGetPort} over the canary's HTTPS client: the same resolver and
 * extra trusted CA (testbeds), TLS verification always on. ValidateRequest
 * reads an issuer's discovery document and JWKS through it.
 */
import type { HttpGetPort, HttpGetResult } from '../ports';
import { httpsRequest } from './http';
import type { Resolver } from './resolver';

export class HttpsGetAdapter implements HttpGetPort {
  constructor(private readonly options: { resolver: Resolver; extraCa?: string; timeoutMs?: number }) {}

  async get(url: string, options: { maxBytes: number }): Promise<HttpGetResult> {
    const res = await httpsRequest({
      url,
      method: 'GET',
      headers: { accept: 'application/json', 'user-agent': 'kserve-edge' },
      resolver: this.options.resolver,
      timeoutMs: this.options.timeoutMs ?? 10_000,
      // One byte more than allowed: a longer body shows as such instead of being cut silently.
      maxBodyBytes: options.maxBytes + 1,
      ...(this.options.extraCa ? { extraCa: this.options.extraCa } : {}),
    });
    return { status: res.status, body: res.body };
  }
}
