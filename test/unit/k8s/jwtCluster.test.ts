/**
 * JWT mode in the cluster: the Ingress with `jwt-validation` in its own
 * IngressGroup, the migration from header tokens (transition: both accepted;
 * then the header rule and the old load balancer detached), and the Istio
 * RequestAuthentication on Kubeflow 1.9+. Through ConfigureCluster on FakeKube.
 */
import { ObjectOwnedByAnotherError, PrerequisiteMissingError } from '../../../shared/errors';
import { clearSecrets, silentLogger } from '../../../shared/log';
import {
  ANNOTATION_CONDITIONS,
  ANNOTATION_JWT_VALIDATION,
  REQUEST_AUTHENTICATION_REF,
  ingressRef,
  redactClusterPlan,
} from '../../../shared/plan/cluster';
import type { KubeObject } from '../../../shared/ports';
import { parseProvisionRequest, type ProvisionRequest } from '../../../shared/request';
import { configureCluster, planConfigureCluster } from '../../../shared/steps/configureCluster';
import { FakeAcm } from '../../fakes/FakeAcm';
import { FakeKube } from '../../fakes/FakeKube';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { ARN_A, TOKEN_1, TOKEN_2, albIngressClass, cognitoRequest, stockConfigDomain } from './fixtures';

const NOW = new Date('2024-05-01T12:00:00Z');
const ISSUER = 'https://dex.platform.example.com/dex';
const JWKS = `${ISSUER}/keys`;
const API = ingressRef('istio-ingress-api');
const JWT = ingressRef('istio-ingress-jwt');
const HEADER = ingressRef('istio-ingress-jwt-header');

/** A JWT request as ValidateRequest hands it on (endpoints filled in). */
function jwtRequest(auth: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): ProvisionRequest {
  return parseProvisionRequest({
    domain: 'platform.example.com',
    cluster: { name: 'kf', region: 'us-west-2' },
    namespaces: ['staging'],
    auth: {
      provider: 'jwt',
      issuer: ISSUER,
      jwksEndpoint: JWKS,
      claims: [{ name: 'scope', format: 'space-separated-values', values: ['kserve/invoke'] }],
      canary: { clientSecretId: 'kserve-edge/canary-client', tokenEndpoint: `${ISSUER}/token` },
      ...auth,
    },
    ...extra,
  });
}
const TRANSITION = { transition: { headerValuesSecretId: 'kserve-edge/api-tokens' } };

function cluster(ingressClass: KubeObject = albIngressClass()): FakeKube {
  return new FakeKube([
    { object: stockConfigDomain(), manager: 'kubectl-client-side-apply' },
    { object: ingressClass, manager: 'helm' },
  ]);
}

function deps(kube: FakeKube) {
  return {
    kube,
    secrets: new FakeSecrets({ 'kserve-edge/api-tokens': { headerValues: [TOKEN_1, TOKEN_2] } }),
    acm: new FakeAcm(),
    route53: new InMemoryRoute53(),
    log: silentLogger,
    now: () => NOW,
  };
}
const run = (kube: FakeKube, request: ProvisionRequest) => configureCluster({ request, certificateArns: [ARN_A] }, deps(kube));
const actionsOf = (out: Awaited<ReturnType<typeof run>>) => out.actions.map((a) => `${a.action} ${a.kind} ${a.name}`);

afterEach(() => clearSecrets());

