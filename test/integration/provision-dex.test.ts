/**
 * End to end, Dex deployment with the guide's single certificate: the
 * workflow puts the certificate on Kubeflow's existing `istio-ingress`, and the
 * canary logs in through Dex and oauth2-proxy like a user would.
 */
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { dexRequest } from './harness';
import { IRIS_INPUT } from '../../shared/request';
import { awsFor, httpsTo, listCertificates, listRecords, provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';

describe('provision: Dex, single certificate (the guide layout)', () => {
  let tb: Testbed;
  let request: Record<string, unknown>;

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'dex', domain: DOMAIN, namespaces: ['staging'], clusterName: 'kubeflow', region: REGION });
    request = dexRequest(tb, { domain: DOMAIN, region: REGION, namespaces: ['staging'] });
  }, 240_000);

  afterAll(async () => {
    await tb?.stop();
  }, 60_000);

  it('provisions the namespace and the canary logs in and gets the prediction', async () => {
    const result = await provisionWith(tb.env, request, 'e2e-dex-1');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(result.error)}`);
    const output = result.output as {
      canary: { namespaces: Array<{ namespace: string; status: number; prediction: unknown }> };
      loadBalancer: { hostname: string };
    };
    expect(output.canary.namespaces.map((n) => [n.namespace, n.status, n.prediction])).toEqual([['staging', 200, [1, 1]]]);

    const { acm, route53 } = awsFor(tb.motoUrl, REGION);
    const certs = await listCertificates(acm);
    expect(certs).toHaveLength(1);
    expect(certs[0]).toMatchObject({ domainName: '*.platform.example.com', status: 'ISSUED' });
    expect(certs[0]?.names.sort()).toEqual(['*.platform.example.com', '*.staging.platform.example.com']);
    expect(certs[0]?.tags['kserve-edge:scope']).toBe('single');

    const records = await listRecords(route53, tb.hostedZoneId);
    expect(records).toContainEqual({ name: `*.staging.${DOMAIN}`, type: 'CNAME', values: [output.loadBalancer.hostname] });

    // Kubeflow's own Ingress: only the certificate and the HTTPS listener changed, it stays Kubeflow's.
    const ingress = await tb.kubeAdmin().get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress');
    expect(ingress?.metadata.annotations).toMatchObject({
      'kubernetes.io/ingress.class': 'alb',
      'alb.ingress.kubernetes.io/certificate-arn': certs[0]?.arn,
      'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
      'alb.ingress.kubernetes.io/load-balancer-attributes': 'routing.http.drop_invalid_header_fields.enabled=true',
    });
    expect(ingress?.metadata.labels?.['app.kubernetes.io/managed-by']).toBeUndefined();
    const configDomain = await tb.kubeAdmin().get('v1', 'ConfigMap', 'knative-serving', 'config-domain');
    expect(configDomain?.data).toEqual({ [DOMAIN]: '' });
  }, 300_000);

  it('without a session the model answers with a redirect to the login', async () => {
    const info = await tb.lb.waitForAlb('istio-system', 'istio-ingress');
    const port = Number(info.listeners['443']?.split(':')[1]);
    const res = await httpsTo({
      port,
      host: `sklearn-irisv2.staging.${DOMAIN}`,
      path: '/v2/models/sklearn-irisv2/infer',
      method: 'POST',
      body: JSON.stringify(IRIS_INPUT),
      ca: tb.caPem,
    });
    expect([302, 303]).toContain(res.status);
    expect(String(res.headers.location)).toMatch(/\/(oauth2|dex)\//);
  }, 60_000);
});
