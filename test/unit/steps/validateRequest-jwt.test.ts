/**
 * ValidateRequest in JWT mode: the canary's client secret (Secrets Manager,
 * through the real adapter and aws-sdk-client-mock), discovery of the JWKS and
 * token endpoints, and the ALB's JWKS limits, all before any write.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CanaryFailedError, InvalidRequestError } from '../../../shared/errors';
import { SecretsAdapter } from '../../../shared/aws/secrets';
import { clearSecrets, silentLogger } from '../../../shared/log';
import type { ClusterAccessPort, HttpGetPort } from '../../../shared/ports';
import { validateRequest } from '../../../shared/steps/validateRequest';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { STRONG_TOKEN } from '../../fixtures/requests';

const ISSUER = 'https://cognito-idp.us-west-2.amazonaws.com/us-west-2_AbCdEf123';
const DISCOVERY = `${ISSUER}/.well-known/openid-configuration`;
const JWKS = `${ISSUER}/.well-known/jwks.json`;
const TOKEN_ENDPOINT = 'https://kserve.auth.us-west-2.amazoncognito.com/oauth2/token';
const cluster: ClusterAccessPort = { connect: async () => ({ server: 'https://127.0.0.1:1', caData: 'pem', token: 't' }) };
const sm = mockClient(SecretsManagerClient);

function rsaJwk(kid: string): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}
const KEYS = { keys: [rsaJwk('a'), rsaJwk('b')] };

/** An issuer's public documents by URL; records every GET. */
function issuer(docs: Record<string, { status?: number; body: unknown } | Error>): HttpGetPort & { gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    async get(url, { maxBytes }) {
      gets.push(url);
      const doc = docs[url];
      if (doc === undefined) return { status: 404, body: Buffer.from('not found') };
      if (doc instanceof Error) throw doc;
      const body = Buffer.from(typeof doc.body === 'string' ? doc.body : JSON.stringify(doc.body));
      return { status: doc.status ?? 200, body: body.subarray(0, maxBytes + 1) };
    },
  };
}
const discovery = { issuer: ISSUER, jwks_uri: JWKS, token_endpoint: TOKEN_ENDPOINT, id_token_signing_alg_values_supported: ['RS256'] };

function request(auth: Record<string, unknown> = {}) {
  return {
    domain: 'platform.example.com',
    cluster: { name: 'kf', region: 'us-west-2' },
    namespaces: ['staging'],
    auth: {
      provider: 'jwt',
      issuer: ISSUER,
      claims: [{ name: 'client_id', format: 'single-string', values: ['canary-client'] }],
      canary: { clientSecretId: 'kserve-edge/canary-client', scope: 'kserve/invoke' },
      ...auth,
    },
  };
}

function deps(http: HttpGetPort) {
  const r53 = new InMemoryRoute53();
  r53.addZone('platform.example.com');
  return {
    route53: r53,
    secrets: new SecretsAdapter(new SecretsManagerClient({ region: 'us-west-2' })),
    cluster,
    http,
    log: silentLogger,
    now: () => new Date('2026-12-01T00:00:00Z'),
    inVpc: false,
  };
}

beforeEach(() => {
  sm.reset();
  sm.on(GetSecretValueCommand, { SecretId: 'kserve-edge/canary-client' }).resolves({
    SecretString: JSON.stringify({ clientId: 'canary-client', clientSecret: 'cs-0f9e8d7c6b5a' }),
  });
  sm.on(GetSecretValueCommand, { SecretId: 'kserve-edge/api-tokens' }).resolves({
    SecretString: JSON.stringify({ headerValues: [STRONG_TOKEN] }),
  });
  sm.on(GetSecretValueCommand, { SecretId: 'kserve-edge/absent' }).rejects(
    new ResourceNotFoundException({ message: 'not found', $metadata: {} }),
  );
});
afterEach(() => clearSecrets());

