/**
 * Issue 10, defect 2, end to end: a run must not take other namespaces'
 * certificates off the ALB listener.
 *
 * - sequential: `provision [staging, prod]`, then `provision [staging]` (a
 *   console user re-running one namespace): prod still answers over TLS with
 *   its own certificate, and `plan` said why it keeps it;
 * - overlapping: two runs for different namespaces, ConfigureCluster of one
 *   held back (a gate around its Task handler) while the other goes ahead, in
 *   both completion orders: both namespaces end up serving.
 *
 * "Serving" is what a user sees: an HTTPS inference request to the model host
 * through the testbed's ALB, the certificate verified for that host (SNI).
 */
import { loadDefinition } from '../../local/definition';
import { localTaskHandlers } from '../../local/tasks';
import { runStateMachine, type RunResult } from '../../local/run';
import { buildPlan } from '../../cli/plan';
import { PatchConflictError } from '../../shared/errors';
import { FIELD_MANAGER } from '../../shared/ownership';
import { IRIS_INPUT } from '../../shared/request';
import { kubeFor } from '../../wiring/cluster';
import { loadConfig } from '../../wiring/config';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { cognitoRequest } from './harness';
import { failureOf, withEnv } from './reliability';
import { httpsTo } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NAMESPACES = ['staging', 'prod', 'team-a', 'team-b', 'team-c', 'team-d'];
const PATH = '/v2/models/sklearn-irisv2/infer';
const BODY = JSON.stringify(IRIS_INPUT);

