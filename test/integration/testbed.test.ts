/**
 * The testbed's stand-ins behave like the real things, proven WITHOUT the
 * product code: what the guide does by hand (certificate, Ingress with the
 * rendered overlay, AuthorizationPolicy, config-domain, CNAME) is done here
 * directly, and the ALB / gateway / model / login answer as on AWS.
 */
import { DescribeCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dexLogin, httpsRequest, resolveHost } from '../../testbed/client';
import { isAlive } from '../../testbed/lib/proc';
import { KubeApiError, type KubeClient, type KubeObject } from '../../testbed/lib/kube';
import { MODEL_NAME, OAUTH2_PROXY_COOKIE, startTestbed, TESTBED_ENV_KEYS, type Testbed } from '../../testbed/testbed';
import { FORWARD_TO_GATEWAY, gatewayRules } from '../../testbed/cluster';
import { upsertCname } from './harness';

jest.setTimeout(240_000);

const DOMAIN = 'platform.example.com';
const NS = 'staging';
const MODEL_HOST = `${MODEL_NAME}.${NS}.${DOMAIN}`;
const INFER_URL = `https://${MODEL_HOST}/v2/models/${MODEL_NAME}/infer`;
const IRIS_INPUT = JSON.stringify({
  inputs: [
    {
      name: 'input-0',
      shape: [2, 4],
      datatype: 'FP32',
      data: [
        [6.8, 2.8, 4.8, 1.4],
        [6.0, 3.4, 4.5, 1.6],
      ],
    },
  ],
});

const ALLOW_PATHS = ['/metrics', '/healthz', '/ready', '/wait-for-drain', '/v1/models/*', '/v2/models/*'];
function authorizationPolicy(name: 'allow-predictor' | 'allow-transformer'): KubeObject {
  return {
    apiVersion: 'security.istio.io/v1beta1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: 'istio-system' },
    spec: {
      selector: { matchLabels: { component: name === 'allow-predictor' ? 'predictor' : 'transformer' } },
      action: 'ALLOW',
      rules: [{ to: [{ operation: { paths: ALLOW_PATHS } }] }],
    },
  };
}

/** Requests a certificate in moto ACM and waits (bounded) until it is ISSUED. */
async function issuedCertificate(tb: Testbed, names: string[]): Promise<string> {
  const out = await tb.aws.acm.send(
    new RequestCertificateCommand({ DomainName: names[0]!, SubjectAlternativeNames: names.slice(1), ValidationMethod: 'DNS' }),
  );
  const arn = out.CertificateArn!;
  for (let i = 0; i < 100; i++) {
    const d = await tb.aws.acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
    if (d.Certificate?.Status === 'ISSUED') return arn;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`certificate ${arn} not ISSUED after 20 s`);
}

/** The guide's step: config-domain gets the domain and loses `_example` (kubectl patch ... null). */
async function setConfigDomain(kube: KubeClient): Promise<void> {
  await kube.mergePatch(
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'knative-serving', name: 'config-domain' },
    { data: { [DOMAIN]: '', _example: null } },
  );
}

/** The sample model's inference (POST of the iris input as JSON) with `headers` besides the content type. */
function infer(tb: Testbed, headers: Record<string, string>) {
  return httpsRequest(tb, INFER_URL, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: IRIS_INPUT });
}

function expectV2Body(body: string): void {
  const parsed = JSON.parse(body) as { model_name: string; outputs: Array<{ name: string; data: number[] }> };
  expect(parsed.model_name).toBe(MODEL_NAME);
  expect(parsed.outputs[0]?.name).toBe('predict');
  expect(parsed.outputs[0]?.data).toEqual([1, 1]);
}

const ALB_HOSTNAME = /^k8s-[a-z0-9-]{1,8}-[a-z0-9-]{1,8}-[0-9a-f]{10}-\d{10}\.us-west-2\.elb\.amazonaws\.com$/;

/**
 * Starts the testbed with the stand-in load balancer controller before the
 * describe block's tests (handing it and the pids of its processes to `use`),
 * and stops it after them, checking that every process it started is gone
 * (group members included).
 */