describe('validateRequest: JWT mode', () => {
  it('discovers the JWKS and token endpoints, checks the JWKS, and hands both on', async () => {
    const http = issuer({ [DISCOVERY]: { body: discovery }, [JWKS]: { body: KEYS } });
    const out = await validateRequest({ request: request(), runId: 'r' }, deps(http));
    expect(out.request.auth).toMatchObject({ provider: 'jwt', jwksEndpoint: JWKS, canary: { tokenEndpoint: TOKEN_ENDPOINT } });
    expect(http.gets).toEqual([DISCOVERY, JWKS]);
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual(['kserve-edge/canary-client']);
  });

  it('skips discovery when both endpoints are given, and reads the transition tokens too', async () => {
    const http = issuer({ [JWKS]: { body: KEYS } });
    await validateRequest(
      {
        request: request({
          jwksEndpoint: JWKS,
          canary: { clientSecretId: 'kserve-edge/canary-client', tokenEndpoint: TOKEN_ENDPOINT },
          transition: { headerValuesSecretId: 'kserve-edge/api-tokens' },
        }),
      },
      deps(http),
    );
    expect(http.gets).toEqual([JWKS]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it.each([
    [
      'a JWKS over 150 KB',
      { [DISCOVERY]: { body: discovery }, [JWKS]: { body: { ...KEYS, pad: 'x'.repeat(150_000) } } },
      'auth.jwksEndpoint',
      'at most 150000',
    ],
    [
      '11 keys',
      { [DISCOVERY]: { body: discovery }, [JWKS]: { body: { keys: Array.from({ length: 11 }, (_, i) => rsaJwk(`k${i}`)) } } },
      'auth.jwksEndpoint',
      'at most 10',
    ],
    [
      'an ES256 key',
      {
        [DISCOVERY]: { body: discovery },
        [JWKS]: { body: { keys: [{ kty: 'EC', kid: 'e', alg: 'ES256', crv: 'P-256', x: 'a', y: 'b' }] } },
      },
      'auth.jwksEndpoint',
      'RS256',
    ],
    [
      'a discovery document of another issuer',
      { [DISCOVERY]: { body: { ...discovery, issuer: `${ISSUER}/` } } },
      'auth.issuer',
      'byte for byte',
    ],
    ['no discovery document', {}, 'auth.issuer', 'HTTP 404'],
    ['an unreachable issuer', { [DISCOVERY]: new CanaryFailedError('dns', 'no such host') }, 'auth.issuer', 'could not be read (dns)'],
    ['a JWKS answering 500', { [DISCOVERY]: { body: discovery }, [JWKS]: { status: 500, body: 'oops' } }, 'auth.jwksEndpoint', 'HTTP 500'],
  ])('refuses %s with InvalidRequest', async (_what, docs, path, message) => {
    const err = await validateRequest({ request: request() }, deps(issuer(docs))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as InvalidRequestError).path).toBe(path);
    expect((err as Error).message).toContain(message);
  });

  it('refuses a missing or malformed client secret as InvalidSecret before any HTTP read', async () => {
    const http = issuer({ [DISCOVERY]: { body: discovery }, [JWKS]: { body: KEYS } });
    await expect(
      validateRequest({ request: request({ canary: { clientSecretId: 'kserve-edge/absent' } }) }, deps(http)),
    ).rejects.toMatchObject({
      name: 'InvalidSecret',
    });
    sm.on(GetSecretValueCommand, { SecretId: 'kserve-edge/canary-client' }).resolves({ SecretString: '{"clientId":"x"}' });
    await expect(validateRequest({ request: request() }, deps(http))).rejects.toMatchObject({ name: 'InvalidSecret' });
    expect(http.gets).toEqual([]);
  });
});

describe('validateRequest: JWT mode with ALB shards and bundles (combinations not built)', () => {
  const sni = (value: number) => ({ accountLimits: async () => ({ 'certificates-per-application-load-balancer': value }) });
  const many = (n: number) => Array.from({ length: n }, (_, i) => `team-${i}`);

  it('refuses namespaces that need a second ALB shard, naming the quota, and accepts them in the flat layout', async () => {
    const http = issuer({ [DISCOVERY]: { body: discovery }, [JWKS]: { body: KEYS } });
    await expect(
      validateRequest({ request: { ...request(), namespaces: many(3) } }, { ...deps(http), loadBalancers: sni(2) }),
    ).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: expect.stringMatching(/3 namespaces need 2 ALB shards.*certificates-per-application-load-balancer.*JWT mode/),
    });
    await expect(
      validateRequest({ request: { ...request(), namespaces: many(2) } }, { ...deps(http), loadBalancers: sni(2) }),
    ).resolves.toBeDefined();
    await expect(
      validateRequest({ request: { ...request(), namespaces: many(3), hostnames: 'flat' } }, { ...deps(http), loadBalancers: sni(2) }),
    ).resolves.toBeDefined();
  });

  it('refuses certificates.mode "bundled" in JWT mode and with flat hostnames, before any read', async () => {
    const http = issuer({});
    await expect(validateRequest({ request: { ...request(), certificates: { mode: 'bundled' } } }, deps(http))).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: expect.stringContaining('"bundled" is not available with "auth.provider": "jwt"'),
    });
    await expect(
      validateRequest(
        {
          request: {
            ...request(),
            auth: { provider: 'cognito', headerValuesSecretId: 'kserve-edge/api-tokens' },
            hostnames: 'flat',
            certificates: { mode: 'bundled' },
          },
        },
        deps(http),
      ),
    ).rejects.toMatchObject({ name: 'InvalidRequest', message: expect.stringContaining('nothing to bundle with "hostnames": "flat"') });
    expect(http.gets).toEqual([]);
  });
});
