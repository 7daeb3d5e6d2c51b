/**
 * ALB JWT verification, pure: what the issuer publishes is checked against the
 * ALB's limits, and the controller's annotation is rendered.
 *
 * Sources:
 * - ELBv2 "Verify JWTs using an Application Load Balancer"
 *   (`elasticloadbalancing/latest/application/listener-verify-jwt.html`, 2025-11):
 *   HTTPS listeners only; RS256 only; the JWKS response at most 150 KB and 10 keys;
 *   at most 10 additional claims with at most 10 values each; `iss` and `exp`
 *   always checked (`nbf`, `iat` when present).
 * - AWS Load Balancer Controller `docs/guide/ingress/annotations.md`, "Token
 *   Validation", and its parser `pkg/ingress/enhanced_backend_builder.go`
 *   (`buildJwtValidationConfig`: JSON `{jwksEndpoint, issuer, additionalClaims[{name, format, values}]}`,
 *   jwksEndpoint and issuer required, each claim's format, name and values required).
 *   `pkg/ingress/model_build_actions.go` puts the `jwt-validation` action in front of
 *   the forward action of **every** rule of the Ingress, on HTTPS listeners only.
 */
import { InvalidRequestError, InvalidSecretError } from '../errors';
import type { JwtAuth, JwtClaim } from '../request';

/** The ALB reads at most 150 KB of JWKS (ELBv2 docs; KB taken as 1024 bytes, the stricter reading is 150 000). */
export const JWKS_MAX_BYTES = 150 * 1000;
/** The ALB uses at most 10 keys of a JWKS. */
export const JWKS_MAX_KEYS = 10;
/** The only signature algorithm the ALB verifies. */
export const JWT_ALGORITHM = 'RS256';
/** Where OpenID Connect Discovery 1.0 §4 puts the provider's metadata. */
export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';

/** The annotation value's shape, as the controller's `JwtValidationConfig` reads it. */
export interface JwtValidationAnnotation {
  jwksEndpoint: string;
  issuer: string;
  additionalClaims?: Array<{ name: string; format: JwtClaim['format']; values: string[] }>;
}

/**
 * `alb.ingress.kubernetes.io/jwt-validation`, field names and order as the
 * controller documents them; `additionalClaims` left out when empty (the
 * controller's struct has it `omitempty`).
 *
 * @example
 *   jwtValidationAnnotation({ issuer: 'https://idp.example.com', jwksEndpoint: 'https://idp.example.com/keys', claims: [] })
 *   // '{"jwksEndpoint":"https://idp.example.com/keys","issuer":"https://idp.example.com"}'
 */
export function jwtValidationAnnotation(input: { issuer: string; jwksEndpoint: string; claims: readonly JwtClaim[] }): string {
  const value: JwtValidationAnnotation = { jwksEndpoint: input.jwksEndpoint, issuer: input.issuer };
  if (input.claims.length > 0) {
    value.additionalClaims = input.claims.map((c) => ({ name: c.name, format: c.format, values: [...c.values] }));
  }
  return JSON.stringify(value);
}

/** `<issuer>/.well-known/openid-configuration` (a trailing `/` of the issuer is not doubled). */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}${OPENID_CONFIGURATION_PATH}`;
}

/** What ValidateRequest takes from the discovery document. */
export interface IssuerMetadata {
  jwksUri: string;
  tokenEndpoint?: string;
}

function isHttpsUrl(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  try {
    return new URL(v).protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Checks an OpenID provider metadata document (OIDC Discovery §3, §4.3: its
 * `issuer` must equal the issuer it was fetched for) and returns the JWKS and
 * token endpoints.
 *
 * @throws InvalidRequestError naming `auth.issuer` when the document is not usable.
 */
export function parseDiscoveryDocument(text: string, issuer: string): IssuerMetadata {
  const where = `${discoveryUrl(issuer)}`;
  let doc: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    doc = parsed as Record<string, unknown>;
  } catch {
    throw new InvalidRequestError(`${where} is not a JSON object: is auth.issuer an OpenID Connect issuer?`, { path: 'auth.issuer' });
  }
  if (doc.issuer !== issuer) {
    throw new InvalidRequestError(
      `${where} names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}: the ALB compares iss byte for byte, so auth.issuer must be exactly the issuer's value`,
      { path: 'auth.issuer' },
    );
  }
  if (!isHttpsUrl(doc.jwks_uri)) {
    throw new InvalidRequestError(`${where} has no https jwks_uri (the ALB fetches keys over HTTPS only); set auth.jwksEndpoint`, {
      path: 'auth.jwksEndpoint',
    });
  }
  const algs = doc.id_token_signing_alg_values_supported;
  if (Array.isArray(algs) && algs.length > 0 && !algs.includes(JWT_ALGORITHM)) {
    throw new InvalidRequestError(`the issuer signs with ${algs.join(', ')}; the ALB verifies ${JWT_ALGORITHM} only`, {
      path: 'auth.issuer',
    });
  }
  const out: IssuerMetadata = { jwksUri: doc.jwks_uri };
  if (isHttpsUrl(doc.token_endpoint)) out.tokenEndpoint = doc.token_endpoint;
  return out;
}

