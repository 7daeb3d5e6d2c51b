/**
 * The testbed's pieces for ALB JWT verification (issue 12), proven without
 * the product code, with the REAL AWS Load Balancer Controller:
 *  - Dex (master) issues client_credentials tokens from its real token endpoint;
 *  - an Ingress with the `alb.ingress.kubernetes.io/jwt-validation` annotation
 *    (written as the controller's docs/guide/ingress/annotations.md "Token
 *    Validation" shows) becomes a listener rule with a `jwt-validation`
 *    action, which the AWS proxy keeps for moto and answers as ELBv2 does, so
 *    the controller sees no drift;
 *  - the data plane (nginx + njs WebCrypto) verifies like the ALB: a valid
 *    token reaches the model, no token, an expired one, one of another issuer
 *    and one missing a required claim get 401;
 *  - on an HTTP listener the controller leaves the action out (no refusal).
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { httpsRequest } from '../../testbed/client';
import { child, members, text, type XmlNode } from '../../testbed/lib/aws-query';
import type { KubeClient, KubeObject } from '../../testbed/lib/kube';
import { waitFor } from '../../testbed/lib/net';
import { MODEL_NAME, startTestbed, type Testbed } from '../../testbed/testbed';
import { FORWARD_TO_GATEWAY, gatewayRules } from '../../testbed/cluster';
import {
  albArnFor,
  applyGuidePolicyAndDomain,
  elbv2,
  ingressHostname,
  realLbcOptions,
  requestCertificates,
  waitIssued,
  upsertCname,
} from './harness';
import { M2M_CLIENT_ID, M2M_GROUPS, M2M_OTHER_CLIENT_ID, type TokenIssuer } from '../../testbed/token-issuer';

jest.setTimeout(300_000);

const DOMAIN = 'platform.example.com';
const NS = 'staging';
const INGRESS = 'istio-ingress-api';
const REF = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'istio-system', name: INGRESS };
const JWT_ANNOTATION = 'alb.ingress.kubernetes.io/jwt-validation';

let tb: Testbed;
let kube: KubeClient;
let issuer: TokenIssuer;

/** The annotation as the controller documents it: jwksEndpoint, issuer, additionalClaims[{name, format, values}]. */
function jwtAnnotation(groups: string[]): string {
  const c = issuer.client();
  return JSON.stringify({
    jwksEndpoint: c.jwksUri,
    issuer: c.issuer,
    additionalClaims: [
      { name: 'groups', format: 'string-array', values: groups },
      { name: 'aud', format: 'single-string', values: [M2M_CLIENT_ID] },
    ],
  });
}

function ingress(name: string, listenPorts: string, annotations: Record<string, string>): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: 'istio-system',
      annotations: {
        'alb.ingress.kubernetes.io/scheme': 'internet-facing',
        'alb.ingress.kubernetes.io/listen-ports': listenPorts,
        'alb.ingress.kubernetes.io/target-type': 'ip',
        'alb.ingress.kubernetes.io/actions.istio-ingressgateway': FORWARD_TO_GATEWAY,
        ...annotations,
      },
    },
    spec: {
      ingressClassName: 'alb',
      rules: gatewayRules(),
    },
  };
}

/** The non-default rules of the (only) listener of the ALB named `hostname`. */
async function rulesOf(hostname: string): Promise<XmlNode[]> {
  const listener = members(child(await elbv2(tb, 'DescribeListeners', { LoadBalancerArn: await albArnFor(tb, hostname) }), 'Listeners'))[0];
  return members(child(await elbv2(tb, 'DescribeRules', { ListenerArn: text(listener, 'ListenerArn') }), 'Rules')).filter(
    (r) => text(r, 'IsDefault') !== 'true',
  );
}

beforeAll(async () => {
  tb = await startTestbed(realLbcOptions(DOMAIN, NS, { tokenIssuer: true }));
  kube = tb.kubeAdmin();
  issuer = tb.tokenIssuer!;
});

afterAll(async () => {
  await tb?.stop();
});

