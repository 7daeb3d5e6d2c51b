/**
 * End to end, KServe's Standard mode (formerly RawDeployment) as the cluster
 * default, with one InferenceService still on Knative mode (annotation
 * `serving.kserve.io/deploymentMode: Serverless`, the old name): a mixed
 * cluster, nested hostnames. The whole provision.asl.json with the packaged
 * functions against the testbed (real AWS Load Balancer Controller, IAM
 * enforcement).
 *
 * Standard mode's default template is `{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}`
 * with `ingressDomain: example.com`, so nested hostnames need both keys of
 * `inferenceservice-config`'s `ingress` JSON changed; Knative mode needs
 * config-domain only (its default template is nested already).
 */
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { cognitoRequest } from './harness';
import { awsFor, listRecords, provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NAMESPACES = ['team-std', 'team-kn'];
const ISVC_CONFIG = ['v1', 'ConfigMap', 'kubeflow', 'inferenceservice-config'] as const;

describe('provision: KServe Standard mode (mixed with Knative)', () => {
  let tb: Testbed;
  let request: Record<string, unknown>;

  beforeAll(async () => {
    tb = await startTestbed({
      authProvider: 'cognito',
      domain: DOMAIN,
      namespaces: NAMESPACES,
      clusterName: 'kubeflow',
      region: REGION,
      kserveDefaultMode: 'Standard',
    });
    // One team still runs its model in Knative mode, by the old mode name.
    await tb
      .kubeAdmin()
      .mergePatch(
        { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', namespace: 'team-kn', name: 'sklearn-irisv2' },
        { metadata: { annotations: { 'serving.kserve.io/deploymentMode': 'Serverless' } } },
        { fieldManager: 'kubectl' },
      );
    request = cognitoRequest(tb, { domain: DOMAIN, region: REGION, namespaces: NAMESPACES });
  }, 240_000);

  afterAll(async () => {
    await tb?.stop();
  }, 60_000);

  it('configures both modes for nested hostnames and the canary is green in each', async () => {
    const kube = tb.kubeAdmin();
    // Before the run, KServe (the testbed's stand-in) publishes Standard mode's default, flat-like, under example.com.
    const before = await kube.get('serving.kserve.io/v1beta1', 'InferenceService', 'team-std', 'sklearn-irisv2');
    expect((before?.status as { url?: string } | undefined)?.url).toBe('http://sklearn-irisv2-team-std.example.com');

    const result = await provisionWith(tb.env, request, 'e2e-standard-1');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(result.error)}`);
    const output = result.output as {
      canary: { namespaces: Array<{ namespace: string; host: string; status: number; prediction: unknown }> };
      cluster: {
        actions: Array<{ action: string; kind: string; name: string }>;
        hostnames: { layout: string; defaultMode: string; modes: Array<{ mode: string; current: string; changes: boolean }> };
      };
    };
    expect(output.canary.namespaces.map((n) => [n.namespace, n.host, n.status, n.prediction])).toEqual([
      ['team-std', `sklearn-irisv2.team-std.${DOMAIN}`, 200, [1, 1]],
      ['team-kn', `sklearn-irisv2.team-kn.${DOMAIN}`, 200, [1, 1]],
    ]);
    expect(output.cluster.hostnames).toEqual({
      layout: 'nested',
      defaultMode: 'Standard',
      modes: [
        { mode: 'Knative', current: 'nested', template: '{{.Name}}.{{.Namespace}}.{{.Domain}}', changes: false },
        { mode: 'Standard', current: 'flat', template: '{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}', changes: true },
      ],
    });
    expect(output.cluster.actions.filter((a) => a.kind === 'ConfigMap').map((a) => [a.action, a.name])).toEqual([
      ['patch', 'config-domain'],
      ['patch', 'inferenceservice-config'],
    ]);

    // KServe's ingress JSON: our two keys changed, every other setting kept, what we wrote recorded.
    const cfg = await kube.get(...ISVC_CONFIG);
    const ingress = JSON.parse((cfg?.data as Record<string, string>).ingress!) as Record<string, unknown>;
    expect(ingress).toMatchObject({
      domainTemplate: '{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}',
      ingressDomain: DOMAIN,
      ingressGateway: 'kubeflow/kubeflow-gateway',
      ingressClassName: 'istio',
      urlScheme: 'http',
    });
    expect(JSON.parse(cfg?.metadata.annotations?.['kserve-edge.io/ingress-hostnames'] ?? '{}')).toEqual({
      owner: 'kserve-edge',
      domainTemplate: '{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}',
      ingressDomain: DOMAIN,
    });
    expect(JSON.parse((cfg?.data as Record<string, string>).deploy!)).toEqual({ defaultDeploymentMode: 'Standard' });

    // Nested: one record per namespace, as always.
    const { route53 } = awsFor(tb.motoUrl, REGION);
    const names = (await listRecords(route53, tb.hostedZoneId))
      .filter((r) => r.type === 'CNAME' && r.name.startsWith('*'))
      .map((r) => r.name);
    expect(names.sort()).toEqual([`*.team-kn.${DOMAIN}`, `*.team-std.${DOMAIN}`]);
  }, 300_000);

  it('a second run converges; a changed ingressDomain by someone else is refused, not fought over', async () => {
    const again = await provisionWith(tb.env, request, 'e2e-standard-2');
    if (again.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(again.error)}`);
    expect((again.output as { cluster: { actions: Array<{ action: string }> } }).cluster.actions.every((a) => a.action === 'none')).toBe(
      true,
    );

    // A platform team points KServe elsewhere with kubectl.
    const kube = tb.kubeAdmin();
    const cfg = await kube.get(...ISVC_CONFIG);
    const ingress = JSON.parse((cfg?.data as Record<string, string>).ingress!) as Record<string, unknown>;
    await kube.mergePatch(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'kubeflow', name: 'inferenceservice-config' },
      { data: { ingress: JSON.stringify({ ...ingress, ingressDomain: 'models.corp.example' }) } },
      { fieldManager: 'kubectl-edit' },
    );
    const versionBefore = (await kube.get(...ISVC_CONFIG))?.metadata.resourceVersion;
    const refused = await provisionWith(tb.env, request, 'e2e-standard-3');
    expect(refused.status).toBe('FAILED');
    expect(refused.failState).toBe('ObjectOwnedByAnother');
    expect(refused.states.map((s) => s.name)).not.toContain('EnsureCertificates');
    expect((await kube.get(...ISVC_CONFIG))?.metadata.resourceVersion).toBe(versionBefore);
  }, 300_000);
});