/** What {@link checkJwks} found. */
export interface JwksSummary {
  bytes: number;
  keys: number;
  kids: string[];
}

/**
 * The JWKS limits of ALB JWT verification: at most {@link JWKS_MAX_BYTES},
 * at most {@link JWKS_MAX_KEYS} keys, every key an RSA signing key for RS256.
 *
 * @throws InvalidRequestError (path `auth.jwksEndpoint`) naming the limit broken.
 */
export function checkJwks(body: Uint8Array | string, url: string): JwksSummary {
  const bytes = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
  const path = 'auth.jwksEndpoint';
  if (bytes > JWKS_MAX_BYTES) {
    throw new InvalidRequestError(`the JWKS at ${url} is ${bytes} bytes; the ALB accepts at most ${JWKS_MAX_BYTES} (150 KB)`, { path });
  }
  let keys: unknown;
  try {
    keys = (JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) as { keys?: unknown }).keys;
  } catch {
    throw new InvalidRequestError(`the JWKS at ${url} is not JSON`, { path });
  }
  if (!Array.isArray(keys) || keys.length === 0) throw new InvalidRequestError(`the JWKS at ${url} has no "keys"`, { path });
  if (keys.length > JWKS_MAX_KEYS) {
    throw new InvalidRequestError(`the JWKS at ${url} has ${keys.length} keys; the ALB uses at most ${JWKS_MAX_KEYS}`, { path });
  }
  const kids: string[] = [];
  keys.forEach((k: unknown, i) => {
    const key = (k ?? {}) as Record<string, unknown>;
    const name = typeof key.kid === 'string' ? `key "${key.kid}"` : `key [${i}]`;
    if (key.kty !== 'RSA') {
      throw new InvalidRequestError(`${name} of ${url} has kty ${JSON.stringify(key.kty)}; the ALB verifies RS256 (RSA) only`, { path });
    }
    if (key.alg !== undefined && key.alg !== JWT_ALGORITHM) {
      throw new InvalidRequestError(`${name} of ${url} has alg ${JSON.stringify(key.alg)}; the ALB verifies ${JWT_ALGORITHM} only`, {
        path,
      });
    }
    if (key.use !== undefined && key.use !== 'sig') {
      throw new InvalidRequestError(`${name} of ${url} has use ${JSON.stringify(key.use)}, not "sig"`, { path });
    }
    if (typeof key.n !== 'string' || typeof key.e !== 'string') {
      throw new InvalidRequestError(`${name} of ${url} has no RSA modulus/exponent (n, e)`, { path });
    }
    if (typeof key.kid === 'string') kids.push(key.kid);
  });
  return { bytes, keys: keys.length, kids };
}

/**
 * The listeners a JWT rule may be on: HTTPS only (the controller builds the
 * action only for HTTPS listeners, so on HTTP the rule would forward unchecked).
 *
 * @throws InvalidRequestError when `listen-ports` names anything but HTTPS.
 */
export function checkJwtListeners(listenPorts: string): void {
  let ports: unknown;
  try {
    ports = JSON.parse(listenPorts);
  } catch {
    throw new InvalidRequestError(`listen-ports ${listenPorts} is not JSON`, { path: 'auth' });
  }
  const protocols = Array.isArray(ports) ? ports.flatMap((p) => Object.keys((p ?? {}) as object)) : [];
  if (protocols.length === 0 || protocols.some((p) => p !== 'HTTPS')) {
    throw new InvalidRequestError(
      `JWT verification needs HTTPS listeners only; the Ingress would listen on ${listenPorts} (an HTTP listener would forward tokens unchecked)`,
      { path: 'auth' },
    );
  }
}

/** The canary's app client, from its Secrets Manager secret. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * Parses `{"clientId": "...", "clientSecret": "..."}`. The message names the
 * field, never a value.
 *
 * @throws InvalidSecretError when the secret is not that shape.
 */
export function parseClientCredentialsSecret(raw: string): ClientCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidSecretError('the canary client secret is not JSON: expected {"clientId": "...", "clientSecret": "..."}');
  }
  const o = (parsed ?? {}) as Record<string, unknown>;
  for (const field of ['clientId', 'clientSecret'] as const) {
    const v = o[field];
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024 || /[\s]/.test(v)) {
      throw new InvalidSecretError(`the canary client secret's ${field} must be a non-empty string without spaces`);
    }
  }
  return { clientId: o.clientId as string, clientSecret: o.clientSecret as string };
}

/** The JWKS endpoint the ALB uses: the request's, else the discovered one. */
export function jwksEndpointOf(auth: Pick<JwtAuth, 'jwksEndpoint'>, discovered?: string): string {
  const url = auth.jwksEndpoint ?? discovered;
  if (url === undefined) throw new InvalidRequestError('no JWKS endpoint: set auth.jwksEndpoint', { path: 'auth.jwksEndpoint' });
  return url;
}
