/**
 * ALB JWT verification, pure parts: the annotation as the controller documents
 * and parses it, discovery, and the ALB's limits (JWKS size and keys, RS256,
 * claims), each refused with a named error before anything is written.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { InvalidRequestError, InvalidSecretError } from '../../../shared/errors';
import {
  checkJwks,
  checkJwtListeners,
  discoveryUrl,
  JWKS_MAX_BYTES,
  jwtValidationAnnotation,
  parseClientCredentialsSecret,
  parseDiscoveryDocument,
} from '../../../shared/plan/jwt';
import { parseProvisionRequest, type ProvisionRequestInput } from '../../../shared/request';

const ISSUER = 'https://idp.example.com/dex';

function rsaJwk(kid: string): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

function jwtRequest(auth: Record<string, unknown> = {}): ProvisionRequestInput {
  return {
    domain: 'platform.example.com',
    cluster: { name: 'kf', region: 'us-west-2' },
    namespaces: ['staging'],
    auth: { provider: 'jwt', issuer: ISSUER, canary: { clientSecretId: 'kserve-edge/canary-client' }, ...auth },
  } as ProvisionRequestInput;
}

describe('jwtValidationAnnotation', () => {
  it('renders the controller documentation example byte for byte (docs/guide/ingress/annotations.md, Token Validation)', () => {
    // The example of the controller's docs, as it is written there.
    const documented =
      '{"jwksEndpoint":"https://example-endpoint.com","issuer":"https://example-issuer.com","additionalClaims":[{"name":"admin","format":"single-string","values":["true"]},{"name":"ver","format":"string-array","values":["6","19"]},{"name":"scope","format":"space-separated-values","values":["read:api","write","email"]}]}';
    expect(
      jwtValidationAnnotation({
        jwksEndpoint: 'https://example-endpoint.com',
        issuer: 'https://example-issuer.com',
        claims: [
          { name: 'admin', format: 'single-string', values: ['true'] },
          { name: 'ver', format: 'string-array', values: ['6', '19'] },
          { name: 'scope', format: 'space-separated-values', values: ['read:api', 'write', 'email'] },
        ],
      }),
    ).toBe(documented);
  });

  it('leaves additionalClaims out when there are none (omitempty in the controller)', () => {
    expect(JSON.parse(jwtValidationAnnotation({ jwksEndpoint: `${ISSUER}/keys`, issuer: ISSUER, claims: [] }))).toEqual({
      jwksEndpoint: `${ISSUER}/keys`,
      issuer: ISSUER,
    });
  });
});

describe('the request: JWT mode', () => {
  it('accepts the minimal form and fills the defaults', () => {
    const req = parseProvisionRequest(jwtRequest());
    expect(req.auth).toEqual({
      provider: 'jwt',
      issuer: ISSUER,
      claims: [],
      canary: { clientSecretId: 'kserve-edge/canary-client' },
      istioRequestAuthentication: 'auto',
    });
  });

  it('accepts the README example (examples/jwt.json)', () => {
    const raw = JSON.parse(readFileSync(new URL('../../../examples/jwt.json', import.meta.url), 'utf8')) as unknown;
    const req = parseProvisionRequest(raw);
    expect(req.auth.provider === 'jwt' && req.auth.claims.map((c) => c.name)).toEqual(['scope', 'client_id']);
  });

  it('accepts a transition block with the header defaults', () => {
    const req = parseProvisionRequest(jwtRequest({ transition: { headerValuesSecretId: 'kserve-edge/header-values' } }));
    expect(req.auth.provider === 'jwt' && req.auth.transition).toEqual({
      headerName: 'x-api-key',
      headerValuesSecretId: 'kserve-edge/header-values',
    });
  });

  const claim = (name: string, values = ['a']) => ({ name, format: 'single-string', values });
  it.each([
    ['an http issuer', { issuer: 'http://idp.example.com' }, 'auth.issuer', 'https://'],
    ['an http JWKS endpoint', { jwksEndpoint: 'http://idp.example.com/keys' }, 'auth.jwksEndpoint', 'https://'],
    ['11 claims', { claims: Array.from({ length: 11 }, (_, i) => claim(`c${i}`)) }, 'auth.claims', 'at most 10 additional claims'],
    [
      '11 values in a claim',
      {
        claims: [
          claim(
            'scope',
            Array.from({ length: 11 }, (_, i) => `v${i}`),
          ),
        ],
      },
      'auth.claims[0].values',
      'at most 10 values',
    ],
    ['iss as an additional claim', { claims: [claim('iss')] }, 'auth.claims[0].name', 'always checks'],
    ['a claim named twice', { claims: [claim('aud'), claim('aud')] }, 'auth.claims', 'twice'],
    ['a value with a space', { claims: [claim('scope', ['a b'])] }, 'auth.claims[0].values[0]', 'spaces'],
    ['an unknown format', { claims: [{ name: 'x', format: 'csv', values: ['a'] }] }, 'auth.claims[0].format', ''],
    ['an unknown field', { audience: 'x' }, 'auth', ''],
  ])('refuses %s with InvalidRequest at its path', (_what, auth, path, message) => {
    let err: unknown;
    try {
      parseProvisionRequest(jwtRequest(auth));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as InvalidRequestError).path).toBe(path);
    expect((err as Error).message).toContain(message);
  });
});

describe('parseDiscoveryDocument', () => {
  const doc = {
    issuer: ISSUER,
    jwks_uri: `${ISSUER}/keys`,
    token_endpoint: `${ISSUER}/token`,
    id_token_signing_alg_values_supported: ['RS256'],
  };
  it('returns the JWKS and token endpoints', () => {
    expect(discoveryUrl(`${ISSUER}/`)).toBe(`${ISSUER}/.well-known/openid-configuration`);
    expect(parseDiscoveryDocument(JSON.stringify(doc), ISSUER)).toEqual({ jwksUri: `${ISSUER}/keys`, tokenEndpoint: `${ISSUER}/token` });
  });
  it.each([
    ['another issuer', { ...doc, issuer: 'https://other.example.com' }, 'byte for byte'],
    ['no jwks_uri', { ...doc, jwks_uri: undefined }, 'jwks_uri'],
    ['an http jwks_uri', { ...doc, jwks_uri: 'http://idp.example.com/keys' }, 'jwks_uri'],
    ['ES256 only', { ...doc, id_token_signing_alg_values_supported: ['ES256'] }, 'RS256 only'],
  ])('refuses %s', (_what, d, message) => {
    expect(() => parseDiscoveryDocument(JSON.stringify(d), ISSUER)).toThrow(InvalidRequestError);
    expect(() => parseDiscoveryDocument(JSON.stringify(d), ISSUER)).toThrow(message);
  });
  it('refuses a document that is not JSON', () => {
    expect(() => parseDiscoveryDocument('<html>', ISSUER)).toThrow('not a JSON object');
  });
});

describe('checkJwks: the ALB limits', () => {
  const url = `${ISSUER}/keys`;
  it('accepts up to 10 RS256 keys', () => {
    const keys = Array.from({ length: 10 }, (_, i) => rsaJwk(`k${i}`));
    const summary = checkJwks(JSON.stringify({ keys }), url);
    expect(summary.keys).toBe(10);
    expect(summary.kids).toHaveLength(10);
  });
  it('refuses 11 keys', () => {
    const keys = Array.from({ length: 11 }, (_, i) => rsaJwk(`k${i}`));
    expect(() => checkJwks(JSON.stringify({ keys }), url)).toThrow('11 keys; the ALB uses at most 10');
  });
  it('refuses a JWKS larger than 150 KB, and accepts one at the limit', () => {
    const base = JSON.stringify({ keys: [rsaJwk('a')], pad: '' });
    const at = base.replace('"pad":""', `"pad":"${'x'.repeat(JWKS_MAX_BYTES - base.length)}"`);
    expect(Buffer.byteLength(at)).toBe(JWKS_MAX_BYTES);
    expect(checkJwks(at, url).bytes).toBe(JWKS_MAX_BYTES);
    expect(() => checkJwks(`${at} `, url)).toThrow(`at most ${JWKS_MAX_BYTES}`);
  });
  it.each([
    ['an EC key', { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', kid: 'ec' }, 'kty "EC"'],
    ['RS512', { ...rsaJwk('r'), alg: 'RS512' }, 'alg "RS512"'],
    ['an encryption key', { ...rsaJwk('r'), use: 'enc' }, 'use "enc"'],
  ])('refuses %s (RS256 only)', (_what, key, message) => {
    let err: unknown;
    try {
      checkJwks(JSON.stringify({ keys: [rsaJwk('ok'), key] }), url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as InvalidRequestError).path).toBe('auth.jwksEndpoint');
    expect((err as Error).message).toContain(message);
  });
  it('refuses an empty or malformed JWKS', () => {
    expect(() => checkJwks('{"keys":[]}', url)).toThrow('no "keys"');
    expect(() => checkJwks('nope', url)).toThrow('not JSON');
  });
});

describe('checkJwtListeners', () => {
  it('accepts HTTPS only', () => {
    expect(() => checkJwtListeners('[{"HTTPS":443}]')).not.toThrow();
    expect(() => checkJwtListeners('[{"HTTPS":443},{"HTTPS":8443}]')).not.toThrow();
  });
  it.each(['[{"HTTP":80}]', '[{"HTTP":80},{"HTTPS":443}]', '[]', 'x'])('refuses %s', (ports) => {
    expect(() => checkJwtListeners(ports)).toThrow(InvalidRequestError);
  });
});

describe('parseClientCredentialsSecret', () => {
  it('returns the client id and secret', () => {
    expect(parseClientCredentialsSecret('{"clientId":"canary","clientSecret":"s3cr3t-value"}')).toEqual({
      clientId: 'canary',
      clientSecret: 's3cr3t-value',
    });
  });
  it.each(['not json', '{}', '{"clientId":"a"}', '{"clientId":"a","clientSecret":""}', '{"clientId":"a b","clientSecret":"x"}'])(
    'refuses %s without echoing it',
    (raw) => {
      let err: unknown;
      try {
        parseClientCredentialsSecret(raw);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidSecretError);
      if (raw.includes('clientSecret')) expect((err as Error).message).not.toContain('"x"');
    },
  );
});
