/**
 * The testbed with the REAL AWS Load Balancer Controller (`lbController:
 * 'real'`), proven without the product code: an Ingress like the product's
 * Cognito one becomes an ALB in (moto's) ELBv2, read back through ELBv2's
 * Describe calls; the controller's webhook refuses what it refuses in a
 * cluster; ELBv2 (through the AWS proxy's corrections) refuses an un-issued
 * certificate and a 26th SNI certificate, and the controller reports both as
 * FailedDeployModel while the ALB keeps what it had.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { httpsRequest } from '../../testbed/client';
import { child, members, text } from '../../testbed/lib/aws-query';
import { KubeApiError, type KubeClient, type KubeObject } from '../../testbed/lib/kube';
import { waitFor } from '../../testbed/lib/net';
import { MODEL_NAME, startTestbed, type Testbed } from '../../testbed/testbed';
import { FORWARD_TO_GATEWAY, gatewayRules } from '../../testbed/cluster';
import {
  albArnFor,
  applyGuidePolicyAndDomain,
  elbv2,
  ingressHostname,
  listenerCertificates,
  realLbcOptions,
  requestCertificates,
  waitIssued,
  upsertCname,
} from './harness';

jest.setTimeout(300_000);

const DOMAIN = 'platform.example.com';
const NS = 'staging';
const INGRESS = 'istio-ingress-api';
const REF = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'istio-system', name: INGRESS };
const TOKEN = 'k7Qm2Zx9Lp4Rt8Wv3Yb6Nc1Hd5Jf0Gs2';
const CERT_ANNOTATION = 'alb.ingress.kubernetes.io/certificate-arn';
const CONDITIONS_ANNOTATION = 'alb.ingress.kubernetes.io/conditions.istio-ingressgateway';

/** The product's Cognito Ingress (shared/plan/cluster.ts, overlays/api), with `arns` on the listener. */
function productIngress(arns: string[], conditions = conditionsFor([TOKEN])): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: INGRESS,
      namespace: 'istio-system',
      labels: { 'kustomize.component': 'istio-ingress' },
      annotations: {
        'kubernetes.io/ingress.class': 'alb',
        'alb.ingress.kubernetes.io/load-balancer-attributes': 'routing.http.drop_invalid_header_fields.enabled=true',
        'alb.ingress.kubernetes.io/scheme': 'internet-facing',
        'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
        'alb.ingress.kubernetes.io/target-type': 'ip',
        [CERT_ANNOTATION]: arns.join(','),
        [CONDITIONS_ANNOTATION]: conditions,
        'alb.ingress.kubernetes.io/actions.istio-ingressgateway': FORWARD_TO_GATEWAY,
      },
    },
    spec: {
      rules: gatewayRules(),
    },
  };
}

function conditionsFor(values: string[]): string {
  return `[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName": "x-api-key", "Values":${JSON.stringify(values)}}}]`;
}

let tb: Testbed;
let kube: KubeClient;

/** FailedDeployModel events on the Ingress whose message contains `needle`. */
async function failedDeployEvents(needle: string): Promise<string[]> {
  const events = await kube.list<KubeObject & { involvedObject?: { name?: string }; reason?: string; message?: string }>(
    'v1',
    'Event',
    'istio-system',
  );
  return events
    .filter((e) => e.involvedObject?.name === INGRESS && e.reason === 'FailedDeployModel' && (e.message ?? '').includes(needle))
    .map((e) => e.message ?? '');
}

function procStats(pid: number): { rssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: Math.round(rssKb / 1024), cpuSeconds: ticks / 100 };
}

beforeAll(async () => {
  tb = await startTestbed(realLbcOptions(DOMAIN, NS));
  kube = tb.kubeAdmin();
});

afterAll(async () => {
  await tb?.stop();
});

