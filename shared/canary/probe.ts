/**
 * The inference canary: one HTTPS POST per namespace, judged layer by layer.
 *
 * ```
 *  layer       passes when                              fails as
 *  dns         the model host resolves                  dns
 *  tls         the served certificate verifies for it   tls
 *  auth        the ALB / login accepts the credentials  auth   (ALB 404 fixed response, 302 → /dex/ or /oauth2/, 401, 403)
 *  http        the answer is 200                        http   (403 "RBAC: access denied", 5xx, other statuses)
 *  protocol    the body is a V2 inference response      protocol
 *  prediction  the named output equals the expected     prediction
 *  (any)       the deadline passes first                timeout
 * ```
 *
 * A probe never throws for an endpoint failure: it returns a {@link ProbeResult}
 * with exactly one `failureKind`. {@link runCanary} probes every canary
 * namespace in parallel; {@link assertCanaryOk} turns a failed run into a
 * `CanaryFailed` error for the state machine.
 */
import { performance } from 'node:perf_hooks';
import { AccessDeniedError, CanaryFailedError, type CanaryFailureKind } from '../errors';
import { redactString, registerSecret, type Logger } from '../log';
import { parseDexLogin, parseHeaderValuesSecret } from '../plan/secrets';
import type { SecretsPort } from '../ports';
import { canaryNamespaces, dashboardHost, modelHost, type JwtAuth, type ProvisionRequest } from '../request';
import { dexLogin } from './dexLogin';
import { clientCredentialsToken, tokenCacheKey, type CachedToken } from './token';
import { discoveryUrl, parseClientCredentialsSecret, parseDiscoveryDocument } from '../plan/jwt';
import { createHttpsClient, httpsRequest, HttpsRequestError, type HttpsResponse, type RequestPhase } from './http';
import type { Resolver } from './resolver';
import { checkV2Response, comparePrediction, flattenData } from './v2';

export type LayerName = 'dns' | 'tls' | 'auth' | 'http' | 'protocol' | 'prediction';
export type LayerState = 'pass' | 'fail' | 'skipped';
export const LAYERS: readonly LayerName[] = ['dns', 'tls', 'auth', 'http', 'protocol', 'prediction'];

export type ProbeCredentials =
  | { kind: 'header'; name: string; value: string }
  | { kind: 'cookie'; cookie: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'none' };

/**
 * JWT mode's checks of one endpoint besides the valid token (issue 12):
 * `no-token` must get 401, `refused-claim` (a token failing a required claim)
 * must be refused, `header` (migration only) must still get 200.
 */
export interface AuthCheck {
  name: 'no-token' | 'refused-claim' | 'header';
  state: LayerState;
  status?: number;
  /** Why it failed or was skipped; never a credential. */
  reason?: string;
}

export interface ProbeResult {
  namespace: string;
  host: string;
  url: string;
  ok: boolean;
  /** Set exactly when `ok` is false. */
  failureKind?: CanaryFailureKind;
  /** Why it failed; never contains the header value or the cookie. */
  message?: string;
  status?: number;
  latencyMs: number;
  certificateDaysToExpiry?: number;
  /** The checked output's data, flattened (the expected output, else the first one). */
  prediction?: unknown[];
  layers: Record<LayerName, LayerState>;
  /** JWT mode: the checks beyond the valid token. */
  checks?: AuthCheck[];
}

export interface ProbeOptions {
  request: ProvisionRequest;
  namespace: string;
  credentials: ProbeCredentials;
  resolver: Resolver;
  /** PEM of extra trusted CAs (testbed, private CAs), added to the default roots. */
  extraCa?: string;
  now: () => Date;
}

const DAY_MS = 24 * 3600 * 1000;

function allSkipped(): Record<LayerName, LayerState> {
  return { dns: 'skipped', tls: 'skipped', auth: 'skipped', http: 'skipped', protocol: 'skipped', prediction: 'skipped' };
}

/** Secret strings a message must never contain: the header value, the cookie and each cookie value. */
function secretParts(credentials: ProbeCredentials): string[] {
  if (credentials.kind === 'header') return [credentials.value];
  if (credentials.kind === 'bearer') return [credentials.token];
  if (credentials.kind === 'none') return [];
  const values = credentials.cookie
    .split(';')
    .map((p) => p.slice(p.indexOf('=') + 1).trim())
    .filter((v) => v.length > 0);
  return [credentials.cookie, ...values];
}

