/**
 * A hostname is not a deployment (#10 §4.3), end to end with the real AWS Load
 * Balancer Controller: each way the controller refuses to deploy the Ingress
 * a run wrote ends the run in `LoadBalancerRejected` with the controller's
 * message, and no DNS record points at an ALB that does not serve the run.
 *
 * | refusal                                   | driven by                                                                 | controller's event  |
 * |-------------------------------------------|---------------------------------------------------------------------------|---------------------|
 * | a certificate ARN unknown to ACM          | Kubeflow's `istio-ingress` already lists it (the run keeps foreign ones)  | FailedDeployModel   |
 * | a certificate that is not ISSUED          | the same, with a foreign certificate ACM reports PENDING_VALIDATION       | FailedDeployModel   |
 * | more than 25 SNI certificates on the ALB  | Kubeflow's `istio-ingress` already holds 26 foreign certificates          | none: the run refuses before writing (defect 4) |
 * | a bad annotation the webhook does not see | `ip-address-type: ipv5` on Kubeflow's Ingress (the webhook checks class, group and conditions only) | FailedBuildModel |
 *
 * One testbed per case: client-go's event recorder drops an object's events
 * beyond a burst of 25 (then one per 5 minutes), and a refused Ingress is
 * retried, with an event each time, until it is fixed.
 */
import { DescribeCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { failureOf } from './reliability';
import { awsFor, listRecords, provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const INGRESS = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'istio-system', name: 'istio-ingress' };
const UNKNOWN_ARN = 'arn:aws:acm:us-west-2:123456789012:certificate/00000000-0000-4000-8000-000000000000';

function request(tb: Testbed, namespaces: string[]): Record<string, unknown> {
  return {
    domain: DOMAIN,
    cluster: { name: 'kubeflow', region: REGION },
    namespaces,
    auth: { provider: 'dex', loginSecretId: tb.secrets.dexLoginSecretId },
    canary: { expected: { outputName: 'predict', data: [1, 1] } },
    // A detection that failed would otherwise wait out 30 minutes; this bounds it.
    deadlines: { loadBalancerSeconds: 120 },
  };
}

async function withTestbed(namespaces: string[], body: (tb: Testbed) => Promise<void>): Promise<void> {
  const tb = await startTestbed({
    authProvider: 'dex',
    domain: DOMAIN,
    namespaces,
    clusterName: 'kubeflow',
    region: REGION,
    lbController: 'real',
  });
  try {
    await body(tb);
  } finally {
    await tb.stop();
  }
}

/** What a Kubeflow admin does with kubectl: a merge patch of the Ingress's annotations. */
async function annotate(tb: Testbed, annotations: Record<string, string | null>): Promise<void> {
  await tb.kubeAdmin().mergePatch(INGRESS, { metadata: { annotations } }, { fieldManager: 'kubectl' });
}

async function certificateAnnotation(tb: Testbed): Promise<string> {
  const ingress = await tb.kubeAdmin().get(INGRESS.apiVersion, INGRESS.kind, INGRESS.namespace, INGRESS.name);
  return ingress?.metadata.annotations?.['alb.ingress.kubernetes.io/certificate-arn'] ?? '';
}

/** Kubeflow's ALB's hostname, as the Ingress status has it. */
async function statusHostname(tb: Testbed): Promise<string | undefined> {
  const ingress = (await tb.kubeAdmin().get(INGRESS.apiVersion, INGRESS.kind, INGRESS.namespace, INGRESS.name)) as
    { status?: { loadBalancer?: { ingress?: Array<{ hostname?: string }> } } } | undefined;
  return ingress?.status?.loadBalancer?.ingress?.[0]?.hostname;
}

/** Runs provisioning for `namespace` and checks the refusal: the named error, the controller's message, no record for it. */
async function expectRejected(tb: Testbed, namespaces: string[], name: string, message: RegExp): Promise<void> {
  const hostnameBefore = await statusHostname(tb);
  expect(hostnameBefore).toBeDefined();
  const result = await provisionWith(tb.env, request(tb, namespaces), name);
  expect(failureOf(result)).toMatchObject({ failState: 'LoadBalancerRejected' });
  expect(failureOf(result).message).toMatch(message);
  expect(failureOf(result).message).toMatch(/refused Ingress istio-system\/istio-ingress/);
  expect(result.states.some((s) => s.name === 'UpsertDnsRecords')).toBe(false);
  const { route53 } = awsFor(tb.motoUrl, REGION);
  const records = await listRecords(route53, tb.hostedZoneId);
  // The namespace's record and its ownership TXT (validation CNAMEs are expected: the certificate was issued).
  const names = namespaces.flatMap((ns) => [`*.${ns}.${DOMAIN}`, `_kserve-edge.${ns}.${DOMAIN}`]);
  expect(records.filter((r) => names.includes(r.name))).toEqual([]);
  // The ALB still has the name it had: the hostname was there all along, and proved nothing.
  expect(await statusHostname(tb)).toBe(hostnameBefore);
}

describe('the controller refuses the Ingress a run wrote: LoadBalancerRejected, no DNS change (#10 §4.3)', () => {
  it('a certificate ARN unknown to ACM', async () => {
    await withTestbed(['staging'], async (tb) => {
      await annotate(tb, {
        'alb.ingress.kubernetes.io/certificate-arn': UNKNOWN_ARN,
        'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
      });
      await expectRejected(tb, ['staging'], 'refused-unknown', /FailedDeployModel.*CertificateNotFound/);
      expect((await certificateAnnotation(tb)).startsWith(UNKNOWN_ARN)).toBe(true);
    });
  }, 300_000);

  it('a certificate that is not ISSUED', async () => {
    await withTestbed(['staging'], async (tb) => {
      const { acm } = awsFor(tb.motoUrl, REGION);
      const pending = (await acm.send(new RequestCertificateCommand({ DomainName: `kubeflow.${DOMAIN}`, ValidationMethod: 'DNS' })))
        .CertificateArn!;
      tb.lb.awsProxy!.failCertificates({ arns: [pending], status: 'PENDING_VALIDATION' });
      await annotate(tb, {
        'alb.ingress.kubernetes.io/certificate-arn': pending,
        'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
      });
      await expectRejected(tb, ['staging'], 'refused-pending', /FailedDeployModel.*CertificateNotFound.*not found/);
    });
  }, 300_000);

  it('more than 25 SNI certificates on the load balancer', async () => {
    await withTestbed(['staging'], async (tb) => {
      // Kubeflow's Ingress already serves 26 certificates of other tools (1 default + 25 SNI, the whole quota);
      // the namespace goes to ALB shard 1 (issue 11), but the domain's certificate belongs beside Kubeflow's too.
      const { acm } = awsFor(tb.motoUrl, REGION);
      const foreign: string[] = [];
      for (let i = 0; i < 26; i++) {
        foreign.push(
          (await acm.send(new RequestCertificateCommand({ DomainName: `app${i}.other.example.org`, ValidationMethod: 'DNS' })))
            .CertificateArn!,
        );
      }
      await waitIssued(acm, foreign);
      await annotate(tb, {
        'alb.ingress.kubernetes.io/certificate-arn': foreign.join(','),
        'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
      });
      await tb.lb.waitForAlb('istio-system', 'istio-ingress');
      // The run counts the listener's foreign certificates with its own before writing (#10 §4.4), so the
      // controller never gets a list it would refuse with TooManyCertificates (that refusal itself is
      // shown in lb-controller-real.test.ts): InvalidRequest naming both counts, nothing written.
      const before = await certificateAnnotation(tb);
      const result = await provisionWith(tb.env, request(tb, ['staging']), 'refused-quota');
      expect(failureOf(result)).toMatchObject({ failState: 'InvalidRequest' });
      expect(failureOf(result).message).toMatch(/would hold 27 certificates \(26 not ours, 1 of kserve-edge\)/);
      expect(result.states.some((s) => s.name === 'UpsertDnsRecords')).toBe(false);
      expect(await certificateAnnotation(tb)).toBe(before);
    });
  }, 300_000);

  it('a bad annotation the webhook lets through', async () => {
    await withTestbed(['staging'], async (tb) => {
      await annotate(tb, { 'alb.ingress.kubernetes.io/ip-address-type': 'ipv5' });
      await expectRejected(tb, ['staging'], 'refused-annotation', /FailedBuildModel.*unknown IPAddressType: ipv5/);
    });
  }, 300_000);
});

/** Waits until moto has issued the certificates (MOTO_ACM_VALIDATION_WAIT). */
async function waitIssued(acm: ReturnType<typeof awsFor>['acm'], arns: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const arn of arns) {
    for (;;) {
      const status = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate?.Status;
      if (status === 'ISSUED') break;
      if (Date.now() > deadline) throw new Error(`${arn} not ISSUED after 60 s (${status})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