describe('testbed with the real AWS Load Balancer Controller', () => {
  let defaultArn = '';
  let sniArn = '';
  let hostname = '';
  let listenerArn = '';

  test('runs as its own ServiceAccount, with its IngressClass and validating webhook registered', async () => {
    expect(tb.lb.controller).toBe('real');
    const cls = await kube.get('networking.k8s.io/v1', 'IngressClass', undefined, 'alb');
    expect((cls?.spec as { controller?: string }).controller).toBe('ingress.k8s.aws/alb');
    const hooks = await kube.get(
      'admissionregistration.k8s.io/v1',
      'ValidatingWebhookConfiguration',
      undefined,
      'aws-load-balancer-webhook',
    );
    const ingressHook = (hooks?.webhooks as Array<{ name: string; clientConfig: { url?: string } }>).find(
      (h) => h.name === 'vingress.elbv2.k8s.aws',
    );
    expect(ingressHook?.clientConfig.url).toBe(`https://127.0.0.1:${tb.lb.real!.webhookPort}/validate-networking-v1-ingress`);
    const kubeconfig = JSON.parse(readFileSync(`${tb.runDir}/aws-load-balancer-controller/lbc.kubeconfig`, 'utf8')) as {
      users: Array<{ name: string; user: { token: string } }>;
    };
    // A ServiceAccount token (a JWT), not one of the static tokens.
    expect(kubeconfig.users[0]!.user.token.split('.')).toHaveLength(3);
    console.log(
      `aws-load-balancer-controller: ready ${tb.timings['aws-load-balancer-controller']} ms after the cluster (testbed total ${tb.timings.total} ms), ${JSON.stringify(procStats(tb.lb.real!.pid))}`,
    );
  });

  test('an Ingress like the product’s becomes an ALB: hostname in status, listener, certificates and rules in ELBv2', async () => {
    const issued = await requestCertificates(tb, [`*.${DOMAIN}`, `*.${NS}.${DOMAIN}`]);
    defaultArn = issued[0]!;
    sniArn = issued[1]!;
    await waitIssued(tb, [defaultArn, sniArn]);
    await applyGuidePolicyAndDomain(kube, DOMAIN);
    const t0 = Date.now();
    await kube.apply(productIngress([defaultArn, sniArn]), { fieldManager: 'kubectl', force: true });
    hostname = await waitFor(() => ingressHostname(kube, INGRESS), { what: 'Ingress status hostname', timeoutMs: 60_000, intervalMs: 100 });
    const toHostname = Date.now() - t0;
    expect(hostname).toMatch(/^k8s-istiosys-istioing-[0-9a-f]{10}-\d+\.us-west-2\.elb\.amazonaws\.com$/);
    const ing = await kube.get(REF.apiVersion, REF.kind, REF.namespace, REF.name);
    expect(ing?.metadata.finalizers).toContain('ingress.k8s.aws/resources');

    const lbArn = await albArnFor(tb, hostname);
    const lb = members(child(await elbv2(tb, 'DescribeLoadBalancers', { LoadBalancerArns: [lbArn] }), 'LoadBalancers'))[0];
    expect(text(lb, 'Scheme')).toBe('internet-facing');
    expect(text(lb, 'Type')).toBe('application');
    const attrs = members(child(await elbv2(tb, 'DescribeLoadBalancerAttributes', { LoadBalancerArn: lbArn }), 'Attributes'));
    expect(attrs.find((a) => text(a, 'Key') === 'routing.http.drop_invalid_header_fields.enabled')).toEqual(
      expect.objectContaining({ Value: 'true' }),
    );

    const listeners = members(child(await elbv2(tb, 'DescribeListeners', { LoadBalancerArn: lbArn }), 'Listeners'));
    expect(listeners.map((l) => `${text(l, 'Protocol')}:${text(l, 'Port')}`)).toEqual(['HTTPS:443']);
    const listener = listeners[0]!;
    listenerArn = text(listener, 'ListenerArn');
    // ELBv2 lists only the default certificate on the listener (the proxy trims moto's answer).
    expect(members(child(listener, 'Certificates')).map((c) => text(c, 'CertificateArn'))).toEqual([defaultArn]);
    expect(await listenerCertificates(tb, listenerArn)).toEqual({ default: [defaultArn], sni: [sniArn] });
    // Default action: fixed 404 text/plain.
    const defaultAction = members(child(listener, 'DefaultActions'))[0];
    expect(text(defaultAction, 'Type')).toBe('fixed-response');
    expect(text(child(defaultAction, 'FixedResponseConfig'), 'StatusCode')).toBe('404');

    const rules = members(child(await elbv2(tb, 'DescribeRules', { ListenerArn: listenerArn }), 'Rules')).filter(
      (r) => text(r, 'IsDefault') !== 'true',
    );
    expect(rules).toHaveLength(1);
    const conditions = members(child(rules[0], 'Conditions'));
    const header = conditions.find((c) => text(c, 'Field') === 'http-header');
    expect(text(child(header, 'HttpHeaderConfig'), 'HttpHeaderName')).toBe('x-api-key');
    expect(members(child(child(header, 'HttpHeaderConfig'), 'Values'))).toEqual([TOKEN]);
    const path = conditions.find((c) => text(c, 'Field') === 'path-pattern');
    expect(members(child(child(path, 'PathPatternConfig'), 'Values'))).toEqual(['/*']);
    const action = members(child(rules[0], 'Actions'))[0];
    expect(text(action, 'Type')).toBe('forward');

    // The data plane serves what ELBv2 holds: the model behind the header, 404 without it.
    await tb.lb.waitForAlb('istio-system', INGRESS, 30_000);
    const host = `${MODEL_NAME}.${NS}.${DOMAIN}`;
    const hostMap = JSON.parse(readFileSync(tb.lb.hostMapFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(hostMap)).toEqual([hostname]);
    await upsertCname(tb, `*.${NS}.${DOMAIN}`, hostname);
    const ready = await httpsRequest(tb, `https://${host}/v2/models/${MODEL_NAME}/ready`, { headers: { 'x-api-key': TOKEN } });
    expect(ready.status).toBe(200);
    expect(ready.peerCertificateNames).toEqual([`*.${NS}.${DOMAIN}`]);
    const refused = await httpsRequest(tb, `https://${host}/v2/models/${MODEL_NAME}/ready`);
    expect(refused.status).toBe(404);
    console.log(`aws-load-balancer-controller: Ingress applied -> status hostname in ${toHostname} ms`);
  });

  test('its webhook refuses an Ingress with invalid conditions JSON (create and update)', async () => {
    const bad = conditionsFor([]); // http-header with no values
    const other = productIngress([defaultArn], bad);
    other.metadata.name = 'istio-ingress-invalid';
    const created = await kube.create(other).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(created).toBeInstanceOf(KubeApiError);
    expect((created as KubeApiError).message).toContain('admission webhook "vingress.elbv2.k8s.aws" denied the request');
    expect((created as KubeApiError).message).toContain('values or regexValues must be specified');
    expect(await kube.get(REF.apiVersion, REF.kind, 'istio-system', 'istio-ingress-invalid')).toBeUndefined();

    const updated = await kube.mergePatch(REF, { metadata: { annotations: { [CONDITIONS_ANNOTATION]: bad } } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(updated).toBeInstanceOf(KubeApiError);
    expect((updated as KubeApiError).message).toContain('vingress.elbv2.k8s.aws');
    const ing = await kube.get(REF.apiVersion, REF.kind, REF.namespace, REF.name);
    expect(ing?.metadata.annotations?.[CONDITIONS_ANNOTATION]).toBe(conditionsFor([TOKEN]));
  });

  test('a certificate that is not ISSUED is refused: FailedDeployModel, the ALB keeps its certificates and hostname', async () => {
    const [pending] = await requestCertificates(tb, [`*.prod.${DOMAIN}`]);
    // Not issued yet, as a fresh ACM certificate is until its DNS validation passes.
    tb.lb.awsProxy!.failCertificates({ arns: [pending!], status: 'PENDING_VALIDATION' });
    try {
      await kube.mergePatch(REF, { metadata: { annotations: { [CERT_ANNOTATION]: [defaultArn, sniArn, pending].join(',') } } });
      const events = await waitFor(
        async () => {
          const e = await failedDeployEvents('CertificateNotFound');
          return e.length > 0 ? e : undefined;
        },
        { what: 'FailedDeployModel event with CertificateNotFound', timeoutMs: 60_000, intervalMs: 250 },
      );
      expect(events[0]).toContain(pending);
      expect(tb.lb.awsProxy!.stats().refusedBy['AddListenerCertificates:CertificateNotFound']).toBeGreaterThanOrEqual(1);
      expect(await listenerCertificates(tb, listenerArn)).toEqual({ default: [defaultArn], sni: [sniArn] });
      expect(await ingressHostname(kube, INGRESS)).toBe(hostname);
    } finally {
      tb.lb.awsProxy!.failCertificates(undefined);
    }
    // Back to the two issued ones (the pending one would be added once issued).
    await kube.mergePatch(REF, { metadata: { annotations: { [CERT_ANNOTATION]: [defaultArn, sniArn].join(',') } } });
  });

  test('a 26th SNI certificate is refused with TooManyCertificates; the ALB keeps 25', async () => {
    const more = await requestCertificates(
      tb,
      Array.from({ length: 25 }, (_, i) => `*.ns${i}.${DOMAIN}`),
    );
    await waitIssued(tb, more);
    // default + 26 SNI certificates (sniArn + 25 more).
    await kube.mergePatch(REF, { metadata: { annotations: { [CERT_ANNOTATION]: [defaultArn, sniArn, ...more].join(',') } } });
    const events = await waitFor(
      async () => {
        const e = await failedDeployEvents('TooManyCertificates');
        return e.length > 0 ? e : undefined;
      },
      { what: 'FailedDeployModel event with TooManyCertificates', timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(events[0]).toContain('TooManyCertificates');
    const held = await listenerCertificates(tb, listenerArn);
    expect(held.default).toEqual([defaultArn]);
    expect(held.sni).toHaveLength(25);
    expect(await ingressHostname(kube, INGRESS)).toBe(hostname);
    console.log(`aws-load-balancer-controller after the quota test: ${JSON.stringify(procStats(tb.lb.real!.pid))}`);
  });

  test('deleting the Ingress deletes the ALB and the finalizer', async () => {
    await kube.delete(REF);
    await waitFor(async () => (await kube.get(REF.apiVersion, REF.kind, REF.namespace, REF.name)) === undefined, {
      what: 'Ingress gone',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const lbs = members(child(await elbv2(tb, 'DescribeLoadBalancers'), 'LoadBalancers'));
    expect(lbs.map((l) => text(l, 'DNSName'))).not.toContain(hostname);
  });
});