function scrubber(secrets: readonly string[]): (text: string) => string {
  const sorted = [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const s of sorted) out = out.split(s).join('[REDACTED]');
    return redactString(out);
  };
}

/** `CanaryFailed` messages start with `<kind>: `; the result carries the kind separately. */
function stripKind(message: string): string {
  return message.replace(/^(dns|tls|auth|http|protocol|prediction|timeout): /, '');
}

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}

function headerValue(res: HttpsResponse, name: string): string {
  const v = res.headers[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
}

function looksLikeJson(res: HttpsResponse): boolean {
  if (/json/i.test(headerValue(res, 'content-type'))) return true;
  const t = res.text.trimStart();
  return t.startsWith('{') || t.startsWith('[');
}

/** Layer a transport failure belongs to, from the phase it happened in. */
function transportLayer(kind: CanaryFailureKind, phase: RequestPhase): LayerName {
  if (kind === 'dns' || phase === 'dns') return 'dns';
  if (kind === 'tls' || phase === 'tls') return 'tls';
  return 'http';
}

/** Classification of a non-200 answer. */
function classifyStatus(res: HttpsResponse, request: ProvisionRequest): { kind: 'auth' | 'http'; message: string } {
  const status = res.status;
  const location = headerValue(res, 'location');
  if (status >= 300 && status < 400) {
    let path = location;
    try {
      path = new URL(location, 'https://x.invalid').pathname;
    } catch {
      // keep the raw value; it is only shown
    }
    if (/\/dex\/|\/oauth2\//.test(location)) {
      return { kind: 'auth', message: `HTTP ${status}: redirected to the login (${path}); the session cookie was not accepted` };
    }
    return { kind: 'http', message: `HTTP ${status}: unexpected redirect to ${path}` };
  }
  if (status === 401) return { kind: 'auth', message: `HTTP 401: credentials not accepted${res.text ? ` (${snippet(res.text)})` : ''}` };
  if (status === 403) {
    if (res.text.includes('RBAC: access denied')) {
      return {
        kind: 'http',
        message:
          'HTTP 403 "RBAC: access denied" from Istio: the request passed the load balancer but an AuthorizationPolicy refused it (the guide\'s allow-predictor-transformer workaround is missing?)',
      };
    }
    return { kind: 'auth', message: `HTTP 403: access refused${res.text ? ` (${snippet(res.text)})` : ''}` };
  }
  if (status === 404 && request.auth.provider === 'cognito' && !looksLikeJson(res) && !/envoy/i.test(headerValue(res, 'server'))) {
    return {
      kind: 'auth',
      message: `HTTP 404 fixed response from the load balancer: the ${request.auth.headerName} header value was not accepted (or no listener rule matches the host)`,
    };
  }
  return { kind: 'http', message: `HTTP ${status}${res.text ? `: ${snippet(res.text)}` : ''}` };
}

/**
 * Probes one namespace's model endpoint. Never throws for endpoint failures.
 *
 * @example
 *   const r = await probeEndpoint({ request, namespace: 'staging', credentials: { kind: 'header', name: 'x-api-key', value }, resolver, now: () => new Date() });
 *   if (!r.ok) console.log(r.failureKind, r.message);
 */
export async function probeEndpoint(options: ProbeOptions): Promise<ProbeResult> {
  const { request, namespace, credentials } = options;
  const model = request.canary.model;
  const host = modelHost(request, namespace);
  const url = `https://${host}/v2/models/${model}/infer`;
  const scrub = scrubber(secretParts(credentials));
  const layers = allSkipped();
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);

  const failed = (kind: CanaryFailureKind, message: string, extra: Partial<ProbeResult> = {}): ProbeResult => ({
    namespace,
    host,
    url,
    ok: false,
    failureKind: kind,
    message: scrub(stripKind(message)),
    latencyMs: elapsed(),
    ...extra,
    layers,
  });

  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    'user-agent': 'kserve-edge-canary',
  };
  if (credentials.kind === 'header') headers[credentials.name] = credentials.value;
  else if (credentials.kind === 'cookie') headers.cookie = credentials.cookie;
  else if (credentials.kind === 'bearer') headers.authorization = `Bearer ${credentials.token}`;

  let res: HttpsResponse;
  try {
    res = await httpsRequest({
      url,
      method: 'POST',
      headers,
      body: JSON.stringify(request.canary.input),
      resolver: options.resolver,
      timeoutMs: request.canary.timeoutSeconds * 1000,
      ...(options.extraCa ? { extraCa: options.extraCa } : {}),
    });
  } catch (err) {
    // A denied AWS call (the resolver's Route 53 reads) is the deployment's fault, not the endpoint's.
    if (err instanceof AccessDeniedError) throw err;
    if (err instanceof HttpsRequestError) {
      const layer = transportLayer(err.kind, err.phase);
      if (layer !== 'dns') layers.dns = 'pass';
      if (err.phase === 'response' && layer !== 'tls') layers.tls = 'pass';
      layers[layer] = 'fail';
      return failed(err.kind, err.message);
    }
    if (err instanceof CanaryFailedError) {
      layers[err.kind === 'timeout' ? 'http' : err.kind] = 'fail';
      return failed(err.kind, err.message);
    }
    layers.http = 'fail';
    return failed('http', `request failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  layers.dns = 'pass';
  layers.tls = 'pass';
  const latencyMs = Math.round(res.timings.totalMs);
  const validTo = res.tls.validTo.getTime();
  const common: Partial<ProbeResult> = { status: res.status, latencyMs };
  if (!Number.isNaN(validTo)) common.certificateDaysToExpiry = Math.floor((validTo - options.now().getTime()) / DAY_MS);

  if (res.status !== 200) {
    const { kind, message } = classifyStatus(res, request);
    if (kind === 'http') layers.auth = 'pass';
    layers[kind] = 'fail';
    return failed(kind, message, common);
  }
  layers.auth = 'pass';
  layers.http = 'pass';

  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    layers.protocol = 'fail';
    const type = headerValue(res, 'content-type') || 'no content-type';
    return failed('protocol', `the answer is not JSON (${type}): ${snippet(res.text)}`, common);
  }

  let outputs;
  try {
    outputs = checkV2Response(body, { model }).outputs;
  } catch (err) {
    layers.protocol = 'fail';
    return failed('protocol', err instanceof Error ? err.message : String(err), common);
  }
  layers.protocol = 'pass';

  const expected = request.canary.expected;
  let prediction: unknown[] = flattenData(outputs[0]?.data ?? []);
  if (expected) {
    try {
      prediction = comparePrediction(outputs, expected);
      layers.prediction = 'pass';
    } catch (err) {
      layers.prediction = 'fail';
      return failed('prediction', err instanceof Error ? err.message : String(err), common);
    }
  }
  return { namespace, host, url, ok: true, ...common, latencyMs, prediction, layers };
}

// ------------------------------------------------------------------ the run

/** How long a Dex session is reused by a warm Lambda (or one CLI process). */
export const LOGIN_CACHE_TTL_MS = 10 * 60 * 1000;

export interface LoginCacheEntry {
  cookie: string;
  expiresAt: number;
}

export interface RunCanaryDeps {
  secrets: SecretsPort;
  resolver: Resolver;
  extraCa?: string;
  now: () => Date;
  log: Logger;
  /** Dex sessions by dashboard and user; pass a module-level Map to reuse logins across invocations. */
  loginCache?: Map<string, LoginCacheEntry>;
  /** JWT: access tokens by token endpoint, client and scope; a module-level Map reuses them until shortly before expiry. */
  tokenCache?: Map<string, CachedToken>;
}

export interface CanaryRunResult {
  ok: boolean;
  results: ProbeResult[];
}

/**
 * One failed result per namespace when probing could not start at the auth
 * layer (a login that failed, a secret that could not be read): every layer
 * skipped but `auth`, which failed. The message is redacted.
 */
export function authFailureResults(request: ProvisionRequest, namespaces: readonly string[], err: unknown, message: string): ProbeResult[] {
  const kind: CanaryFailureKind = err instanceof CanaryFailedError ? err.kind : 'auth';
  return namespaces.map((namespace) => {
    const host = modelHost(request, namespace);
    const layers = allSkipped();
    layers.auth = 'fail';
    return {
      namespace,
      host,
      url: `https://${host}/v2/models/${request.canary.model}/infer`,
      ok: false,
      failureKind: kind,
      message: redactString(message),
      latencyMs: 0,
      layers,
    };
  });
}

