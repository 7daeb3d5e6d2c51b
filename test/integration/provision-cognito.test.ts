/**
 * End to end, Cognito deployment, per-namespace certificates for `staging` and
 * `prod`: the whole provision.asl.json with the real handlers against the
 * testbed (moto, kube-apiserver + etcd, the load-balancer stand-in, nginx,
 * MLServer). Asserts where a user would look.
 */
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { IRIS_INPUT } from '../../shared/request';
import { awsFor, httpsTo, listCertificates, listRecords, provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NAMESPACES = ['staging', 'prod'];
const BODY = JSON.stringify(IRIS_INPUT);

/**
 * The guide's rendered api overlay (kubeflow-manifests `awsconfigs/common/istio-ingress/overlays/api`), with our ARNs and token,
 * less the deprecated `kubernetes.io/ingress.class` annotation: the class is `spec.ingressClassName: alb` (issue 10, defect 10).
 */
function guideAnnotations(certArns: string[], token: string): Record<string, string> {
  return {
    'alb.ingress.kubernetes.io/actions.istio-ingressgateway':
      '{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"istio-ingressgateway","ServicePort":"80","Weight":100}]}}',
    'alb.ingress.kubernetes.io/certificate-arn': certArns.join(','),
    'alb.ingress.kubernetes.io/conditions.istio-ingressgateway': `[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName": "x-api-key", "Values":["${token}"]}}]`,
    'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
    'alb.ingress.kubernetes.io/load-balancer-attributes': 'routing.http.drop_invalid_header_fields.enabled=true',
    'alb.ingress.kubernetes.io/scheme': 'internet-facing',
    'alb.ingress.kubernetes.io/target-type': 'ip',
  };
}

describe('provision: Cognito, per-namespace certificates', () => {
  let tb: Testbed;
  let request: Record<string, unknown>;

  beforeAll(async () => {
    tb = await startTestbed({
      authProvider: 'cognito',
      domain: DOMAIN,
      namespaces: NAMESPACES,
      clusterName: 'kubeflow',
      region: REGION,
      // Issued well after the first CheckCertificates, so the run waits for them (the path under test), however
      // long the packaged functions' cold starts take on a busy machine (the default 2 s could pass first).
      acmValidationWaitSeconds: 8,
    });
    request = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      namespaces: NAMESPACES,
      auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
      certificates: { mode: 'per-namespace' },
      canary: { expected: { outputName: 'predict', data: [1, 1] } },
    };
  }, 240_000);

  afterAll(async () => {
    await tb?.stop();
  }, 60_000);

  it('provisions every namespace and the canary gets the expected prediction', async () => {
    const result = await provisionWith(tb.env, request, 'e2e-cognito-1');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(result.error)}`);
    const visited = result.states.map((s) => s.name);
    expect(visited[0]).toBe('ValidateRequest');
    expect(visited).toContain('WaitForCertificates');
    expect(visited.at(-1)).toBe('Provisioned');

    const output = result.output as {
      canary: { namespaces: Array<{ namespace: string; status: number; prediction: unknown }> };
      loadBalancer: { hostname: string };
    };
    expect(output.canary.namespaces.map((n) => [n.namespace, n.status, n.prediction])).toEqual([
      ['staging', 200, [1, 1]],
      ['prod', 200, [1, 1]],
    ]);

    // ACM: three issued certificates with the expected names and our tags.
    const { acm, route53 } = awsFor(tb.motoUrl, REGION);
    const certs = await listCertificates(acm);
    expect(certs.map((c) => c.domainName).sort()).toEqual([
      '*.platform.example.com',
      '*.prod.platform.example.com',
      '*.staging.platform.example.com',
    ]);
    for (const c of certs) {
      expect(c.status).toBe('ISSUED');
      expect(c.tags).toMatchObject({ 'kserve-edge:owner': 'kserve-edge', 'kserve-edge:domain': DOMAIN });
    }
    expect(certs.find((c) => c.domainName === '*.staging.platform.example.com')?.tags['kserve-edge:scope']).toBe('namespace:staging');

    // Route 53: the validation CNAMEs, the namespace records and their ownership TXT records.
    const records = await listRecords(route53, tb.hostedZoneId);
    const alb = output.loadBalancer.hostname;
    expect(alb).toMatch(/^k8s-istiosys-.*\.us-west-2\.elb\.amazonaws\.com$/);
    for (const ns of NAMESPACES) {
      expect(records).toContainEqual({ name: `*.${ns}.${DOMAIN}`, type: 'CNAME', values: [alb] });
      expect(records).toContainEqual({
        name: `_kserve-edge.${ns}.${DOMAIN}`,
        type: 'TXT',
        values: [`"heritage=kserve-edge,kserve-edge/owner=kserve-edge,kserve-edge/resource=*.${ns}.${DOMAIN}"`],
      });
    }
    expect(records.filter((r) => r.type === 'CNAME' && r.values[0]?.includes('acm-validations.aws')).length).toBeGreaterThanOrEqual(1);

    // Kubernetes: config-domain, the policies and the Ingress as the guide renders it.
    const kube = tb.kubeAdmin();
    const configDomain = await kube.get('v1', 'ConfigMap', 'knative-serving', 'config-domain');
    expect(configDomain?.data).toEqual({ [DOMAIN]: '' });
    for (const [name, component] of [
      ['allow-predictor', 'predictor'],
      ['allow-transformer', 'transformer'],
    ]) {
      const policy = await kube.get('security.istio.io/v1beta1', 'AuthorizationPolicy', 'istio-system', name!);
      expect(policy?.spec).toEqual({
        selector: { matchLabels: { component } },
        action: 'ALLOW',
        rules: [{ to: [{ operation: { paths: ['/metrics', '/healthz', '/ready', '/wait-for-drain', '/v1/models/*', '/v2/models/*'] } }] }],
      });
    }
    const ingress = await kube.get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api');
    const arnsInOrder = ['*.platform.example.com', '*.staging.platform.example.com', '*.prod.platform.example.com'].map(
      (n) => certs.find((c) => c.domainName === n)!.arn,
    );
    expect(ingress?.metadata.annotations).toEqual(guideAnnotations(arnsInOrder, tb.secrets.apiTokens[0]!));
    expect((ingress?.spec as { ingressClassName?: string } | undefined)?.ingressClassName).toBe('alb');
  }, 300_000);

  it('answers over verified TLS only with the header: 200 with it, the ALB 404 without', async () => {
    const info = await tb.lb.waitForAlb('istio-system', 'istio-ingress-api');
    const port = Number(info.listeners['443']?.split(':')[1]);
    const host = `sklearn-irisv2.staging.${DOMAIN}`;
    const path = '/v2/models/sklearn-irisv2/infer';
    const infer = (headers?: Record<string, string>) =>
      httpsTo({ port, host, path, method: 'POST', body: BODY, ca: tb.caPem, ...(headers ? { headers } : {}) });
    const ok = await infer({ 'x-api-key': tb.secrets.apiTokens[0]! });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ model_name: 'sklearn-irisv2', outputs: [{ name: 'predict', data: [1, 1] }] });
    const denied = await infer();
    expect(denied.status).toBe(404);
    const wrong = await infer({ 'x-api-key': 'not-the-token-1234567' });
    expect(wrong.status).toBe(404);
  }, 60_000);

  it('a second run converges: same certificates, no DNS change, everything up to date', async () => {
    const { acm } = awsFor(tb.motoUrl, REGION);
    const before = (await listCertificates(acm)).map((c) => c.arn).sort();
    const result = await provisionWith(tb.env, request, 'e2e-cognito-2');
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as { dns: { changeId: string | null }; cluster: { actions: Array<{ action: string }> } };
    expect(output.dns.changeId).toBeNull();
    expect(output.cluster.actions.every((a) => a.action === 'none')).toBe(true);
    expect((await listCertificates(acm)).map((c) => c.arn).sort()).toEqual(before);
  }, 300_000);

  it('without the AuthorizationPolicy workaround the canary fails with RBAC: access denied', async () => {
    const kube = tb.kubeAdmin();
    await kube.delete({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      namespace: 'istio-system',
      name: 'allow-predictor',
    });
    await tb.lb.reconcileNow();
    const { canaryDeps } = await import('../../wiring/canary');
    const { loadConfig } = await import('../../wiring/config');
    const { runCanary } = await import('../../shared/canary/probe');
    const { parseProvisionRequest } = await import('../../shared/request');
    const { silentLogger } = await import('../../shared/log');
    const saved = { ...process.env };
    Object.assign(process.env, tb.env);
    try {
      const req = { ...parseProvisionRequest(request), hostedZoneId: tb.hostedZoneId };
      // nginx reloads gracefully: old workers may answer for a moment. Probe until the change shows (bounded).
      let round = await runCanary({ request: req }, canaryDeps(loadConfig(), req, silentLogger));
      for (let i = 0; i < 20 && round.results.some((r) => r.ok); i++) {
        await new Promise((r) => setTimeout(r, 250));
        round = await runCanary({ request: req }, canaryDeps(loadConfig(), req, silentLogger));
      }
      expect(round.ok).toBe(false);
      expect(round.results.map((r) => [r.namespace, r.failureKind, r.status])).toEqual([
        ['staging', 'http', 403],
        ['prod', 'http', 403],
      ]);
    } finally {
      Object.assign(process.env, saved);
    }
  }, 60_000);
});