describe('JWT mode: the Ingress', () => {
  it('writes istio-ingress-jwt with the documented annotation, in its own group, HTTPS only', async () => {
    const kube = cluster();
    const out = await run(kube, jwtRequest());
    expect(out.ingress).toEqual({ namespace: 'istio-system', name: 'istio-ingress-jwt' });
    const ing = kube.peek(JWT)!;
    expect(ing.metadata.annotations).toEqual({
      'alb.ingress.kubernetes.io/load-balancer-attributes': 'routing.http.drop_invalid_header_fields.enabled=true',
      'alb.ingress.kubernetes.io/scheme': 'internet-facing',
      'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
      'alb.ingress.kubernetes.io/target-type': 'ip',
      'alb.ingress.kubernetes.io/certificate-arn': ARN_A,
      'alb.ingress.kubernetes.io/group.name': 'kserve-edge.kserve-edge',
      'alb.ingress.kubernetes.io/group.order': '20',
      [ANNOTATION_JWT_VALIDATION]: `{"jwksEndpoint":"${JWKS}","issuer":"${ISSUER}","additionalClaims":[{"name":"scope","format":"space-separated-values","values":["kserve/invoke"]}]}`,
    });
    expect((ing as { spec?: { ingressClassName?: string } }).spec?.ingressClassName).toBe('alb');
    // No header rule, no RequestAuthentication without oauth2-proxy, nothing retired.
    expect(kube.peek(HEADER)).toBeUndefined();
    expect(kube.peek(REQUEST_AUTHENTICATION_REF)).toBeUndefined();
    expect(out.actions.find((a) => a.kind === 'RequestAuthentication')?.reason).toContain('no oauth2-proxy namespace');
    // Idempotent.
    expect(actionsOf(await run(kube, jwtRequest())).filter((a) => !a.startsWith('none'))).toEqual([]);
  });

  it('refuses before any write when no JWKS endpoint is known (ValidateRequest did not run)', async () => {
    const kube = cluster();
    const request = jwtRequest({ jwksEndpoint: undefined });
    await expect(run(kube, request)).rejects.toThrow('no JWKS endpoint');
    expect(kube.calls.filter((c) => c.startsWith('apply'))).toEqual([]);
  });
});

describe('JWT migration from header tokens', () => {
  it('transition keeps both accepted, the final run detaches the header rule and the old load balancer', async () => {
    const kube = cluster();
    await run(kube, cognitoRequest());
    const oldApi = kube.peek(API)!;

    // Transition: the header rule first (order 10), the token rule (order 20), one group = one new ALB.
    const transition = await run(kube, jwtRequest(TRANSITION));
    expect(actionsOf(transition)).toEqual([
      'none ConfigMap config-domain',
      'none AuthorizationPolicy allow-predictor',
      'none AuthorizationPolicy allow-transformer',
      'none RequestAuthentication kserve-edge-jwt',
      'apply Ingress istio-ingress-jwt-header',
      'apply Ingress istio-ingress-jwt',
      'none Ingress istio-ingress-api',
    ]);
    expect(transition.actions[6]?.reason).toContain('serves header clients until DNS has moved');
    const header = kube.peek(HEADER)!;
    const jwt = kube.peek(JWT)!;
    const group = 'alb.ingress.kubernetes.io/group.name';
    expect(header.metadata.annotations?.[group]).toBe(jwt.metadata.annotations?.[group]);
    expect(header.metadata.annotations?.['alb.ingress.kubernetes.io/group.order']).toBe('10');
    expect(header.metadata.annotations?.[ANNOTATION_CONDITIONS]).toBe(oldApi.metadata.annotations?.[ANNOTATION_CONDITIONS]);
    expect(header.metadata.annotations?.[ANNOTATION_JWT_VALIDATION]).toBeUndefined();
    // Group-wide settings agree, so the controller sees no conflict between the two members.
    for (const key of ['scheme', 'load-balancer-attributes', 'listen-ports', 'certificate-arn', 'target-type']) {
      expect(header.metadata.annotations?.[`alb.ingress.kubernetes.io/${key}`]).toBe(
        jwt.metadata.annotations?.[`alb.ingress.kubernetes.io/${key}`],
      );
    }
    // The old Ingress is untouched.
    expect(kube.peek(API)).toEqual(oldApi);
    // The step's output carries no header value.
    expect(JSON.stringify(transition)).not.toContain(TOKEN_1);

    // Final: the transition block removed.
    const final = await run(kube, jwtRequest());
    expect(actionsOf(final).filter((a) => !a.startsWith('none'))).toEqual([
      'patch Ingress istio-ingress-jwt-header',
      'patch Ingress istio-ingress-api',
    ]);
    expect(final.actions.find((a) => a.name === 'istio-ingress-jwt-header')?.reason).toContain('header tokens refused from now on');
    for (const ref of [HEADER, API]) {
      const detached = kube.peek(ref)!;
      expect((detached as { spec?: { ingressClassName?: string; rules?: unknown[] } }).spec?.ingressClassName).toBeUndefined();
      expect((detached as { spec?: { rules?: unknown[] } }).spec?.rules).toHaveLength(1);
      // Every annotation we set is gone, the header tokens with them.
      expect(detached.metadata.annotations ?? {}).toEqual({});
      expect(JSON.stringify(detached)).not.toContain(TOKEN_1);
    }
    expect(kube.peek(JWT)!.metadata.annotations?.[ANNOTATION_JWT_VALIDATION]).toContain(ISSUER);
    // Nothing deleted: the workflow has no delete permission.
    expect(kube.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
    // Rerun: detached already.
    const again = await run(kube, jwtRequest());
    expect(actionsOf(again).filter((a) => !a.startsWith('none'))).toEqual([]);
    expect(again.actions.find((a) => a.name === 'istio-ingress-api')?.reason).toContain('detached already');
  });

  it('the plan of the transition redacts the header values', async () => {
    const kube = cluster();
    const { plan } = await planConfigureCluster({ request: jwtRequest(TRANSITION), certificateArns: [ARN_A] }, deps(kube));
    const raw = JSON.stringify(plan);
    expect(raw).toContain(TOKEN_1);
    expect(JSON.stringify(redactClusterPlan(plan))).not.toContain(TOKEN_1);
  });

  it('refuses to end the transition while a foreign Ingress holds the header name in our group', async () => {
    const kube = cluster();
    kube.seed({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'istio-ingress-jwt-header', namespace: 'istio-system' },
      spec: { ingressClassName: 'alb', rules: [] },
    });
    await expect(run(kube, jwtRequest())).rejects.toThrow(ObjectOwnedByAnotherError);
  });

  it('leaves an Ingress on the default IngressClass for a human to delete (no class would still mean alb)', async () => {
    const defaultClass = albIngressClass();
    defaultClass.metadata.annotations = { 'ingressclass.kubernetes.io/is-default-class': 'true' };
    const kube = cluster(defaultClass);
    await run(kube, jwtRequest(TRANSITION));
    const final = await run(kube, jwtRequest());
    const step = final.actions.find((a) => a.name === 'istio-ingress-jwt-header');
    expect(step?.action).toBe('none');
    expect(step?.reason).toContain('kubectl delete ingress -n istio-system istio-ingress-jwt-header');
  });
});