/** Dex: log in (or reuse the cached session), probe, and retry once with a fresh login if a cached session is refused. */
async function probeWithDexSession(
  request: ProvisionRequest,
  namespaces: string[],
  user: { username: string; password: string },
  deps: RunCanaryDeps,
  probeAll: (targets: string[], credentials: ProbeCredentials) => Promise<ProbeResult[]>,
): Promise<ProbeResult[]> {
  const dashboardUrl = `https://${dashboardHost(request)}/`;
  const cacheKey = `${dashboardUrl}|${user.username}`;
  const nowMs = (): number => deps.now().getTime();
  const login = async (): Promise<string> => {
    const client = createHttpsClient({
      resolver: deps.resolver,
      timeoutMs: request.canary.timeoutSeconds * 1000,
      ...(deps.extraCa ? { extraCa: deps.extraCa } : {}),
    });
    const cookie = await dexLogin({ dashboardUrl, username: user.username, password: user.password, client, now: nowMs });
    deps.loginCache?.set(cacheKey, { cookie, expiresAt: nowMs() + LOGIN_CACHE_TTL_MS });
    return cookie;
  };
  const loginFailed = (targets: string[], err: unknown): ProbeResult[] => {
    deps.log.warn('canary login failed', { dashboardUrl, failureKind: err instanceof CanaryFailedError ? err.kind : 'auth' });
    return authFailureResults(
      request,
      targets,
      err,
      `login at ${dashboardUrl} failed: ${err instanceof Error ? stripKind(err.message) : String(err)}`,
    );
  };

  const cached = deps.loginCache?.get(cacheKey);
  if (cached !== undefined && cached.expiresAt > nowMs()) {
    registerSecret(cached.cookie);
    const results = await probeAll(namespaces, { kind: 'cookie', cookie: cached.cookie });
    const refused = results.filter((r) => r.failureKind === 'auth').map((r) => r.namespace);
    if (refused.length === 0) return results;
    // The cached session may have ended server-side: drop it and log in again, once.
    deps.loginCache?.delete(cacheKey);
    deps.log.info('cached Dex session refused; logging in again', { namespaces: refused });
    let retried: ProbeResult[];
    try {
      retried = await probeAll(refused, { kind: 'cookie', cookie: await login() });
    } catch (err) {
      retried = loginFailed(refused, err);
    }
    return results.map((r) => retried.find((x) => x.namespace === r.namespace) ?? r);
  }
  deps.loginCache?.delete(cacheKey);
  let cookie: string;
  try {
    cookie = await login();
  } catch (err) {
    return loginFailed(namespaces, err);
  }
  return probeAll(namespaces, { kind: 'cookie', cookie });
}

