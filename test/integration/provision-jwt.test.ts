/**
 * End to end, JWT mode (issue 12): the whole provision.asl.json with the real
 * handlers against the testbed with the real AWS Load Balancer Controller and
 * a real token issuer (Dex with the client_credentials grant). The ALB's JWT
 * check is the testbed data plane's real verifier, rendered from what the
 * controller wrote into ELBv2.
 *
 * A client with a token from Dex gets 200 with the prediction over verified
 * TLS; no token, an expired token, a token of another issuer and a token that
 * lacks the required claim are each refused; the scheduled canary is green,
 * then reports `auth` once the required claim is changed.
 *
 * Dex's client_credentials tokens carry `groups` (string array) only when the
 * scope `groups` is asked for (testbed/token-issuer.ts), so the required claim
 * is `groups`, and the canary's `refusedScope: "openid"` gets a genuine token
 * of the right client and issuer without it.
 */
import { readFileSync } from 'node:fs';
import { publishCanaryMetrics } from '../../shared/canary/metrics';
import { silentLogger } from '../../shared/log';
import { IRIS_INPUT, parseProvisionRequest } from '../../shared/request';
import { runScheduledCanary } from '../../shared/steps/runScheduledCanary';
import { resetScheduledCanaryCaches, scheduledCanaryDeps } from '../../wiring/canary';
import { resetClients } from '../../wiring/clients';
import { loadConfig } from '../../wiring/config';
import { M2M_GROUPS } from '../../testbed/token-issuer';
import type { Testbed } from '../../testbed/testbed';
import type { KubeObject } from '../../testbed/lib/kube';
import { captureEmf, endpointDocs } from '../fixtures/emf';
import { startJwtTestbed } from './harness';
import { httpsTo, provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NS = 'staging';
const HOST = `sklearn-irisv2.${NS}.${DOMAIN}`;
const PATH = '/v2/models/sklearn-irisv2/infer';
const BODY = JSON.stringify(IRIS_INPUT);
const CLIENT_SECRET_ID = 'kserve-edge/canary-client';

describe('provision: JWT mode with a real token issuer and the real controller', () => {
  let tb: Testbed;
  let request: Record<string, unknown>;
  let port = 0;
  const savedEnv = { ...process.env };

  const infer = (headers: Record<string, string> = {}) =>
    httpsTo({ port, host: HOST, path: PATH, method: 'POST', body: BODY, headers, ca: tb.caPem });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    tb = await startJwtTestbed({ domain: DOMAIN, namespace: NS, region: REGION, clientSecretId: CLIENT_SECRET_ID });
    const client = tb.tokenIssuer!.client();
    request = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      namespaces: [NS],
      auth: {
        provider: 'jwt',
        issuer: client.issuer,
        // JWKS and token endpoints discovered by ValidateRequest.
        claims: [{ name: 'groups', format: 'string-array', values: M2M_GROUPS }],
        canary: { clientSecretId: CLIENT_SECRET_ID, scope: 'openid groups', refusedScope: 'openid' },
      },
      canary: { expected: { outputName: 'predict', data: [1, 1] } },
    };
  }, 300_000);

  afterAll(async () => {
    process.env = savedEnv;
    await tb?.stop();
  }, 60_000);

  it('provisions; the canary is green with all three checks', async () => {
    const result = await provisionWith(tb.env, request, 'e2e-jwt-1');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(result.error)}`);
    const output = result.output as {
      request: { auth: { jwksEndpoint: string; canary: { tokenEndpoint: string } } };
      canary: {
        namespaces: Array<{ namespace: string; status: number; prediction: unknown; checks: Array<{ name: string; state: string }> }>;
      };
    };
    const client = tb.tokenIssuer!.client();
    expect(output.request.auth.jwksEndpoint).toBe(client.jwksUri);
    expect(output.request.auth.canary.tokenEndpoint).toBe(client.tokenEndpoint);
    expect(output.canary.namespaces.map((n) => [n.namespace, n.status, n.prediction])).toEqual([[NS, 200, [1, 1]]]);
    expect(output.canary.namespaces[0]!.checks.map((c) => `${c.name}=${c.state}`)).toEqual(['no-token=pass', 'refused-claim=pass']);
    // No token anywhere in the output.
    expect(JSON.stringify(result.output)).not.toMatch(/eyJ[\w-]+\.eyJ/);

    const kube = tb.kubeAdmin();
    const ingress = await kube.get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-jwt');
    expect(JSON.parse(ingress!.metadata.annotations!['alb.ingress.kubernetes.io/jwt-validation']!)).toEqual({
      jwksEndpoint: client.jwksUri,
      issuer: client.issuer,
      additionalClaims: [{ name: 'groups', format: 'string-array', values: M2M_GROUPS }],
    });
    const events = await kube.list<KubeObject & { involvedObject?: { name?: string }; reason?: string }>('v1', 'Event', 'istio-system');
    expect(events.filter((e) => e.involvedObject?.name === 'istio-ingress-jwt' && /^Failed/.test(e.reason ?? ''))).toEqual([]);
    // The ALB of an explicit IngressGroup: found by the Ingress's status hostname in the data plane's host map.
    const hostname = (ingress?.status as { loadBalancer?: { ingress?: Array<{ hostname?: string }> } }).loadBalancer?.ingress?.[0]
      ?.hostname;
    const hostMap = JSON.parse(readFileSync(tb.lb.hostMapFile, 'utf8')) as Record<string, string>;
    port = Number(hostMap[hostname!]?.split(':')[1]);
    expect(port).toBeGreaterThan(0);
  }, 400_000);

  it('a token from Dex gets the prediction over verified TLS; no, expired, foreign and claim-less tokens are refused', async () => {
    const issuer = tb.tokenIssuer!;
    const good = await issuer.mintToken({ scopes: ['openid', 'groups'] });
    const ok = await infer(bearer(good.accessToken));
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body) as { outputs: Array<{ data: unknown }> }).outputs[0]!.data).toEqual([1, 1]);

    expect((await infer()).status).toBe(401);
    const expired = await issuer.mintExpiredToken({ scopes: ['openid', 'groups'] });
    expect((await infer(bearer(expired.accessToken))).status).toBe(401);
    const foreign = await issuer.mintForeignToken({ scopes: ['openid', 'groups'] });
    expect(foreign.claims.groups).toEqual(M2M_GROUPS);
    expect((await infer(bearer(foreign.accessToken))).status).toBe(401);
    const noGroups = await issuer.mintToken({ scopes: ['openid'] });
    expect(noGroups.claims.groups).toBeUndefined();
    expect((await infer(bearer(noGroups.accessToken))).status).toBe(401);
    const otherClient = await issuer.mintToken({ scopes: ['openid', 'groups'], client: 'other' });
    expect((await infer(bearer(otherClient.accessToken))).status).toBe(401);
  }, 120_000);

  it('the scheduled canary is green, then reports auth when the required claim is changed', async () => {
    const round = async (claimValues: string[]) => {
      resetClients();
      resetScheduledCanaryCaches();
      const base = request as { auth: Record<string, unknown> };
      const r = parseProvisionRequest({
        ...request,
        hostedZoneId: tb.hostedZoneId,
        auth: {
          ...base.auth,
          jwksEndpoint: tb.tokenIssuer!.client().jwksUri,
          claims: [{ name: 'groups', format: 'string-array', values: claimValues }],
        },
      });
      return captureEmf(() =>
        runScheduledCanary(
          { requests: [r] },
          {
            depsFor: (x) => scheduledCanaryDeps(loadConfig(tb.env), x, silentLogger),
            publish: (x) => publishCanaryMetrics(x),
            log: silentLogger,
            now: () => new Date(),
          },
        ),
      );
    };
    const green = await round(M2M_GROUPS);
    expect(green.result.endpoints.map((r) => [r.namespace, r.ok, r.checks?.map((c) => `${c.name}=${c.state}`)])).toEqual([
      [NS, true, ['no-token=pass', 'refused-claim=pass']],
    ]);
    expect(Object.values(endpointDocs(green.docs))[0]?.FailureKind).toBe('none');

    // The deployment now requires a group the canary's client does not have: provision that change, then a round.
    const changed = {
      ...request,
      auth: { ...(request as { auth: object }).auth, claims: [{ name: 'groups', format: 'string-array', values: ['kserve-edge:admin'] }] },
    };
    // The run's own canary may still meet the old rule (the data plane reloads after the controller's write;
    // GetLoadBalancerAddress compares certificates, not rules), so its outcome is not asserted here.
    await provisionWith(tb.env, { ...changed, deadlines: { canarySeconds: 0 } }, 'e2e-jwt-claim-changed');
    let red = await round(['kserve-edge:admin']);
    for (let i = 0; i < 20 && red.result.endpoints[0]?.ok; i++) {
      await new Promise((r) => setTimeout(r, 250));
      red = await round(['kserve-edge:admin']);
    }
    expect(red.result.endpoints.map((r) => [r.namespace, r.ok, r.failureKind, r.status])).toEqual([[NS, false, 'auth', 401]]);
    const doc = Object.values(endpointDocs(red.docs))[0];
    expect(doc?.FailureKind).toBe('auth');
  }, 400_000);
});
