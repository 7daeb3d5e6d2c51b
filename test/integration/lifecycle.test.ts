/**
 * End to end, the namespace lifecycle and the canary in operation, against
 * the testbed (moto, kube-apiserver + etcd, the load-balancer stand-in,
 * nginx, MLServer):
 *
 * 1. the sweep provisions the profile namespace that exists at start;
 * 2. a new profile namespace appears in the apiserver: the event path (fed a
 *    synthetic audit-log subscription payload) gets it provisioned; another
 *    one is found by the sweep alone; the scheduled canary is green for all;
 * 3. a namespace is deleted: its records and certificate go, a record that is
 *    not ours stays, the others keep serving;
 * 4. each layer is broken in turn and the canary reports the matching
 *    failure kind, read back from the EMF lines it writes.
 *
 * "Starting an execution" runs the very state machine locally (runner +
 * packaged functions in processes of their own): the ExecutionsPort of the
 * lifecycle steps is a fake whose `start` calls `provisionWith` / the
 * deprovision machine, so overlapping starts are separate executions with
 * separate workers.
 */
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AcmAdapter } from '../../shared/aws/acm';
import { resetClients } from '../../wiring/clients';
import { Route53Adapter } from '../../shared/aws/route53';
import { publishCanaryMetrics } from '../../shared/canary/metrics';
import { resetScheduledCanaryCaches, scheduledCanaryDeps } from '../../wiring/canary';
import { kubeFor } from '../../wiring/cluster';
import { loadConfig } from '../../wiring/config';
import { silentLogger } from '../../shared/log';
import { decodeLogsEvent, namespaceEventsFromAudit } from '../../shared/plan/namespaceEvents';
import type { KubePort } from '../../shared/ports';
import { parseProvisionRequest, type ProvisionRequestInput } from '../../shared/request';
import type { RunResult } from '../../local/run';
import { runScheduledCanary } from '../../shared/steps/runScheduledCanary';
import { handleNamespaceEvents, sweepNamespaces, type LifecycleDeps } from '../../shared/steps/reconcileNamespaces';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { FakeExecutions } from '../fakes/FakeExecutions';
import { auditEvent, logsEvent } from '../fixtures/audit';
import { captureEmf, endpointDocs, type EmfDoc } from '../fixtures/emf';
import { awsFor, listCertificates, listRecords, provisionWith, restoreEnv } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const MODEL = 'sklearn-irisv2';

function profileObjects(ns: string) {
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: ns,
        labels: { 'app.kubernetes.io/part-of': 'kubeflow-profile', 'istio-injection': 'enabled' },
        annotations: { owner: 'user@example.com' },
      },
    },
    { apiVersion: 'kubeflow.org/v1', kind: 'Profile', metadata: { name: ns }, spec: { owner: { kind: 'User', name: 'user@example.com' } } },
    {
      apiVersion: 'serving.kserve.io/v1beta1',
      kind: 'InferenceService',
      metadata: { name: MODEL, namespace: ns },
      spec: { predictor: { sklearn: { protocolVersion: 'v2', storageUri: 'gs://seldon-models/sklearn/iris' } } },
    },
  ];
}

/** Runs deprovision.asl.json with the packaged functions, like provisionWith does for provisioning. */
function deprovisionWith(env: Record<string, string>, input: unknown, name: string): Promise<RunResult> {
  return provisionWith(env, input, name, 'statemachine/deprovision.asl.json');
}

