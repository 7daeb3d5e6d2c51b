/**
 * Coexistence with GitOps (issue 13 item 5), against the real kube-apiserver
 * and the real AWS Load Balancer Controller.
 *
 * Kubeflow's `istio-ingress` (Dex) is managed by another tool before the run:
 *
 * 1. Argo CD syncing the load-balancer add-on (overlays/https) with
 *    server-side apply (field manager `argocd-controller`, operation Apply);
 * 2. then a `kubectl apply` (client-side: field manager
 *    `kubectl-client-side-apply`, operation Update, with the
 *    `kubectl.kubernetes.io/last-applied-configuration` annotation) of the same
 *    overlay with another certificate.
 *
 * Each time the workflow refuses with ObjectOwnedByAnother naming the manager
 * and the field, before any write (the Ingress's resourceVersion is
 * unchanged, no DNS record); with `"adopt": true` it takes the two annotations
 * with force, its ConfigureCluster output says so, and the canary is green.
 */
import { RequestCertificateCommand, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { guideIstioIngress } from '../../testbed/cluster';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { dexRequest } from './harness';
import type { RunResult } from '../../local/run';
import { failureOf } from './reliability';
import { awsFor, listRecords, provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const INGRESS = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'istio-system', name: 'istio-ingress' };
const CERT_FIELD = '.metadata.annotations.alb.ingress.kubernetes.io/certificate-arn';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The https overlay as Argo CD or kubectl renders it: the base Ingress with a certificate and HTTPS 443. */
function httpsOverlay(certificateArn: string): ReturnType<typeof guideIstioIngress> {
  const ingress = guideIstioIngress();
  ingress.metadata.annotations = {
    ...ingress.metadata.annotations,
    'alb.ingress.kubernetes.io/certificate-arn': certificateArn,
    'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
  };
  return ingress;
}

type KubeObjectOf<F extends () => Promise<unknown>> = Awaited<ReturnType<F>>;

/** The ConfigureCluster output of a run (ResultPath `$.cluster`: the step's actions and their reasons). */
function configureClusterOutput(result: RunResult): { actions: Array<{ kind: string; name: string; action: string; reason: string }> } {
  const done = result.events.find((e) => e.type === 'StateSucceeded' && e.state === 'ConfigureCluster') as
    { output: { cluster: { actions: Array<{ kind: string; name: string; action: string; reason: string }> } } } | undefined;
  if (!done) throw new Error('ConfigureCluster did not succeed');
  return done.output.cluster;
}

describe('GitOps: a field manager that keeps applying the Ingress is not fought unless adopt', () => {
  let tb: Testbed;
  let foreignArns: string[];
  const figures: Record<string, number> = {};

  const request = (extra: Record<string, unknown> = {}) => ({
    ...dexRequest(tb, { domain: DOMAIN, region: REGION, namespaces: ['staging'] }),
    ...extra,
  });

  const readIngress = async () => (await tb.kubeAdmin().get(INGRESS.apiVersion, INGRESS.kind, INGRESS.namespace, INGRESS.name))!;

  /** Runs the workflow and checks the refusal: the named error, the manager and field in its cause, nothing written. */
  /** Waits until the load-balancer controller is done with the Ingress (its resourceVersion holds for 3 s), so only a run could change it. */
  async function settled(): Promise<KubeObjectOf<typeof readIngress>> {
    let last = await readIngress();
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 3000));
      const now = await readIngress();
      if (now.metadata.resourceVersion === last.metadata.resourceVersion) return now;
      last = now;
    }
    throw new Error('the Ingress kept changing for 60 s');
  }

  async function expectRefused(name: string, manager: string, via: string): Promise<void> {
    const before = await settled();
    const t0 = Date.now();
    const result = await provisionWith(tb.env, request(), name);
    figures[`${name}Ms`] = Date.now() - t0;
    expect(failureOf(result)).toMatchObject({ failState: 'ObjectOwnedByAnother' });
    const message = failureOf(result).message;
    expect(message).toContain('Ingress istio-system/istio-ingress');
    expect(message).toContain(`"${manager}" (${via}) owns ${CERT_FIELD}`);
    expect(result.states.some((s) => s.name === 'UpsertDnsRecords')).toBe(false);
    const after = await readIngress();
    // Refused before any write: the Ingress is the object it was, and kserve-edge manages none of it.
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.metadata.managedFields?.map((f) => f.manager)).not.toContain('kserve-edge');
    const { route53 } = awsFor(tb.motoUrl, REGION);
    expect((await listRecords(route53, tb.hostedZoneId)).filter((r) => r.name === `*.staging.${DOMAIN}`)).toEqual([]);
  }

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'dex', domain: DOMAIN, namespaces: ['staging'], clusterName: 'kubeflow', region: REGION });
    // Certificates of the Kubeflow dashboard, not ours (no owner tag), issued so the controller can deploy them.
    const { acm } = awsFor(tb.motoUrl, REGION);
    foreignArns = [];
    for (const host of ['dashboard.other.example.org', 'dashboard2.other.example.org']) {
      foreignArns.push((await acm.send(new RequestCertificateCommand({ DomainName: host, ValidationMethod: 'DNS' }))).CertificateArn!);
    }
    const deadline = Date.now() + 60_000;
    for (const arn of foreignArns) {
      while ((await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate?.Status !== 'ISSUED') {
        if (Date.now() > deadline) throw new Error(`${arn} not ISSUED after 60 s`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }, 240_000);

  afterAll(async () => {
    console.log(`gitops figures: ${JSON.stringify(figures)}`);
    await tb?.stop();
  }, 60_000);

  it('Argo CD owns the annotations (server-side apply): ObjectOwnedByAnother naming argocd-controller, nothing written', async () => {
    await tb.kubeAdmin().apply(httpsOverlay(foreignArns[0]!), { fieldManager: 'argocd-controller', force: true });
    const entry = (await readIngress()).metadata.managedFields?.find((f) => f.manager === 'argocd-controller');
    expect(entry?.operation).toBe('Apply');
    await expectRefused('gitops-argocd', 'argocd-controller', 'server-side apply');
  }, 300_000);

  it('kubectl client-side apply of another certificate (Update + last-applied-configuration): refused, naming it', async () => {
    const overlay = httpsOverlay(foreignArns[1]!);
    // What `kubectl apply` (client-side) sends: a patch recording the configuration it applied, under its own manager name.
    const lastApplied = JSON.stringify(overlay);
    await tb
      .kubeAdmin()
      .mergePatch(
        INGRESS,
        { metadata: { annotations: { ...overlay.metadata.annotations, [LAST_APPLIED]: lastApplied } } },
        { fieldManager: 'kubectl-client-side-apply' },
      );
    const entry = (await readIngress()).metadata.managedFields?.find((f) => f.manager === 'kubectl-client-side-apply');
    expect(entry?.operation).toBe('Update');
    await expectRefused('gitops-kubectl-csa', 'kubectl-client-side-apply', 'client-side apply');
  }, 300_000);

  it('with "adopt": true the run takes the two annotations, says so, and the canary is green', async () => {
    const t0 = Date.now();
    const result = await provisionWith(tb.env, request({ adopt: true }), 'gitops-adopt');
    figures.adoptMs = Date.now() - t0;
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    const output = result.output as { canary: { namespaces: Array<{ namespace: string; status: number; prediction: unknown }> } };
    expect(output.canary.namespaces.map((n) => [n.namespace, n.status, n.prediction])).toEqual([['staging', 200, [1, 1]]]);

    const ingressStep = configureClusterOutput(result).actions.find((a) => a.kind === 'Ingress');
    expect(ingressStep).toMatchObject({ name: 'istio-ingress', action: 'apply' });
    expect(ingressStep?.reason).toContain(`adopt (adopt=true): took "kubectl-client-side-apply" (client-side apply) owns ${CERT_FIELD}`);

    const ingress = await readIngress();
    // The certificate that is not ours stays first (the listener's default); ours follows.
    const arns = ingress.metadata.annotations?.['alb.ingress.kubernetes.io/certificate-arn']?.split(',') ?? [];
    expect(arns[0]).toBe(foreignArns[1]);
    expect(arns).toHaveLength(2);
    const ours = ingress.metadata.managedFields?.find((f) => f.manager === 'kserve-edge' && f.operation === 'Apply');
    expect(JSON.stringify(ours)).toContain('f:alb.ingress.kubernetes.io/certificate-arn');
    // Taken from kubectl: it no longer owns the field (server-side apply moved the ownership).
    const kubectl = ingress.metadata.managedFields?.find((f) => f.manager === 'kubectl-client-side-apply');
    expect(JSON.stringify(kubectl ?? {})).not.toContain('f:alb.ingress.kubernetes.io/certificate-arn');
  }, 300_000);

  it('a rerun without adopt now passes: the fields are ours', async () => {
    const result = await provisionWith(tb.env, request(), 'gitops-rerun');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    expect(configureClusterOutput(result).actions.find((a) => a.kind === 'Ingress')).toMatchObject({ action: 'none' });
  }, 300_000);
});