/** The token endpoint: the request's (ValidateRequest fills it in), else discovered from the issuer. */
async function tokenEndpointOf(auth: JwtAuth, request: ProvisionRequest, deps: RunCanaryDeps): Promise<string> {
  if (auth.canary.tokenEndpoint) return auth.canary.tokenEndpoint;
  const url = discoveryUrl(auth.issuer);
  const res = await httpsRequest({
    url,
    method: 'GET',
    headers: { accept: 'application/json' },
    resolver: deps.resolver,
    timeoutMs: request.canary.timeoutSeconds * 1000,
    ...(deps.extraCa ? { extraCa: deps.extraCa } : {}),
  });
  if (res.status !== 200) throw new CanaryFailedError('auth', `${url} answered HTTP ${res.status}`);
  const endpoint = parseDiscoveryDocument(res.text, auth.issuer).tokenEndpoint;
  if (!endpoint) throw new CanaryFailedError('auth', `${url} names no token_endpoint`);
  return endpoint;
}

/** A negative check: the request must be refused with one of `refusedWith`. */
function negativeCheck(name: AuthCheck['name'], r: ProbeResult, refusedWith: readonly number[], what: string): AuthCheck {
  if (r.status !== undefined && refusedWith.includes(r.status)) return { name, state: 'pass', status: r.status };
  if (r.status === undefined) return { name, state: 'fail', reason: `${what}: no answer (${r.failureKind ?? 'http'}: ${r.message ?? ''})` };
  return {
    name,
    state: 'fail',
    status: r.status,
    reason:
      r.status === 200
        ? `${what} was answered 200: the load balancer does not verify tokens`
        : `${what} got HTTP ${r.status}, expected ${refusedWith.join(' or ')}`,
  };
}

