/**
 * The product's reads of a real token issuer (Dex with the client_credentials
 * grant, over HTTPS with the testbed CA, named by its IP address):
 * ValidateRequest discovers the JWKS and token endpoints and checks the JWKS
 * against the ALB's limits; the canary gets a token with HTTP Basic client
 * authentication, caches it, and a wrong secret is refused as `auth` without
 * the secret in the message. Through the same wiring the Lambdas use.
 */
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CanaryFailedError } from '../../shared/errors';
import { silentLogger } from '../../shared/log';
import { clientCredentialsToken, jwtExpiry, type CachedToken } from '../../shared/canary/token';
import { validateRequest } from '../../shared/steps/validateRequest';
import { Route53Adapter } from '../../shared/aws/route53';
import { SecretsAdapter } from '../../shared/aws/secrets';
import { issuerHttp } from '../../wiring/canary';
import { route53Client, secretsClient } from '../../wiring/clients';
import { clusterAccessFor } from '../../wiring/cluster';
import { loadConfig } from '../../wiring/config';
import { resolverFor } from '../../shared/canary/resolver';
import { startTestbed, type Testbed } from '../../testbed/testbed';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const CLIENT_SECRET_ID = 'kserve-edge/canary-client';

describe('a real token issuer (Dex, client_credentials)', () => {
  let tb: Testbed;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    tb = await startTestbed({
      authProvider: 'cognito',
      domain: DOMAIN,
      namespaces: ['staging'],
      clusterName: 'kubeflow',
      region: REGION,
      tokenIssuer: true,
    });
    Object.assign(process.env, tb.env, { LOG_LEVEL: 'silent' });
    const c = tb.tokenIssuer!.client();
    await tb.aws.secretsManager.send(
      new CreateSecretCommand({
        Name: CLIENT_SECRET_ID,
        SecretString: JSON.stringify({ clientId: c.clientId, clientSecret: c.clientSecret }),
      }),
    );
  }, 300_000);
  afterAll(async () => {
    process.env = savedEnv;
    await tb?.stop();
  }, 60_000);

  it('ValidateRequest discovers the endpoints and accepts its JWKS', async () => {
    const config = loadConfig(tb.env);
    const c = tb.tokenIssuer!.client();
    const out = await validateRequest(
      {
        request: {
          domain: DOMAIN,
          cluster: { name: 'kubeflow', region: REGION },
          namespaces: ['staging'],
          auth: {
            provider: 'jwt',
            issuer: c.issuer,
            claims: [{ name: 'groups', format: 'string-array', values: ['kserve-edge:invoke'] }],
            canary: { clientSecretId: CLIENT_SECRET_ID },
          },
        },
        runId: 'issuer-1',
      },
      {
        route53: new Route53Adapter(route53Client(config)),
        secrets: new SecretsAdapter(secretsClient(config, REGION)),
        cluster: clusterAccessFor(config),
        http: issuerHttp(config),
        log: silentLogger,
        now: () => new Date(),
        inVpc: false,
      },
    );
    expect(out.request.auth).toMatchObject({ jwksEndpoint: c.jwksUri, canary: { tokenEndpoint: c.tokenEndpoint } });
  }, 60_000);

  it('the canary gets a token by client credentials (HTTP Basic), caches it, and a wrong secret is auth', async () => {
    const config = loadConfig(tb.env);
    const c = tb.tokenIssuer!.client();
    const deps = {
      resolver: resolverFor(config.canary.dns, { route53: new Route53Adapter(route53Client(config)), zoneId: tb.hostedZoneId }),
      extraCa: tb.caPem,
      timeoutMs: 10_000,
      now: () => Date.now(),
      cache: new Map<string, CachedToken>(),
    };
    const first = await clientCredentialsToken(
      { tokenEndpoint: c.tokenEndpoint, clientId: c.clientId, clientSecret: c.clientSecret, scope: 'openid groups' },
      deps,
    );
    const payload = JSON.parse(Buffer.from(first.accessToken.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(payload).toMatchObject({ iss: c.issuer, aud: c.clientId, groups: ['kserve-edge:invoke'] });
    expect(Math.abs(first.expiresAt - jwtExpiry(first.accessToken)!)).toBeLessThan(5_000);
    const again = await clientCredentialsToken(
      { tokenEndpoint: c.tokenEndpoint, clientId: c.clientId, clientSecret: c.clientSecret, scope: 'openid groups' },
      deps,
    );
    expect(again.accessToken).toBe(first.accessToken);

    const err = await clientCredentialsToken(
      { tokenEndpoint: c.tokenEndpoint, clientId: c.clientId, clientSecret: 'wrong-secret-value-123', scope: 'openid' },
      { ...deps, cache: new Map() },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CanaryFailedError);
    expect((err as CanaryFailedError).kind).toBe('auth');
    expect((err as Error).message).toMatch(/HTTP 401 \(invalid_client\)/);
    expect((err as Error).message).not.toContain('wrong-secret-value-123');
  }, 60_000);
});