describe('namespace lifecycle and the scheduled canary', () => {
  let tb: Testbed;
  let template: Record<string, unknown>;
  let deps: LifecycleDeps;
  let provisionRuns: FakeExecutions;
  let deprovisionRuns: FakeExecutions;
  const results = new Map<string, RunResult>();
  const savedEnv = { ...process.env };

  /** One scheduled-canary round for these namespaces; returns the round and the EMF documents it wrote. */
  async function canaryRound(namespaces: string[], overrides: Partial<ProvisionRequestInput> = {}, env: Record<string, string> = tb.env) {
    resetClients();
    resetScheduledCanaryCaches();
    const request = parseProvisionRequest({ ...template, namespaces, hostedZoneId: tb.hostedZoneId, ...overrides });
    return captureEmf(() =>
      runScheduledCanary(
        { requests: [request] },
        {
          depsFor: (r) => scheduledCanaryDeps(loadConfig(env), r, silentLogger),
          publish: (r) => publishCanaryMetrics(r),
          log: silentLogger,
          now: () => new Date(),
        },
      ),
    );
  }

  /** Rounds until `done` says the change has shown (nginx reloads gracefully), bounded. */
  async function canaryUntil(
    namespaces: string[],
    done: (docs: Record<string, EmfDoc>) => boolean,
    overrides: Partial<ProvisionRequestInput> = {},
    env?: Record<string, string>,
  ) {
    let round = await canaryRound(namespaces, overrides, env);
    for (let i = 0; i < 20 && !done(endpointDocs(round.docs)); i++) {
      await new Promise((r) => setTimeout(r, 250));
      round = await canaryRound(namespaces, overrides, env);
    }
    return round;
  }

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: ['staging'], clusterName: 'kubeflow', region: REGION });
    Object.assign(process.env, tb.env, { LOG_LEVEL: 'silent' });
    template = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
      canary: { expected: { outputName: 'predict', data: [1, 1] } },
    };
    const { acm, tagging, route53 } = awsFor(tb.motoUrl, REGION);
    const kube: KubePort = await kubeFor(loadConfig(tb.env), { name: 'kubeflow', region: REGION });
    provisionRuns = new FakeExecutions();
    deprovisionRuns = new FakeExecutions();
    provisionRuns.onStart = async (name, input) => {
      const run = await provisionWith(tb.env, input, name);
      results.set(name, run);
      provisionRuns.setStatus(name, run.status);
    };
    deprovisionRuns.onStart = async (name, input) => {
      const run = await deprovisionWith(tb.env, input, name);
      results.set(name, run);
      deprovisionRuns.setStatus(name, run.status);
    };
    deps = {
      kube,
      route53: new Route53Adapter(route53),
      acm: new AcmAdapter(acm, tagging),
      provisionRuns,
      deprovisionRuns,
      log: silentLogger,
      now: () => new Date(),
    };
  }, 240_000);

  afterAll(async () => {
    restoreEnv(savedEnv);
    await tb?.stop();
  }, 60_000);

  it('the sweep provisions the profile namespace that exists at start', async () => {
    const out = await sweepNamespaces({ template }, deps);
    expect(out.runs.map((r) => [r.kind, r.namespace, r.outcome])).toEqual([['provision', 'staging', 'started']]);
    const run = results.get(out.runs[0]!.executionName)!;
    if (run.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(run.error)}`);
    const again = await sweepNamespaces({ template }, deps);
    expect(again).toMatchObject({ inSync: ['staging'], runs: [] });
  }, 300_000);

  it('a new profile namespace is provisioned by the event path, another by the sweep, and the canary is green', async () => {
    // Prepare: team-a appears in the apiserver, with its audit event.
    const admin = tb.kubeAdmin();
    for (const obj of profileObjects('team-a')) await admin.apply(obj, { fieldManager: 'kubeflow-profile-controller', force: true });
    const teamA = await admin.get('v1', 'Namespace', undefined, 'team-a');
    const payload = logsEvent([
      auditEvent('create', 'namespaces', 'team-a', {
        responseObject: { metadata: { name: 'team-a', uid: teamA?.metadata.uid, labels: teamA?.metadata.labels } },
      }),
      auditEvent('create', 'profiles', 'team-a'),
    ]);

    // Act: the event path provisions team-a; then team-b appears without an event, and the sweep finds it.
    const byEvent = await handleNamespaceEvents({ template, events: namespaceEventsFromAudit(decodeLogsEvent(payload)) }, deps);
    for (const obj of profileObjects('team-b')) await admin.apply(obj, { fieldManager: 'kubeflow-profile-controller', force: true });
    const bySweep = await sweepNamespaces({ template }, deps);

    // Assess
    expect(byEvent.runs.map((r) => [r.kind, r.namespace, r.outcome])).toEqual([['provision', 'team-a', 'started']]);
    expect(results.get(byEvent.runs[0]!.executionName)?.status).toBe('SUCCEEDED');
    expect(bySweep.runs.map((r) => [r.kind, r.namespace, r.outcome])).toEqual([['provision', 'team-b', 'started']]);
    expect(results.get(bySweep.runs[0]!.executionName)?.status).toBe('SUCCEEDED');
    // Every run carried every profile namespace (the Ingress lists all their certificates).
    expect(provisionRuns.runs.get(bySweep.runs[0]!.executionName)?.input).toMatchObject({ namespaces: ['staging', 'team-a', 'team-b'] });
    // The same audit event again: refused by name.
    const duplicate = await handleNamespaceEvents({ template, events: namespaceEventsFromAudit(decodeLogsEvent(payload)) }, deps);
    expect(duplicate.runs.map((r) => r.outcome)).toEqual([]);
    expect(duplicate.ignored).toEqual([{ namespace: 'team-a', reason: 'already provisioned' }]);

    const { result, docs } = await canaryRound(['staging', 'team-a', 'team-b']);
    expect(result.endpoints.map((e) => [e.namespace, e.ok, e.status])).toEqual([
      ['staging', true, 200],
      ['team-a', true, 200],
      ['team-b', true, 200],
    ]);
    const byNs = endpointDocs(docs);
    for (const ns of ['staging', 'team-a', 'team-b']) {
      expect(byNs[ns]).toMatchObject({ CanarySuccess: 1, FailureKind: 'none', Host: `${MODEL}.${ns}.${DOMAIN}` });
      expect(byNs[ns]!.CertificateDaysToExpiry).toBeGreaterThan(14);
    }
  }, 600_000);

  it('a deleted namespace loses its records and certificate; a foreign record and the other namespaces stay', async () => {
    // Prepare: a record that is not ours under the namespace's name.
    const { route53, acm } = awsFor(tb.motoUrl, REGION);
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: tb.hostedZoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: { Name: `foreign.team-a.${DOMAIN}`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.10' }] },
            },
          ],
        },
      }),
    );
    const certBefore = (await listCertificates(acm)).find((c) => c.domainName === `*.team-a.${DOMAIN}`);
    expect(certBefore).toBeDefined();
    await tb.kubeAdmin().delete({ apiVersion: 'v1', kind: 'Namespace', name: 'team-a' });

    // Act
    const out = await handleNamespaceEvents(
      { template, events: namespaceEventsFromAudit(decodeLogsEvent(logsEvent([auditEvent('delete', 'namespaces', 'team-a')]))) },
      deps,
    );

    // Assess
    expect(out.runs.map((r) => [r.kind, r.namespace, r.outcome])).toEqual([['deprovision', 'team-a', 'started']]);
    const run = results.get(out.runs[0]!.executionName)!;
    if (run.status !== 'SUCCEEDED') throw new Error(`deprovision failed: ${JSON.stringify(run.error)}`);
    const records = await listRecords(route53, tb.hostedZoneId);
    const teamA = records.filter((r) => r.name.endsWith(`team-a.${DOMAIN}`)).map((r) => `${r.type} ${r.name}`);
    expect(teamA).toEqual([`A foreign.team-a.${DOMAIN}`]);
    expect(records.map((r) => r.name)).toEqual(
      expect.arrayContaining([`*.staging.${DOMAIN}`, `*.team-b.${DOMAIN}`, `_kserve-edge.team-b.${DOMAIN}`]),
    );
    const certs = await listCertificates(acm);
    expect(certs.find((c) => c.arn === certBefore!.arn)).toBeUndefined();
    expect(certs.map((c) => c.domainName).sort()).toEqual([`*.${DOMAIN}`, `*.staging.${DOMAIN}`, `*.team-b.${DOMAIN}`]);
    const ingress = await tb.kubeAdmin().get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api');
    expect(ingress?.metadata.annotations?.['alb.ingress.kubernetes.io/certificate-arn']).not.toContain(certBefore!.arn);
    // Nothing left for the sweep; the others still answer.
    expect((await sweepNamespaces({ template }, deps)).runs).toEqual([]);
    await tb.lb.reconcileNow();
    const { result } = await canaryRound(['staging', 'team-b']);
    expect(result.ok).toBe(true);
  }, 300_000);

  describe('the canary names the layer that broke, in its metrics', () => {
    const expectFailure = (docs: EmfDoc[], ns: string, kind: string) => {
      expect(endpointDocs(docs)[ns]).toMatchObject({ CanarySuccess: 0, FailureKind: kind });
      const failure = docs.find((d) => d.CanaryFailure === 1 && d.Namespace === ns);
      expect(failure).toMatchObject({ FailureKind: kind });
      expect(failure!._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'Namespace', 'Host', 'FailureKind']]);
      const round = docs.find((d) => d.CanaryEndpoints !== undefined);
      expect(round?.Failed).not.toBe('0');
    };

    it('wrong header value in the secret → auth', async () => {
      const sm = new SecretsManagerClient({
        endpoint: tb.motoUrl,
        region: REGION,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      const put = (values: string[]) =>
        sm.send(
          new PutSecretValueCommand({ SecretId: tb.secrets.apiTokensSecretId, SecretString: JSON.stringify({ headerValues: values }) }),
        );
      await put(['Wr0ngTokenWr0ngTokenWr0ngToken12']);
      try {
        const { result, docs } = await canaryRound(['staging']);
        expect(result.endpoints[0]).toMatchObject({ ok: false, failureKind: 'auth', status: 404 });
        expectFailure(docs, 'staging', 'auth');
        expect(JSON.stringify(docs)).not.toContain('Wr0ngToken');
      } finally {
        await put(tb.secrets.apiTokens);
      }
    }, 60_000);

    it('a wrong expected prediction → prediction', async () => {
      const { result, docs } = await canaryRound(['staging'], { canary: { expected: { outputName: 'predict', data: [2, 2] } } });
      expect(result.endpoints[0]).toMatchObject({ ok: false, failureKind: 'prediction', status: 200 });
      expectFailure(docs, 'staging', 'prediction');
    }, 60_000);

    it('a certificate the client does not trust → tls', async () => {
      const { KSERVE_EDGE_EXTRA_CA_FILE: _ca, ...withoutCa } = tb.env;
      void _ca;
      const { result, docs } = await canaryRound(['staging'], {}, withoutCa);
      expect(result.endpoints[0]).toMatchObject({ ok: false, failureKind: 'tls' });
      expectFailure(docs, 'staging', 'tls');
      expect(endpointDocs(docs).staging).not.toHaveProperty('CertificateDaysToExpiry');
    }, 60_000);

    it('the DNS record removed → dns', async () => {
      const { route53 } = awsFor(tb.motoUrl, REGION);
      const record = (await listRecords(route53, tb.hostedZoneId)).find((r) => r.name === `*.staging.${DOMAIN}` && r.type === 'CNAME')!;
      const change = (action: 'DELETE' | 'UPSERT') =>
        route53.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: tb.hostedZoneId,
            ChangeBatch: {
              Changes: [
                {
                  Action: action,
                  ResourceRecordSet: {
                    Name: `*.staging.${DOMAIN}`,
                    Type: 'CNAME',
                    TTL: 300,
                    ResourceRecords: record.values.map((Value) => ({ Value })),
                  },
                },
              ],
            },
          }),
        );
      await change('DELETE');
      try {
        const { result, docs } = await canaryRound(['staging']);
        expect(result.endpoints[0]).toMatchObject({ ok: false, failureKind: 'dns' });
        expectFailure(docs, 'staging', 'dns');
      } finally {
        await change('UPSERT');
      }
    }, 60_000);

    it('the model unreachable behind the gateway (the AuthorizationPolicy workaround removed) → http', async () => {
      await tb.kubeAdmin().delete({
        apiVersion: 'security.istio.io/v1beta1',
        kind: 'AuthorizationPolicy',
        namespace: 'istio-system',
        name: 'allow-predictor',
      });
      await tb.lb.reconcileNow();
      const { result, docs } = await canaryUntil(['staging'], (byNs) => byNs.staging?.CanarySuccess === 0);
      expect(result.endpoints[0]).toMatchObject({ ok: false, failureKind: 'http', status: 403 });
      expectFailure(docs, 'staging', 'http');
    }, 60_000);
  });
});