/** The valid-token result with JWT mode's checks folded in: any failed check makes it an `auth` failure. */
function withChecks(result: ProbeResult, checks: AuthCheck[]): ProbeResult {
  const failed = checks.find((c) => c.state === 'fail');
  if (!failed) return { ...result, checks };
  const layers = { ...result.layers, auth: 'fail' as const };
  return { ...result, ok: false, failureKind: 'auth', message: `${failed.name} check: ${failed.reason ?? 'failed'}`, layers, checks };
}

/**
 * JWT: a token by client credentials (cached until shortly before expiry), then
 * per endpoint: the valid token must get 200 with the expected prediction, no
 * token must get 401, a token failing a required claim must be refused (when
 * `refusedScope` says how to get one; skipped with a reason otherwise), and
 * during a migration the header token must still get 200.
 */
async function probeWithToken(
  request: ProvisionRequest,
  auth: JwtAuth,
  namespaces: string[],
  deps: RunCanaryDeps,
  probeAll: (targets: string[], credentials: ProbeCredentials) => Promise<ProbeResult[]>,
): Promise<ProbeResult[]> {
  const client = parseClientCredentialsSecret(await deps.secrets.getSecretString(auth.canary.clientSecretId));
  registerSecret(client.clientSecret);
  const tokenDeps = {
    resolver: deps.resolver,
    timeoutMs: request.canary.timeoutSeconds * 1000,
    now: () => deps.now().getTime(),
    ...(deps.extraCa ? { extraCa: deps.extraCa } : {}),
    ...(deps.tokenCache ? { cache: deps.tokenCache } : {}),
  };
  let tokenEndpoint: string;
  let token: string;
  const tokenFor = async (scope: string | undefined): Promise<string> =>
    (await clientCredentialsToken({ tokenEndpoint, ...client, ...(scope !== undefined ? { scope } : {}) }, tokenDeps)).accessToken;
  try {
    tokenEndpoint = await tokenEndpointOf(auth, request, deps);
    token = await tokenFor(auth.canary.scope);
  } catch (err) {
    deps.log.warn('canary token request failed', {
      issuer: auth.issuer,
      failureKind: err instanceof CanaryFailedError ? err.kind : 'auth',
    });
    return authFailureResults(request, namespaces, err, `no token: ${err instanceof Error ? stripKind(err.message) : String(err)}`);
  }

  let results = await probeAll(namespaces, { kind: 'bearer', token });
  const refused = results.filter((r) => r.failureKind === 'auth').map((r) => r.namespace);
  if (refused.length > 0 && deps.tokenCache) {
    // A cached token may have been revoked or its key rotated: drop it and ask again, once.
    deps.tokenCache.delete(tokenCacheKey({ tokenEndpoint, clientId: client.clientId, scope: auth.canary.scope }));
    deps.log.info('token refused; requesting a new one', { namespaces: refused });
    try {
      token = await tokenFor(auth.canary.scope);
      const retried = await probeAll(refused, { kind: 'bearer', token });
      results = results.map((r) => retried.find((x) => x.namespace === r.namespace) ?? r);
    } catch (err) {
      const failed = authFailureResults(request, refused, err, `no token: ${err instanceof Error ? stripKind(err.message) : String(err)}`);
      results = results.map((r) => failed.find((x) => x.namespace === r.namespace) ?? r);
    }
  }
  const green = results.filter((r) => r.ok).map((r) => r.namespace);
  if (green.length === 0) return results;

  const noToken = await probeAll(green, { kind: 'none' });
  let refusedClaim: ProbeResult[] | undefined;
  let refusedClaimSkip: string | undefined;
  if (auth.canary.refusedScope !== undefined) {
    try {
      refusedClaim = await probeAll(green, { kind: 'bearer', token: await tokenFor(auth.canary.refusedScope) });
    } catch (err) {
      refusedClaimSkip = `no token for refusedScope: ${err instanceof Error ? stripKind(err.message) : String(err)}`;
    }
  } else {
    refusedClaimSkip = 'auth.canary.refusedScope not set: the issuer gives this client no token that fails a required claim';
  }
  let header: ProbeResult[] | undefined;
  if (auth.transition) {
    const values = parseHeaderValuesSecret(await deps.secrets.getSecretString(auth.transition.headerValuesSecretId));
    values.forEach(registerSecret);
    header = await probeAll(green, { kind: 'header', name: auth.transition.headerName, value: values[0] ?? '' });
  }

  return results.map((r) => {
    if (!r.ok) return r;
    const at = (list: ProbeResult[] | undefined): ProbeResult | undefined => list?.find((x) => x.namespace === r.namespace);
    const checks: AuthCheck[] = [negativeCheck('no-token', at(noToken)!, [401], 'a request without a token')];
    const claim = at(refusedClaim);
    checks.push(
      claim
        ? negativeCheck('refused-claim', claim, [401, 403], 'a token failing a required claim')
        : { name: 'refused-claim', state: 'skipped', reason: refusedClaimSkip ?? 'skipped' },
    );
    const h = at(header);
    if (h) {
      checks.push(
        h.ok
          ? { name: 'header', state: 'pass', ...(h.status !== undefined ? { status: h.status } : {}) }
          : {
              name: 'header',
              state: 'fail',
              ...(h.status !== undefined ? { status: h.status } : {}),
              reason: `the transition's header token was not accepted: ${h.failureKind ?? 'http'}: ${h.message ?? ''}`,
            },
      );
    }
    return withChecks(r, checks);
  });
}

