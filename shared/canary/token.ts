/**
 * The canary's access token: OAuth2 client credentials (RFC 6749 §4.4).
 *
 * - The client authenticates with HTTP Basic (§2.3.1): client id and secret,
 *   each `application/x-www-form-urlencoded` first, joined by `:`, base64.
 * - The token is registered with the log redaction the moment it arrives, and
 *   no message of this module contains it, the client secret or the answer body.
 * - Tokens are cached per token endpoint, client and scope until
 *   {@link TOKEN_REFRESH_MARGIN_MS} before they expire (`expires_in`, else the
 *   JWT's `exp`), so a warm Lambda asks once per token lifetime, not per run.
 */
import { CanaryFailedError } from '../errors';
import { registerSecret } from '../log';
import { httpsRequest, HttpsRequestError } from './http';
import type { Resolver } from './resolver';

/** A token is renewed this long before it expires (clock skew, a slow probe). */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;
/** Lifetime assumed when neither `expires_in` nor `exp` says (short: a guess must not outlive the token). */
export const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;

export interface CachedToken {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** What {@link clientCredentialsToken} asks for. */
export interface TokenRequest {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

export interface TokenDeps {
  resolver: Resolver;
  extraCa?: string;
  timeoutMs: number;
  now: () => number;
  /** Tokens by endpoint, client and scope; a module-level Map keeps them across invocations. */
  cache?: Map<string, CachedToken>;
}

/** RFC 6749 Appendix B: form-urlencoding, which §2.3.1 applies to the id and secret before Basic. */
export function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** `Basic base64(formEncode(id):formEncode(secret))` (RFC 6749 §2.3.1). */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, 'utf8').toString('base64')}`;
}

/** The cache key: token endpoint, client and scope (never the secret). */
export function tokenCacheKey(request: Pick<TokenRequest, 'tokenEndpoint' | 'clientId' | 'scope'>): string {
  return `${request.tokenEndpoint}|${request.clientId}|${request.scope ?? ''}`;
}

/** The `exp` of a JWT, in epoch ms, without verifying it (only to know when to renew). */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function authError(message: string): CanaryFailedError {
  return new CanaryFailedError('auth', message);
}

/**
 * A token for the client: from the cache while it has more than
 * {@link TOKEN_REFRESH_MARGIN_MS} left, else from the token endpoint.
 *
 * @throws CanaryFailedError kind `auth` when the issuer refuses the client or answers no token;
 *   a transport failure keeps its own kind (dns, tls, timeout).
 */
export async function clientCredentialsToken(request: TokenRequest, deps: TokenDeps): Promise<CachedToken> {
  const key = tokenCacheKey(request);
  const cached = deps.cache?.get(key);
  if (cached && cached.expiresAt - TOKEN_REFRESH_MARGIN_MS > deps.now()) {
    registerSecret(cached.accessToken);
    return cached;
  }
  deps.cache?.delete(key);
  registerSecret(request.clientSecret);
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (request.scope !== undefined) form.set('scope', request.scope);
  let res;
  try {
    res = await httpsRequest({
      resolver: deps.resolver,
      timeoutMs: deps.timeoutMs,
      ...(deps.extraCa ? { extraCa: deps.extraCa } : {}),
      url: request.tokenEndpoint,
      method: 'POST',
      headers: {
        authorization: basicAuthorization(request.clientId, request.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: form.toString(),
    });
  } catch (err) {
    if (err instanceof HttpsRequestError) throw new CanaryFailedError(err.kind, `token endpoint ${request.tokenEndpoint}: ${err.message}`);
    throw err;
  }
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    // handled below: no access_token
  }
  const token = body.access_token;
  if (typeof token === 'string' && token !== '') registerSecret(token);
  if (res.status !== 200) {
    // The error code (RFC 6749 §5.2) says why without echoing anything secret.
    const code = typeof body.error === 'string' ? body.error.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 64) : 'no error code';
    throw authError(`token endpoint ${request.tokenEndpoint} refused the client credentials: HTTP ${res.status} (${code})`);
  }
  if (typeof token !== 'string' || token === '') throw authError(`token endpoint ${request.tokenEndpoint} answered no access_token`);
  if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
    throw authError(`token endpoint ${request.tokenEndpoint} answered token_type ${body.token_type.slice(0, 20)}, not Bearer`);
  }
  const now = deps.now();
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : undefined;
  const expiresAt = expiresIn !== undefined ? now + expiresIn : (jwtExpiry(token) ?? now + DEFAULT_TOKEN_LIFETIME_MS);
  const out = { accessToken: token, expiresAt };
  deps.cache?.set(key, out);
  return out;
}