describe('machine tokens and the ALB JWT check on the testbed', () => {
  let hostname = '';
  const url = `https://${MODEL_NAME}.${NS}.${DOMAIN}/v2/models/${MODEL_NAME}/ready`;

  test('Dex issues client_credentials tokens: RS256, JWKS at <issuer>/keys, the claims the README lists', async () => {
    const c = issuer.client();
    expect(c).toEqual({
      tokenEndpoint: `${issuer.issuer}/token`,
      clientId: M2M_CLIENT_ID,
      clientSecret: expect.stringMatching(/^.{32}$/),
      issuer: issuer.issuer,
      jwksUri: `${issuer.issuer}/keys`,
    });
    expect(issuer.issuer).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/dex$/);
    const t = await issuer.mintToken();
    const header = JSON.parse(Buffer.from(t.accessToken.split('.')[0]!, 'base64url').toString('utf8')) as { alg: string; kid: string };
    expect(header.alg).toBe('RS256');
    const { httpRequest } = await import('../../testbed/lib/net');
    const jwks = JSON.parse((await httpRequest(c.jwksUri, { ca: tb.caPem })).body) as {
      keys: Array<{ kid: string; kty: string; alg: string }>;
    };
    expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
    expect(t.claims).toEqual({
      iss: c.issuer,
      sub: expect.any(String),
      aud: M2M_CLIENT_ID,
      exp: expect.any(Number),
      iat: expect.any(Number),
      jti: expect.any(String),
      at_hash: expect.any(String),
      groups: M2M_GROUPS,
      name: 'kserve-edge canary',
      preferred_username: 'kserve-edge canary',
    });
    expect(Number(t.claims.exp) - Number(t.claims.iat)).toBe(24 * 3600);
    expect(t.expiresIn).toBeGreaterThan(24 * 3600 - 5);
    // A wrong secret is refused by the real token endpoint.
    const { clientCredentialsToken } = await import('../../testbed/token-issuer');
    await expect(clientCredentialsToken({ ...c, clientSecret: 'wrong' }, tb.caPem)).rejects.toThrow(/answered 401/);
  });

  test('the real controller writes a jwt-validation action; ELBv2 (the proxy) holds it with no drift', async () => {
    const [arn] = (await requestCertificates(tb, [`*.${NS}.${DOMAIN}`])) as [string];
    await waitIssued(tb, [arn]);
    await applyGuidePolicyAndDomain(kube, DOMAIN);
    await kube.apply(
      ingress(INGRESS, '[{"HTTPS":443}]', {
        'alb.ingress.kubernetes.io/certificate-arn': arn,
        [JWT_ANNOTATION]: jwtAnnotation(M2M_GROUPS),
      }),
      { fieldManager: 'kubectl', force: true },
    );
    hostname = await waitFor(() => ingressHostname(kube, INGRESS), { what: 'Ingress status hostname', timeoutMs: 60_000, intervalMs: 100 });

    const rules = await rulesOf(hostname);
    expect(rules).toHaveLength(1);
    const actions = members(child(rules[0], 'Actions'));
    expect(actions.map((a) => `${text(a, 'Order')}:${text(a, 'Type')}`)).toEqual(['1:jwt-validation', '2:forward']);
    const cfg = child(actions[0], 'JwtValidationConfig');
    expect(text(cfg, 'Issuer')).toBe(issuer.issuer);
    expect(text(cfg, 'JwksEndpoint')).toBe(`${issuer.issuer}/keys`);
    expect(members(child(cfg, 'AdditionalClaims')).map((c) => [text(c, 'Name'), text(c, 'Format'), members(child(c, 'Values'))])).toEqual([
      ['groups', 'string-array', M2M_GROUPS],
      ['aud', 'single-string', [M2M_CLIENT_ID]],
    ]);

    // No drift: a reconcile of the unchanged Ingress writes nothing to ELBv2.
    const writes = () => {
      const r = tb.lb.awsProxy!.stats().requests;
      return ['ModifyRule', 'CreateRule', 'DeleteRule', 'ModifyListener'].map((op) => r[`elasticloadbalancing:${op}`] ?? 0);
    };
    const before = writes();
    const log = () => readFileSync(tb.lb.real!.logFile, 'utf8');
    const reconciled = () => (log().match(/successfully deployed model/g) ?? []).length;
    const deployed = reconciled();
    // Any annotation change makes the controller reconcile (its Ingress event handler compares annotations and spec).
    await kube.mergePatch(REF, { metadata: { annotations: { 'kserve-edge.test/touch': '1' } } });
    await waitFor(async () => reconciled() > deployed, { what: 'a second reconcile of the Ingress', timeoutMs: 60_000, intervalMs: 200 });
    expect(writes()).toEqual(before);
    expect(log()).not.toMatch(/modifying listener rule/i);
  });

  test('the data plane verifies like the ALB: a valid token gets the model, the others 401 (verified TLS)', async () => {
    await tb.lb.waitForAlb('istio-system', INGRESS, 30_000);
    await upsertCname(tb, `*.${NS}.${DOMAIN}`, hostname);
    const call = (token?: string) => httpsRequest(tb, url, token ? { headers: { authorization: `Bearer ${token}` } } : {});

    const good = await issuer.mintToken();
    const ok = await call(good.accessToken);
    expect(ok.status).toBe(200);
    expect(ok.peerCertificateNames).toEqual([`*.${NS}.${DOMAIN}`]);
    // The ID token of the same grant carries the same claims: it passes too.
    expect((await call(good.idToken)).status).toBe(200);
    // Inference through the check: the request body reaches the model.
    const infer = await httpsRequest(tb, `https://${MODEL_NAME}.${NS}.${DOMAIN}/v2/models/${MODEL_NAME}/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${good.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input-0', shape: [1, 4], datatype: 'FP32', data: [[6.8, 2.8, 4.8, 1.4]] }] }),
    });
    expect(infer.status).toBe(200);
    expect((JSON.parse(infer.body) as { outputs: Array<{ data: number[] }> }).outputs[0]!.data).toEqual([1]);

    const none = await call();
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');

    const refusedWith = async (token: string) => {
      const r = await call(token);
      return [r.status, r.headers['www-authenticate']];
    };
    const refused = [401, 'Bearer error="invalid_token"'];
    // Expired: a genuine token of this issuer (same keys), waited past its exp.
    const expired = await issuer.mintExpiredToken();
    expect(expired.claims.iss).toBe(issuer.issuer);
    expect(await refusedWith(expired.accessToken)).toEqual(refused);
    // Another issuer, with its own keys.
    const foreign = await issuer.mintForeignToken();
    expect(foreign.issuer).not.toBe(issuer.issuer);
    expect(await refusedWith(foreign.accessToken)).toEqual(refused);
    // The right issuer but without the required claim (no `groups` scope → no groups claim).
    const noGroups = await issuer.mintToken({ scopes: ['openid'] });
    expect(noGroups.claims.groups).toBeUndefined();
    expect(await refusedWith(noGroups.accessToken)).toEqual(refused);
    // Another client: its groups and its aud differ.
    const other = await issuer.mintToken({ client: 'other' });
    expect(other.claims.aud).toBe(M2M_OTHER_CLIENT_ID);
    expect(await refusedWith(other.accessToken)).toEqual(refused);
    // A forged signature (payload of a good token, signature of another).
    const [h, p] = good.accessToken.split('.');
    expect(await refusedWith(`${h}.${p}.${noGroups.accessToken.split('.')[2]}`)).toEqual(refused);
    // The good token still passes after all that (nothing cached wrongly).
    expect((await call(good.accessToken)).status).toBe(200);
  });

  test('changing the required claim in the annotation reaches the data plane', async () => {
    await kube.mergePatch(REF, { metadata: { annotations: { [JWT_ANNOTATION]: jwtAnnotation(['kserve-edge:other']) } } });
    const good = await issuer.mintToken();
    await waitFor(async () => (await httpsRequest(tb, url, { headers: { authorization: `Bearer ${good.accessToken}` } })).status === 401, {
      what: 'the canary client refused after the claim changed',
      timeoutMs: 60_000,
      intervalMs: 300,
    });
    const rules = await rulesOf(hostname);
    const cfg = child(members(child(rules[0], 'Actions'))[0], 'JwtValidationConfig');
    expect(members(child(members(child(cfg, 'AdditionalClaims'))[0], 'Values'))).toEqual(['kserve-edge:other']);
  });

  test('on an HTTP listener the controller leaves the jwt-validation action out, without refusing', async () => {
    await kube.apply(ingress('istio-ingress-http', '[{"HTTP":80}]', { [JWT_ANNOTATION]: jwtAnnotation(M2M_GROUPS) }), {
      fieldManager: 'kubectl',
      force: true,
    });
    const http = await waitFor(() => ingressHostname(kube, 'istio-ingress-http'), {
      what: 'HTTP Ingress hostname',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const rules = await rulesOf(http);
    expect(rules).toHaveLength(1);
    // pkg/ingress/model_build_actions.go buildActions: auth and jwt-validation only when the listener protocol is HTTPS.
    expect(members(child(rules[0], 'Actions')).map((a) => text(a, 'Type'))).toEqual(['forward']);
  });
});
