/**
 * End to end, flat hostnames (`hostnames: "flat"`) in KServe's Knative mode:
 * the whole provision.asl.json with the packaged functions against the testbed
 * (moto, kube-apiserver + etcd, the real AWS Load Balancer Controller, nginx,
 * MLServer, IAM enforcement).
 *
 * One `*.<domain>` certificate and one `*.<domain>` record serve every
 * namespace at `<model>-<namespace>.<domain>`; Knative's `config-network`
 * `domain-template` is set by server-side apply under our field manager; a
 * namespace added later is served without a new certificate or record, and
 * the event path starts one run for its first canary, which writes nothing; going
 * back to nested without the confirmation, or with a domain-template someone
 * else owns, is refused before any write; with it, the switch is made.
 */
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { IRIS_INPUT } from '../../shared/request';
import { AcmAdapter } from '../../shared/aws/acm';
import { Route53Adapter } from '../../shared/aws/route53';
import { silentLogger } from '../../shared/log';
import { decodeLogsEvent, namespaceEventsFromAudit } from '../../shared/plan/namespaceEvents';
import { handleNamespaceEvents } from '../../shared/steps/reconcileNamespaces';
import type { RunResult } from '../../local/run';
import { kubeFor } from '../../wiring/cluster';
import { loadConfig } from '../../wiring/config';
import { FakeExecutions } from '../fakes/FakeExecutions';
import { auditEvent, logsEvent } from '../fixtures/audit';
import { awsFor, httpsTo, listCertificates, listRecords, provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NAMESPACES = ['team-a', 'team-b'];
const BODY = JSON.stringify(IRIS_INPUT);
const FLAT_TEMPLATE = '{{.Name}}-{{.Namespace}}.{{.Domain}}';
const CONFIG_NETWORK = ['v1', 'ConfigMap', 'knative-serving', 'config-network'] as const;

/** The error message inside a Fail state's Cause (Lambda's `{"errorType", "errorMessage"}`). */
function messageOf(cause: string | undefined): string {
  try {
    return String((JSON.parse(cause ?? '{}') as { errorMessage?: unknown }).errorMessage ?? cause);
  } catch {
    return cause ?? '';
  }
}

interface RunOutput {
  canary: { namespaces: Array<{ namespace: string; host: string; status: number; prediction: unknown }> };
  loadBalancer: { hostname: string };
  dns: { changeId: string | null };
  cluster: {
    actions: Array<{ action: string; name: string }>;
    hostnames: { layout: string; modes: Array<{ mode: string; changes: boolean }> };
  };
}

describe('provision: flat hostnames, Knative mode', () => {
  let tb: Testbed;
  let request: Record<string, unknown>;

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: NAMESPACES, clusterName: 'kubeflow', region: REGION });
    request = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      namespaces: NAMESPACES,
      auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
      hostnames: 'flat',
      canary: { expected: { outputName: 'predict', data: [1, 1] } },
    };
  }, 240_000);

  afterAll(async () => {
    await tb?.stop();
  }, 60_000);

  it('one *.<domain> certificate and one wildcard record serve both namespaces at <model>-<namespace>.<domain>', async () => {
    const result = await provisionWith(tb.env, request, 'e2e-flat-1');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(result.error)}`);
    const output = result.output as RunOutput;
    expect(output.canary.namespaces.map((n) => [n.namespace, n.host, n.status, n.prediction])).toEqual([
      ['team-a', `sklearn-irisv2-team-a.${DOMAIN}`, 200, [1, 1]],
      ['team-b', `sklearn-irisv2-team-b.${DOMAIN}`, 200, [1, 1]],
    ]);
    expect(output.cluster.hostnames).toMatchObject({ layout: 'flat', modes: [{ mode: 'Knative', changes: true }] });

    const { acm, route53 } = awsFor(tb.motoUrl, REGION);
    const certs = await listCertificates(acm);
    expect(certs.map((c) => [c.domainName, c.names, c.status])).toEqual([[`*.${DOMAIN}`, [`*.${DOMAIN}`], 'ISSUED']]);

    const records = await listRecords(route53, tb.hostedZoneId);
    const alb = output.loadBalancer.hostname;
    const ours = records.filter((r) => r.name.includes('*') || r.name.startsWith('_kserve-edge'));
    expect(ours).toEqual([
      { name: `*.${DOMAIN}`, type: 'CNAME', values: [alb] },
      {
        name: `_kserve-edge.${DOMAIN}`,
        type: 'TXT',
        values: [`"heritage=kserve-edge,kserve-edge/owner=kserve-edge,kserve-edge/resource=*.${DOMAIN}"`],
      },
    ]);

    // Knative's domain-template: set by server-side apply, held by our field manager, nothing else of config-network touched.
    const kube = tb.kubeAdmin();
    const network = await kube.get(...CONFIG_NETWORK);
    expect((network?.data as Record<string, string>)['domain-template']).toBe(FLAT_TEMPLATE);
    expect(Object.keys(network?.data ?? {}).sort()).toEqual(['_example', 'domain-template']);
    const managers = (network?.metadata.managedFields ?? []).filter((m) =>
      JSON.stringify((m as { fieldsV1?: unknown }).fieldsV1 ?? {}).includes('f:domain-template'),
    );
    expect(managers.map((m) => [m.manager, m.operation])).toEqual([['kserve-edge', 'Apply']]);
    // KServe (the testbed's stand-in) publishes the flat URL.
    const isvc = await kube.get('serving.kserve.io/v1beta1', 'InferenceService', 'team-a', 'sklearn-irisv2');
    expect((isvc?.status as { url?: string }).url).toBe(`http://sklearn-irisv2-team-a.${DOMAIN}`);
  }, 300_000);

  it('a third namespace goes live with no new certificate or record, and its canary is green', async () => {
    const { acm, route53 } = awsFor(tb.motoUrl, REGION);
    const certsBefore = (await listCertificates(acm)).map((c) => c.arn).sort();
    const recordsBefore = await listRecords(route53, tb.hostedZoneId);

    // Kubeflow's profile controller and a user: the namespace, its Profile, the model.
    const kube = tb.kubeAdmin();
    await kube.apply(
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'team-c', labels: { 'app.kubernetes.io/part-of': 'kubeflow-profile', 'istio-injection': 'enabled' } },
      },
      { fieldManager: 'kubectl', force: true },
    );
    await kube.apply(
      {
        apiVersion: 'kubeflow.org/v1',
        kind: 'Profile',
        metadata: { name: 'team-c' },
        spec: { owner: { kind: 'User', name: 'user@example.com' } },
      },
      { fieldManager: 'kubectl', force: true },
    );
    await kube.apply(
      {
        apiVersion: 'serving.kserve.io/v1beta1',
        kind: 'InferenceService',
        metadata: { name: 'sklearn-irisv2', namespace: 'team-c' },
        spec: { predictor: { sklearn: { protocolVersion: 'v2', storageUri: 'gs://seldon-models/sklearn/iris' } } },
      },
      { fieldManager: 'kubectl', force: true },
    );
    await tb.lb.reconcileNow();

    // Before any run: the ALB already serves it over verified TLS with the one *.<domain> certificate.
    const info = await tb.lb.waitForAlb('istio-system', 'istio-ingress-api');
    const port = Number(info.listeners['443']?.split(':')[1]);
    const host = `sklearn-irisv2-team-c.${DOMAIN}`;
    let direct = { status: 0, body: '' };
    for (let i = 0; i < 40 && direct.status !== 200; i++) {
      direct = await httpsTo({
        port,
        host,
        path: '/v2/models/sklearn-irisv2/infer',
        method: 'POST',
        body: BODY,
        ca: tb.caPem,
        headers: { 'x-api-key': tb.secrets.apiTokens[0]! },
      });
      if (direct.status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(direct.status).toBe(200);

    // The event path (fed team-c's audit event) starts one run for its first canary; the run writes nothing.
    const runs = new FakeExecutions();
    let result: RunResult | undefined;
    runs.onStart = async (name, input) => {
      result = await provisionWith(tb.env, input, name);
      runs.setStatus(name, result.status);
    };
    const { acm: acmClient, tagging, route53: r53Client } = awsFor(tb.motoUrl, REGION);
    const teamC = await kube.get('v1', 'Namespace', undefined, 'team-c');
    const payload = logsEvent([
      auditEvent('create', 'namespaces', 'team-c', {
        responseObject: { metadata: { name: 'team-c', uid: teamC?.metadata.uid, labels: teamC?.metadata.labels } },
      }),
    ]);
    const { namespaces: _listed, ...template } = request;
    // The lifecycle Lambda's environment (its AWS endpoints and credentials), as the packaged function has it.
    const saved = { ...process.env };
    Object.assign(process.env, tb.env);
    let byEvent: Awaited<ReturnType<typeof handleNamespaceEvents>>;
    try {
      byEvent = await handleNamespaceEvents(
        { template, events: namespaceEventsFromAudit(decodeLogsEvent(payload)) },
        {
          kube: await kubeFor(loadConfig(tb.env), { name: 'kubeflow', region: REGION }),
          route53: new Route53Adapter(r53Client),
          acm: new AcmAdapter(acmClient, tagging),
          provisionRuns: runs,
          deprovisionRuns: new FakeExecutions(),
          log: silentLogger,
          now: () => new Date(),
        },
      );
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    expect(byEvent.runs).toEqual([
      expect.objectContaining({
        kind: 'provision',
        namespace: 'team-c',
        outcome: 'started',
        reason: expect.stringContaining('first canary'),
      }),
    ]);
    expect(runs.runs.get(byEvent.runs[0]!.executionName)?.input).toMatchObject({
      namespaces: [...NAMESPACES, 'team-c'],
      hostnames: 'flat',
    });
    if (result?.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(result?.error)}`);
    const output = result.output as RunOutput;
    expect(output.dns.changeId).toBeNull();
    expect(output.cluster.actions.every((a) => a.action === 'none')).toBe(true);
    expect(output.canary.namespaces.map((n) => [n.namespace, n.status])).toEqual([
      ['team-a', 200],
      ['team-b', 200],
      ['team-c', 200],
    ]);
    expect((await listCertificates(acm)).map((c) => c.arn).sort()).toEqual(certsBefore);
    expect(await listRecords(route53, tb.hostedZoneId)).toEqual(recordsBefore);
  }, 300_000);

  it('back to nested without confirmHostnameChange: HostnameChangeUnconfirmed, nothing written', async () => {
    const { acm } = awsFor(tb.motoUrl, REGION);
    const certsBefore = (await listCertificates(acm)).map((c) => c.arn).sort();
    const kube = tb.kubeAdmin();
    const before = await kube.get(...CONFIG_NETWORK);
    const result = await provisionWith(tb.env, { ...request, hostnames: 'nested' }, 'e2e-flat-3');
    expect(result.status).toBe('FAILED');
    expect(result.failState).toBe('HostnameChangeUnconfirmed');
    expect(messageOf(result.error?.cause)).toContain('"confirmHostnameChange": "flat-to-nested"');
    expect(result.states.map((s) => s.name)).not.toContain('EnsureCertificates');
    expect((await kube.get(...CONFIG_NETWORK))?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect((await listCertificates(acm)).map((c) => c.arn).sort()).toEqual(certsBefore);
  }, 120_000);

  it('back to nested with the confirmation: the template is put back, per-namespace certificates and records, canary green on nested hosts', async () => {
    const result = await provisionWith(
      tb.env,
      { ...request, namespaces: [...NAMESPACES, 'team-c'], hostnames: 'nested', confirmHostnameChange: 'flat-to-nested' },
      'e2e-flat-switch',
    );
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(result.error)}`);
    const output = result.output as RunOutput & { cluster: { hostnames: { change?: unknown } } };
    expect(output.cluster.hostnames.change).toEqual({ from: 'flat', to: 'nested', confirmation: 'flat-to-nested' });
    expect(output.canary.namespaces.map((n) => [n.host, n.status])).toEqual([
      [`sklearn-irisv2.team-a.${DOMAIN}`, 200],
      [`sklearn-irisv2.team-b.${DOMAIN}`, 200],
      [`sklearn-irisv2.team-c.${DOMAIN}`, 200],
    ]);
    const network = await tb.kubeAdmin().get(...CONFIG_NETWORK);
    expect((network?.data as Record<string, string>)['domain-template']).toBe('{{.Name}}.{{.Namespace}}.{{.Domain}}');
    const { acm, route53 } = awsFor(tb.motoUrl, REGION);
    expect((await listCertificates(acm)).map((c) => c.domainName).sort()).toEqual([
      `*.${DOMAIN}`,
      `*.team-a.${DOMAIN}`,
      `*.team-b.${DOMAIN}`,
      `*.team-c.${DOMAIN}`,
    ]);
    const wildcards = (await listRecords(route53, tb.hostedZoneId))
      .filter((r) => r.type === 'CNAME' && r.name.startsWith('*'))
      .map((r) => r.name);
    // The flat record is left (documented): the old URLs resolve and get the gateway's 404.
    expect(wildcards.sort()).toEqual([`*.${DOMAIN}`, `*.team-a.${DOMAIN}`, `*.team-b.${DOMAIN}`, `*.team-c.${DOMAIN}`]);
  }, 300_000);

  it('a domain-template another field manager set: ObjectOwnedByAnother naming it, before any write', async () => {
    const kube = tb.kubeAdmin();
    // A platform team's GitOps tool takes the key over with its own template.
    await kube.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'config-network', namespace: 'knative-serving' },
        data: { 'domain-template': '{{.Name}}.{{.Namespace}}.models.{{.Domain}}' },
      },
      { fieldManager: 'argocd-controller', force: true },
    );
    const before = await kube.get(...CONFIG_NETWORK);
    const result = await provisionWith(tb.env, request, 'e2e-flat-4');
    expect(result.status).toBe('FAILED');
    expect(result.failState).toBe('ObjectOwnedByAnother');
    expect(messageOf(result.error?.cause)).toContain('field manager "argocd-controller"');
    expect(result.states.map((s) => s.name)).not.toContain('EnsureCertificates');
    expect((await kube.get(...CONFIG_NETWORK))?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
  }, 120_000);
});
