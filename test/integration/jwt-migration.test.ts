/**
 * End to end, the migration from header tokens to JWT (issue 12) without a
 * failed request: a provisioned Cognito (header-token) deployment is moved to
 * JWT mode by a transition run (`auth.transition`: the new load balancer
 * takes both, DNS moves to it, the old one keeps taking header tokens) and a
 * final run (the header rule and the old load balancer detached), while a
 * loop probes the way clients do (DNS through Route 53, verified TLS):
 *
 * - the header client, from before the transition until the final run starts: every probe 200;
 * - the token client, from the end of the transition run to the end: every probe 200;
 * - after the final run the header client is refused: the header rule is gone.
 *
 * The scheduled canary runs at each phase with the request of that phase and is green.
 */
import { Route53Adapter } from '../../shared/aws/route53';
import { httpsRequest } from '../../shared/canary/http';
import { resolverFor } from '../../shared/canary/resolver';
import { silentLogger } from '../../shared/log';
import { IRIS_INPUT, parseProvisionRequest } from '../../shared/request';
import { runScheduledCanary } from '../../shared/steps/runScheduledCanary';
import { resetScheduledCanaryCaches, scheduledCanaryDeps } from '../../wiring/canary';
import { resetClients, route53Client } from '../../wiring/clients';
import { loadConfig } from '../../wiring/config';
import { M2M_GROUPS } from '../../testbed/token-issuer';
import type { Testbed } from '../../testbed/testbed';
import { startJwtTestbed } from './harness';
import { provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NS = 'staging';
const URL = `https://sklearn-irisv2.${NS}.${DOMAIN}/v2/models/sklearn-irisv2/infer`;
const CLIENT_SECRET_ID = 'kserve-edge/canary-client';

interface Probe {
  client: 'header' | 'token';
  phase: string;
  at: number;
  status?: number;
  error?: string;
}

describe('migration from header tokens to JWT without a failed request', () => {
  let tb: Testbed;
  const savedEnv = { ...process.env };
  let phase = 'cognito';
  const probes: Probe[] = [];
  let probing = { header: true, token: false };
  let stop = false;
  let loop: Promise<void> | undefined;

  beforeAll(async () => {
    tb = await startJwtTestbed({ domain: DOMAIN, namespace: NS, region: REGION, clientSecretId: CLIENT_SECRET_ID });
  }, 300_000);

  afterAll(async () => {
    stop = true;
    await loop;
    process.env = savedEnv;
    await tb?.stop();
  }, 60_000);

  const cognito = () => ({
    domain: DOMAIN,
    cluster: { name: 'kubeflow', region: REGION },
    namespaces: [NS],
    auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
    canary: { expected: { outputName: 'predict', data: [1, 1] } },
  });
  const jwt = (transition: boolean) => ({
    ...cognito(),
    auth: {
      provider: 'jwt',
      issuer: tb.tokenIssuer!.client().issuer,
      claims: [{ name: 'groups', format: 'string-array', values: M2M_GROUPS }],
      canary: { clientSecretId: CLIENT_SECRET_ID, scope: 'openid groups', refusedScope: 'openid' },
      ...(transition ? { transition: { headerValuesSecretId: tb.secrets.apiTokensSecretId } } : {}),
    },
  });

  /** One scheduled-canary round with the request of the phase. */
  async function canaryRound(raw: Record<string, unknown>, auth: Record<string, unknown> = {}) {
    resetClients();
    resetScheduledCanaryCaches();
    const request = parseProvisionRequest({ ...raw, hostedZoneId: tb.hostedZoneId, auth: { ...(raw.auth as object), ...auth } });
    return runScheduledCanary(
      { requests: [request] },
      {
        depsFor: (r) => scheduledCanaryDeps(loadConfig(tb.env), r, silentLogger),
        publish: () => undefined,
        log: silentLogger,
        now: () => new Date(),
      },
    );
  }

  /** Probes both clients as a client would: the name through Route 53 (as it is now), TLS verified. */
  function startLoop(): Promise<void> {
    const config = loadConfig(tb.env);
    // A resolver reads the zone once (one canary run): a fresh one per probe sees DNS as it is now.
    const route53 = new Route53Adapter(route53Client(config));
    const resolverNow = () => resolverFor(config.canary.dns, { route53, zoneId: tb.hostedZoneId });
    const issuer = tb.tokenIssuer!;
    let token = '';
    let tokenAt = 0;
    const once = async (client: 'header' | 'token'): Promise<void> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (client === 'header') headers['x-api-key'] = tb.secrets.apiTokens[0]!;
      else {
        if (token === '' || Date.now() - tokenAt > 60_000) {
          token = (await issuer.mintToken({ scopes: ['openid', 'groups'] })).accessToken;
          tokenAt = Date.now();
        }
        headers.authorization = `Bearer ${token}`;
      }
      const p: Probe = { client, phase, at: Date.now() };
      try {
        const res = await httpsRequest({
          url: URL,
          method: 'POST',
          headers,
          body: JSON.stringify(IRIS_INPUT),
          resolver: resolverNow(),
          extraCa: tb.caPem,
          timeoutMs: 5000,
        });
        p.status = res.status;
      } catch (err) {
        p.error = err instanceof Error ? err.message : String(err);
      }
      probes.push(p);
    };
    return (async () => {
      while (!stop) {
        const round: Array<Promise<void>> = [];
        if (probing.header) round.push(once('header'));
        if (probing.token) round.push(once('token'));
        await Promise.all(round);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  const failed = (client: Probe['client'], phases: string[]) =>
    probes.filter((p) => p.client === client && phases.includes(p.phase) && p.status !== 200);

  it('header deployment provisioned; the loop sees the header client served', async () => {
    const run = await provisionWith(tb.env, cognito(), 'e2e-migrate-cognito');
    if (run.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(run.error)}`);
    loop = startLoop();
    await new Promise((r) => setTimeout(r, 1500));
    expect(probes.filter((p) => p.client === 'header' && p.status === 200).length).toBeGreaterThan(0);
  }, 400_000);

  it('transition run: both accepted on the new load balancer, DNS moved, no failed header probe', async () => {
    phase = 'transition';
    const run = await provisionWith(tb.env, jwt(true), 'e2e-migrate-transition');
    if (run.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(run.error)}`);
    const out = run.output as { canary: { namespaces: Array<{ checks: Array<{ name: string; state: string }> }> } };
    expect(out.canary.namespaces[0]!.checks.map((c) => `${c.name}=${c.state}`)).toEqual([
      'no-token=pass',
      'refused-claim=pass',
      'header=pass',
    ]);
    phase = 'both';
    probing = { header: true, token: true };
    await new Promise((r) => setTimeout(r, 3000));
    const canary = await canaryRound(jwt(true), { jwksEndpoint: tb.tokenIssuer!.client().jwksUri });
    expect(canary.endpoints.map((e) => [e.ok, e.checks?.map((c) => `${c.name}=${c.state}`)])).toEqual([
      [true, ['no-token=pass', 'refused-claim=pass', 'header=pass']],
    ]);
    expect(failed('header', ['cognito', 'transition', 'both'])).toEqual([]);
    expect(failed('token', ['both'])).toEqual([]);
    expect(probes.filter((p) => p.phase === 'both' && p.client === 'token').length).toBeGreaterThan(0);
  }, 400_000);

  it('final run: the header rule and the old load balancer go, token clients never fail', async () => {
    phase = 'final';
    probing = { header: false, token: true };
    const run = await provisionWith(tb.env, jwt(false), 'e2e-migrate-final');
    if (run.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(run.error)}`);
    const kube = tb.kubeAdmin();
    for (const name of ['istio-ingress-jwt-header', 'istio-ingress-api']) {
      const ing = await kube.get('networking.k8s.io/v1', 'Ingress', 'istio-system', name);
      expect((ing?.spec as { ingressClassName?: string }).ingressClassName).toBeUndefined();
      expect(JSON.stringify(ing)).not.toContain(tb.secrets.apiTokens[0]!);
    }
    phase = 'after';
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await loop;
    expect(failed('token', ['both', 'final', 'after'])).toEqual([]);
    const canary = await canaryRound(jwt(false), { jwksEndpoint: tb.tokenIssuer!.client().jwksUri });
    expect(canary.ok).toBe(true);
    console.log(
      `migration probes: ${probes.length} (header ${probes.filter((p) => p.client === 'header').length}, token ${probes.filter((p) => p.client === 'token').length}), failed 0`,
    );
  }, 400_000);

  it('after the final run the header client is refused (the controller took the header rule off the ALB)', async () => {
    // The controller removes the rule and renumbers the token rule in one SetRulePriorities call
    // (a swap that ELBv2 applies atomically); nginx reloads gracefully: allow the removal to show.
    const config = loadConfig(tb.env);
    const route53 = new Route53Adapter(route53Client(config));
    let status = 0;
    for (let i = 0; i < 40 && status !== 401; i++) {
      const res = await httpsRequest({
        url: URL,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': tb.secrets.apiTokens[0]! },
        body: JSON.stringify(IRIS_INPUT),
        resolver: resolverFor(config.canary.dns, { route53, zoneId: tb.hostedZoneId }),
        extraCa: tb.caPem,
        timeoutMs: 5000,
      });
      status = res.status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(401);
  }, 400_000);
});