/**
 * Probes every canary namespace in parallel. Cognito: the first header value
 * of the secret; Dex: one login per run (cached for {@link LOGIN_CACHE_TTL_MS}
 * in `loginCache`; a cached session that gets `auth` failures is dropped and
 * the login retried once). Throws only for unusable secrets
 * (`InvalidSecret`) and for AWS calls the role is denied (`AccessDenied`,
 * the Route 53 resolver's reads) — endpoint failures are results.
 *
 * @example
 *   const run = await runCanary({ request }, { secrets, resolver, now: () => new Date(), log });
 *   assertCanaryOk(run);
 */
export async function runCanary(input: { request: ProvisionRequest }, deps: RunCanaryDeps): Promise<CanaryRunResult> {
  const { request } = input;
  const namespaces = canaryNamespaces(request);
  const probeAll = (targets: string[], credentials: ProbeCredentials): Promise<ProbeResult[]> =>
    Promise.all(
      targets.map((namespace) =>
        probeEndpoint({
          request,
          namespace,
          credentials,
          resolver: deps.resolver,
          now: deps.now,
          ...(deps.extraCa ? { extraCa: deps.extraCa } : {}),
        }),
      ),
    );

  const auth = request.auth;
  let results: ProbeResult[];
  if (auth.provider === 'cognito') {
    const raw = await deps.secrets.getSecretString(auth.headerValuesSecretId);
    const values = parseHeaderValuesSecret(raw);
    for (const v of values) registerSecret(v);
    const [value = ''] = values;
    results = await probeAll(namespaces, { kind: 'header', name: auth.headerName, value });
  } else if (auth.provider === 'jwt') {
    results = await probeWithToken(request, auth, namespaces, deps, probeAll);
  } else {
    const raw = await deps.secrets.getSecretString(auth.loginSecretId);
    const { username, password } = parseDexLogin(raw);
    registerSecret(password);
    results = await probeWithDexSession(request, namespaces, { username, password }, deps, probeAll);
  }

  for (const r of results) {
    const fields = {
      namespace: r.namespace,
      host: r.host,
      ok: r.ok,
      status: r.status,
      latencyMs: r.latencyMs,
      certificateDaysToExpiry: r.certificateDaysToExpiry,
      ...(r.ok ? {} : { failureKind: r.failureKind, reason: r.message }),
      ...(r.checks ? { checks: r.checks.map((c) => `${c.name}=${c.state}`) } : {}),
    };
    if (r.ok) deps.log.info('canary probe passed', fields);
    else deps.log.warn('canary probe failed', fields);
  }
  return { ok: results.every((r) => r.ok), results };
}

/**
 * Throws {@link CanaryFailedError} of the first failure's kind when the run failed.
 *
 * @example
 *   assertCanaryOk(await runCanary({ request }, deps));
 */
export function assertCanaryOk(result: CanaryRunResult): void {
  const failures = result.results.filter((r) => !r.ok);
  const first = failures[0];
  if (result.ok && !first) return;
  if (!first) throw new CanaryFailedError('http', 'canary run failed without a failing probe');
  const more =
    failures.length > 1
      ? ` (and ${failures.length - 1} more: ${failures
          .slice(1)
          .map((f) => `${f.namespace}=${f.failureKind}`)
          .join(', ')})`
      : '';
  throw new CanaryFailedError(
    first.failureKind ?? 'http',
    redactString(`namespace ${first.namespace} (${first.host}): ${first.message ?? 'failed'}${more}`),
  );
}