function standInTestbed(authProvider: 'cognito' | 'dex', use: (tb: Testbed, pidsWhileRunning: number[]) => void): void {
  let tb: Testbed | undefined;
  let pidsWhileRunning: number[] = [];

  beforeAll(async () => {
    tb = await startTestbed({
      authProvider,
      domain: DOMAIN,
      namespaces: [NS],
      clusterName: 'kubeflow',
      region: 'us-west-2',
      lbDelayMs: 500,
      // This suite proves the stand-in; lb-controller-real.test.ts the real controller.
      lbController: 'stand-in',
    });
    pidsWhileRunning = tb.pids();
    use(tb, pidsWhileRunning);
  });

  afterAll(async () => {
    if (!tb) return;
    await tb.stop();
    expect(tb.pids()).toEqual([]);
    for (const pid of pidsWhileRunning) expect(isAlive(pid)).toBe(false);
  });
}

describe('testbed, Cognito variant (istio-ingress-api with the header condition)', () => {
  let tb: Testbed;
  let token: string;
  let pidsWhileRunning: number[] = [];
  standInTestbed('cognito', (started, pids) => {
    tb = started;
    pidsWhileRunning = pids;
  });

  test('env names everything the product needs', () => {
    expect(Object.keys(tb.env).sort()).toEqual([...TESTBED_ENV_KEYS].sort());
    expect(tb.env.KSERVE_EDGE_DNS_MODE).toBe('route53');
    expect(tb.env.KSERVE_EDGE_CLUSTER_ENDPOINT).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(tb.env.KSERVE_EDGE_HOSTED_ZONE_ID).toMatch(/^Z[A-Z0-9]+$/);
    expect(readFileSync(tb.env.KSERVE_EDGE_EXTRA_CA_FILE!, 'utf8')).toBe(tb.caPem);
    expect(pidsWhileRunning.length).toBeGreaterThanOrEqual(5); // moto, etcd, apiserver, mlserver, nginx (+ workers)
  });

  test('seeded: secrets, Knative config-domain with only _example, the sample InferenceService', async () => {
    const secret = await tb.aws.secretsManager.send(new GetSecretValueCommand({ SecretId: tb.secrets.apiTokensSecretId }));
    const values = (JSON.parse(secret.SecretString!) as { headerValues: string[] }).headerValues;
    expect(values).toHaveLength(1);
    expect(values[0]).toMatch(/^[A-Za-z0-9]{32}$/);
    token = values[0]!;
    const cm = await tb.kubeAdmin().get('v1', 'ConfigMap', 'knative-serving', 'config-domain');
    expect(Object.keys((cm?.data ?? {}) as object)).toEqual(['_example']);
    const isvc = await tb.kubeAdmin().get('serving.kserve.io/v1beta1', 'InferenceService', NS, MODEL_NAME);
    expect((isvc?.spec as { predictor: { sklearn: { protocolVersion: string } } }).predictor.sklearn.protocolVersion).toBe('v2');
    const ns = await tb.kubeAdmin().get('v1', 'Namespace', undefined, NS);
    expect(ns?.metadata.labels?.['app.kubernetes.io/part-of']).toBe('kubeflow-profile');
  });

  test('the workflow user is not an admin: it cannot read secrets in kube-system', async () => {
    const res = await tb.kubeWorkflow().request('GET', '/api/v1/namespaces/kube-system/secrets');
    expect(res.status).toBe(403);
    const admin = await tb.kubeAdmin().request('GET', '/api/v1/namespaces/kube-system/secrets');
    expect(admin.status).toBe(200);
  });

  test('guide by hand: ISSUED cert + api overlay Ingress + policy + config-domain + CNAME → HTTPS inference with the header', async () => {
    const arn = await issuedCertificate(tb, [`*.${DOMAIN}`, `*.${NS}.${DOMAIN}`]);
    const kube = tb.kubeAdmin();
    await kube.apply(authorizationPolicy('allow-predictor'), { fieldManager: 'kubectl', force: true });
    await kube.apply(authorizationPolicy('allow-transformer'), { fieldManager: 'kubectl', force: true });
    await setConfigDomain(kube);
    // The rendered api overlay (kubeflow-manifests `awsconfigs/common/istio-ingress/overlays/api`), with our certificate and token.
    await kube.apply(
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: {
          name: 'istio-ingress-api',
          namespace: 'istio-system',
          labels: { 'kustomize.component': 'istio-ingress' },
          annotations: {
            'alb.ingress.kubernetes.io/actions.istio-ingressgateway': FORWARD_TO_GATEWAY,
            'alb.ingress.kubernetes.io/certificate-arn': arn,
            'alb.ingress.kubernetes.io/conditions.istio-ingressgateway': `[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName": "x-api-key", "Values":["${token}"]}}]`,
            'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
            'alb.ingress.kubernetes.io/load-balancer-attributes': 'routing.http.drop_invalid_header_fields.enabled=true',
            'alb.ingress.kubernetes.io/scheme': 'internet-facing',
            'alb.ingress.kubernetes.io/target-type': 'ip',
            'kubernetes.io/ingress.class': 'alb',
          },
        },
        spec: {
          rules: gatewayRules(),
        },
      },
      { fieldManager: 'kubectl', force: true },
    );

    const alb = await tb.lb.waitForAlb('istio-system', 'istio-ingress-api', 20_000);
    expect(alb.hostname).toMatch(ALB_HOSTNAME);
    expect(alb.hostname.startsWith('k8s-istiosys-istioing-')).toBe(true);
    const ing = await kube.get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api');
    expect((ing?.status as { loadBalancer: { ingress: Array<{ hostname: string }> } }).loadBalancer.ingress[0]?.hostname).toBe(
      alb.hostname,
    );
    expect(ing?.metadata.finalizers).toContain('ingress.k8s.aws/resources');

    await upsertCname(tb, `*.${NS}.${DOMAIN}`, alb.hostname);
    const resolved = await resolveHost(tb, MODEL_HOST);
    expect(resolved.chain).toEqual([MODEL_HOST, alb.hostname]);
    expect(resolved.address).toBe('127.0.0.1');

    const ok = await infer(tb, { 'x-api-key': token });
    expect(ok.status).toBe(200);
    expectV2Body(ok.body);
    expect(ok.peerCertificateNames.sort()).toEqual([`*.${DOMAIN}`, `*.${NS}.${DOMAIN}`].sort());

    // ALB header conditions compare case-insensitively.
    const upper = await infer(tb, { 'x-api-key': token.toUpperCase() });
    expect(upper.status).toBe(200);
  });

  test('no header, or a wrong one: the ALB default action, 404 text/plain', async () => {
    for (const headers of [{}, { 'x-api-key': 'not-the-token' }, { 'x-api-key': `${token}x` }] as Array<Record<string, string>>) {
      const res = await infer(tb, headers);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
    }
  });

  test('TLS is really verified: other CA, or a name not on the certificate, fail', async () => {
    const otherCa = tb.clusterCaPem; // a valid CA, just not the one that signed the ALB certificate
    await expect(
      httpsRequest(tb, INFER_URL, { method: 'POST', ca: otherCa, headers: { 'x-api-key': token }, body: IRIS_INPUT }),
    ).rejects.toThrow(/certificate|self.signed|issuer/i);
    // SNI for a name that is not on any certificate: the default certificate comes back and fails the name check.
    const foreign = `sklearn-irisv2.${NS}.${DOMAIN}.evil.test`;
    await expect(
      (async () => {
        const r = await resolveHost(tb, MODEL_HOST);
        const tls = await import('node:tls');
        await new Promise<void>((resolve, reject) => {
          const s = tls.connect({ host: r.address, port: r.port, servername: foreign, ca: tb.caPem }, () => {
            s.end();
            resolve();
          });
          s.on('error', reject);
        });
      })(),
    ).rejects.toThrow(/altnames|Hostname\/IP does not match/i);
  });

  test('without the allow-predictor AuthorizationPolicy: 403 RBAC: access denied (kserve#1558); back with it', async () => {
    const kube = tb.kubeAdmin();
    await kube.delete({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      namespace: 'istio-system',
      name: 'allow-predictor',
    });
    await tb.lb.reconcileNow();
    const denied = await infer(tb, { 'x-api-key': token });
    expect(denied.status).toBe(403);
    expect(denied.body).toBe('RBAC: access denied');

    await kube.apply(authorizationPolicy('allow-predictor'), { fieldManager: 'kubectl', force: true });
    await tb.lb.reconcileNow();
    const ok = await infer(tb, { 'x-api-key': token });
    expect(ok.status).toBe(200);
  });

  test('config-domain without the domain: the model host is unknown to the gateway (404)', async () => {
    const kube = tb.kubeAdmin();
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'knative-serving', name: 'config-domain' };
    await kube.mergePatch(ref, { data: { [DOMAIN]: null, 'example.com': '' } });
    await tb.lb.reconcileNow();
    const res = await infer(tb, { 'x-api-key': token });
    expect(res.status).toBe(404);
    await kube.mergePatch(ref, { data: { [DOMAIN]: '', 'example.com': null } });
    await tb.lb.reconcileNow();
    const isvc = await kube.get('serving.kserve.io/v1beta1', 'InferenceService', NS, MODEL_NAME);
    expect((isvc?.status as { url?: string }).url).toBe(`http://${MODEL_HOST}`);
  });

  test('a listener only takes ISSUED certificates: a PENDING one leaves the previous config in place', async () => {
    tb.lb.setOptions({});
    const pending = await tb.aws.acm.send(new RequestCertificateCommand({ DomainName: `*.prod.${DOMAIN}`, ValidationMethod: 'DNS' }));
    const kube = tb.kubeAdmin();
    const ing = (await kube.get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api'))!;
    const arns = ing.metadata.annotations!['alb.ingress.kubernetes.io/certificate-arn']!;
    await kube.mergePatch(
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'istio-system', name: 'istio-ingress-api' },
      { metadata: { annotations: { 'alb.ingress.kubernetes.io/certificate-arn': `${arns},${pending.CertificateArn}` } } },
    );
    await tb.lb.reconcileNow();
    const alb = tb.lb.albs().find((a) => a.ingress === 'istio-system/istio-ingress-api')!;
    expect(alb.error).toMatch(/PENDING_VALIDATION/);
    const ok = await infer(tb, { 'x-api-key': token });
    expect(ok.status).toBe(200);
  });

  test('fault knob neverAssignAddress; deleting an Ingress removes its ALB (finalizer handled)', async () => {
    const kube = tb.kubeAdmin();
    const ref = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'istio-system', name: 'knob-test' };
    tb.lb.setOptions({ neverAssignAddress: true });
    await kube.apply(
      {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace, annotations: { 'kubernetes.io/ingress.class': 'alb' } },
        spec: {
          rules: gatewayRules(),
        },
      },
      { fieldManager: 'kubectl', force: true },
    );
    await new Promise((r) => setTimeout(r, 1500)); // > lbDelayMs
    await tb.lb.reconcileNow();
    const pending = await kube.get(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    expect((pending?.status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress ?? []).toEqual([]);
    tb.lb.setOptions({ neverAssignAddress: false });
    const alb = await tb.lb.waitForAlb(ref.namespace, ref.name, 10_000);
    expect(JSON.parse(readFileSync(tb.lb.hostMapFile, 'utf8'))[alb.hostname]).toMatch(/^127\.0\.0\.1:\d+$/);

    await kube.delete(ref);
    for (let i = 0; i < 50 && (await kube.get(ref.apiVersion, ref.kind, ref.namespace, ref.name)); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await kube.get(ref.apiVersion, ref.kind, ref.namespace, ref.name)).toBeUndefined();
    await tb.lb.reconcileNow();
    expect(JSON.parse(readFileSync(tb.lb.hostMapFile, 'utf8'))[alb.hostname]).toBeUndefined();
  });

  test('the Kubernetes API rejects the workflow user writing where it has no grant', async () => {
    await expect(
      tb
        .kubeWorkflow()
        .create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'kube-system' }, stringData: { a: 'b' } }),
    ).rejects.toBeInstanceOf(KubeApiError);
  });
});