describe('JWT mode: Istio RequestAuthentication (Kubeflow 1.9+)', () => {
  const oauth2ProxyNs: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'oauth2-proxy' } };

  it('auto: writes ours for the issuer when oauth2-proxy is installed', async () => {
    const kube = cluster();
    kube.seed(oauth2ProxyNs);
    const out = await run(kube, jwtRequest());
    expect(out.actions.find((a) => a.kind === 'RequestAuthentication')).toMatchObject({ action: 'apply', name: 'kserve-edge-jwt' });
    expect(kube.peek(REQUEST_AUTHENTICATION_REF)).toMatchObject({
      metadata: { labels: { 'app.kubernetes.io/managed-by': 'kserve-edge' } },
      spec: {
        selector: { matchLabels: { app: 'istio-ingressgateway' } },
        jwtRules: [{ issuer: ISSUER, jwksUri: JWKS, forwardOriginalToken: true }],
      },
    });
    expect((await run(kube, jwtRequest())).actions.find((a) => a.kind === 'RequestAuthentication')?.action).toBe('none');
  });

  it('apply: refuses a foreign one with another spec unless adopt', async () => {
    const kube = cluster();
    kube.seed({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'RequestAuthentication',
      metadata: { name: 'kserve-edge-jwt', namespace: 'istio-system' },
      spec: { jwtRules: [{ issuer: 'https://other.example.com' }] },
    });
    await expect(run(kube, jwtRequest({ istioRequestAuthentication: 'apply' }))).rejects.toThrow(ObjectOwnedByAnotherError);
    const out = await run(kube, jwtRequest({ istioRequestAuthentication: 'apply' }, { adopt: true }));
    expect(out.actions.find((a) => a.kind === 'RequestAuthentication')?.reason).toContain('adopt');
  });

  it('verify: passes with any RequestAuthentication naming the issuer, refuses without one', async () => {
    const kube = cluster();
    await expect(run(kube, jwtRequest({ istioRequestAuthentication: 'verify' }))).rejects.toThrow(PrerequisiteMissingError);
    kube.seed({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'RequestAuthentication',
      metadata: { name: 'dex-jwt', namespace: 'istio-system' },
      spec: { jwtRules: [{ issuer: ISSUER }] },
    });
    const out = await run(kube, jwtRequest({ istioRequestAuthentication: 'verify' }));
    expect(out.actions.find((a) => a.kind === 'RequestAuthentication')).toMatchObject({ action: 'none', name: 'dex-jwt' });
    expect(kube.peek(REQUEST_AUTHENTICATION_REF)).toBeUndefined();
  });
});