/** A promise with its resolver, to hold a Task back until the other run got somewhere. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('the listener keeps every provisioned namespace (issue 10, defect 2)', () => {
  let tb: Testbed;
  let requestFor: (namespaces: string[]) => Record<string, unknown>;

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: NAMESPACES, clusterName: 'kubeflow', region: REGION });
    requestFor = (namespaces) => cognitoRequest(tb, { domain: DOMAIN, region: REGION, namespaces });
  }, 240_000);

  afterAll(async () => {
    await tb?.stop();
  }, 60_000);

  /** Runs provision.asl.json; `hold` wraps Task handlers by state name (the testbed env must be applied). */
  async function provision(
    namespaces: string[],
    name: string,
    hold: Record<string, { before?: Promise<void>; after?: () => void }> = {},
  ): Promise<RunResult> {
    const handlers = await localTaskHandlers();
    for (const [state, h] of Object.entries(hold)) {
      const inner = handlers[state]!;
      handlers[state] = async (input: unknown) => {
        await h.before;
        const out = await inner(input);
        h.after?.();
        return out;
      };
    }
    return runStateMachine({
      definition: loadDefinition(),
      handlers,
      input: requestFor(namespaces),
      executionName: name,
      waitSeconds: 0.1,
      retryIntervalMs: 200,
    });
  }

  const succeeded = (r: RunResult): string => (r.status === 'SUCCEEDED' ? 'SUCCEEDED' : JSON.stringify(failureOf(r)));

  /** An inference request to the namespace's model host; TLS verified for that host. Retried while the ALB catches up. */
  async function serves(namespace: string): Promise<{ status: number; error?: string }> {
    const host = `sklearn-irisv2.${namespace}.${DOMAIN}`;
    let last: { status: number; error?: string } = { status: 0 };
    for (let i = 0; i < 20; i++) {
      await tb.lb.reconcileNow();
      const info = await tb.lb.waitForAlb('istio-system', 'istio-ingress-api');
      const port = Number(info.listeners['443']?.split(':')[1]);
      try {
        const res = await httpsTo({
          port,
          host,
          path: PATH,
          method: 'POST',
          body: BODY,
          ca: tb.caPem,
          headers: { 'x-api-key': tb.secrets.apiTokens[0]! },
        });
        last = { status: res.status };
        if (res.status === 200) return last;
      } catch (err) {
        last = { status: 0, error: (err as { code?: string }).code ?? String(err) };
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return last;
  }

  it('provision [staging, prod], then [staging]: the second run succeeds and prod still serves', async () => {
    await withEnv({ ...tb.env, LOG_LEVEL: 'silent' }, async () => {
      expect(succeeded(await provision(['staging', 'prod'], 'both'))).toBe('SUCCEEDED');
      expect(await serves('prod')).toEqual({ status: 200 });

      // What `kserve-edge plan` shows for the second run: prod's certificate stays, and why.
      const report = await buildPlan(requestFor(['staging']), loadConfig());
      expect(report.listener.filter((c) => c.namespaces.includes('prod'))).toEqual([
        expect.objectContaining({
          action: 'keep',
          owner: 'ours',
          reason: 'namespace prod is still provisioned (ownership record ours) and active',
        }),
      ]);
      expect(report.listener.filter((c) => c.action === 'remove')).toEqual([]);

      expect(succeeded(await provision(['staging'], 'staging-only'))).toBe('SUCCEEDED');
    });
    expect(await serves('prod')).toEqual({ status: 200 });
    expect(await serves('staging')).toEqual({ status: 200 });
  }, 300_000);

  it('the API server refuses a write of the Ingress made from a stale read, or a create of one that exists: PatchConflict', async () => {
    await withEnv({ ...tb.env, LOG_LEVEL: 'silent' }, async () => {
      // As the workflow's own user (deploy/rbac.yaml), through the product's adapter.
      const kube = await kubeFor(loadConfig(), { name: 'kubeflow', region: REGION });
      const ref = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'istio-system', name: 'istio-ingress-api' };
      const read = (await kube.get(ref))!;
      const patch = (value: string) => ({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, namespace: ref.namespace, annotations: { 'kserve-edge.io/test': value } },
      });
      const stale = { resourceVersion: read.metadata.resourceVersion! };
      await kube.apply(patch('1'), { fieldManager: `${FIELD_MANAGER}-test`, force: true, precondition: stale });
      await expect(
        kube.apply(patch('2'), { fieldManager: `${FIELD_MANAGER}-test`, force: true, precondition: stale }),
      ).rejects.toBeInstanceOf(PatchConflictError);
      await expect(
        // A whole, valid Ingress (the API server validates before it finds the name taken), as the step sends it.
        kube.apply({ ...patch('3'), spec: read.spec }, { fieldManager: `${FIELD_MANAGER}-test`, force: true, precondition: 'absent' }),
      ).rejects.toBeInstanceOf(PatchConflictError);
      // Leave the Ingress as the runs wrote it.
      await kube.apply(
        { ...patch('1'), metadata: { ...patch('1').metadata, annotations: {} } },
        { fieldManager: `${FIELD_MANAGER}-test`, force: true },
      );
      expect((await kube.get(ref))!.metadata.annotations).not.toHaveProperty(['kserve-edge.io/test']);
    });
  }, 60_000);

  it('overlap, the held-back run completes last: its late ConfigureCluster keeps the other namespace', async () => {
    // A = [team-a] stops before ConfigureCluster until B = [team-b] has succeeded, then applies what it planned at the start.
    const bDone = gate();
    const [a, b] = await withEnv({ ...tb.env, LOG_LEVEL: 'silent' }, () =>
      Promise.all([
        provision(['team-a'], 'overlap-a1', { ConfigureCluster: { before: bDone.promise } }),
        provision(['team-b'], 'overlap-b1').finally(bDone.open),
      ]),
    );
    expect([succeeded(a), succeeded(b)]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await serves('team-b')).toEqual({ status: 200 });
    expect(await serves('team-a')).toEqual({ status: 200 });
  }, 300_000);

  it('overlap, the held-back run completes first: it applies between the other run’s ConfigureCluster and its DNS records', async () => {
    // C = [team-c] configures only after D = [team-d] has (D's ownership TXT is not written yet), and
    // D writes its records only after C has succeeded.
    const dConfigured = gate();
    const cDone = gate();
    const [c, d] = await withEnv({ ...tb.env, LOG_LEVEL: 'silent' }, () =>
      Promise.all([
        provision(['team-c'], 'overlap-c2', { ConfigureCluster: { before: dConfigured.promise } }).finally(cDone.open),
        provision(['team-d'], 'overlap-d2', { ConfigureCluster: { after: dConfigured.open }, UpsertDnsRecords: { before: cDone.promise } }),
      ]),
    );
    expect([succeeded(c), succeeded(d)]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await serves('team-c')).toEqual({ status: 200 });
    expect(await serves('team-d')).toEqual({ status: 200 });
    // And nothing was lost on the way: the earlier namespaces still serve.
    for (const ns of ['staging', 'prod', 'team-a', 'team-b']) expect(await serves(ns)).toEqual({ status: 200 });
  }, 300_000);
});