describe('testbed, Dex variant (istio-ingress + oauth2-proxy + Dex)', () => {
  let tb: Testbed;
  let pidsWhileRunning: number[] = [];
  standInTestbed('dex', (started, pids) => {
    tb = started;
    pidsWhileRunning = pids;
  });

  test('the load-balancer guide left istio-ingress (HTTP:80, field manager kubectl) and kubeflow.<domain> → its ALB', async () => {
    const ing = await tb.kubeAdmin().get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress');
    expect(ing?.metadata.annotations?.['alb.ingress.kubernetes.io/listen-ports']).toBe('[{"HTTP": 80}]');
    expect(ing?.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
    expect((ing?.metadata.managedFields ?? []).map((f) => f.manager)).toContain('kubectl');
    const alb = await tb.lb.waitForAlb('istio-system', 'istio-ingress');
    expect(Object.keys(alb.listeners)).toEqual(['80']);
    const resolved = await resolveHost(tb, tb.dashboardHost);
    expect(resolved.chain).toEqual([tb.dashboardHost, alb.hostname]);
    expect(pidsWhileRunning.length).toBeGreaterThanOrEqual(7); // + dex, oauth2-proxy
  });

  test('guide by hand (https overlay): login chain gives oauth2_proxy_kubeflow; model POST with it 200, without 302 to login', async () => {
    const kube = tb.kubeAdmin();
    const arn = await issuedCertificate(tb, [`*.${DOMAIN}`, `*.${NS}.${DOMAIN}`]);
    await kube.apply(authorizationPolicy('allow-predictor'), { fieldManager: 'kubectl', force: true });
    await setConfigDomain(kube);
    // overlays/https: certificate-arn + listen-ports HTTPS:443 on the existing istio-ingress.
    await kube.mergePatch(
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'istio-system', name: 'istio-ingress' },
      {
        metadata: {
          annotations: { 'alb.ingress.kubernetes.io/certificate-arn': arn, 'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]' },
        },
      },
    );
    await tb.lb.reconcileNow();
    const alb = await tb.lb.waitForAlb('istio-system', 'istio-ingress');
    expect(Object.keys(alb.listeners)).toEqual(['443']);
    await upsertCname(tb, `*.${NS}.${DOMAIN}`, alb.hostname);

    const { username, password } = tb.secrets.dexLogin;
    const { jar, hops } = await dexLogin(tb, `https://${tb.dashboardHost}/`, username, password);
    const sessionCookies = [...jar.cookies.keys()].filter((n) => n.startsWith(OAUTH2_PROXY_COOKIE) && !n.endsWith('_csrf'));
    expect(sessionCookies.length).toBeGreaterThan(0);
    // The chain went through Dex's password form and oauth2-proxy's callback.
    expect(hops.some((h) => h.url.includes('/dex/auth'))).toBe(true);
    expect(hops.some((h) => h.method === 'POST' && h.url.includes('/dex/auth/local'))).toBe(true);
    expect(hops.some((h) => h.url.includes('/oauth2/callback'))).toBe(true);

    const cookie = jar.header((n) => n.startsWith(OAUTH2_PROXY_COOKIE) && !n.endsWith('_csrf'));
    const ok = await infer(tb, { cookie });
    expect(ok.status).toBe(200);
    expectV2Body(ok.body);

    const anon = await infer(tb, {});
    expect(anon.status).toBe(302);
    expect(anon.headers.location).toMatch(new RegExp(`^https://kubeflow\\.${DOMAIN.replace(/\./g, '\\.')}/oauth2/start\\?rd=`));

    // A wrong password: Dex shows the form again with 401, and no session cookie is set.
    await expect(dexLogin(tb, `https://${tb.dashboardHost}/`, username, `${password}x`)).rejects.toThrow(
      /POST .*\/dex\/auth\/local.*: 401/,
    );
  });
});
