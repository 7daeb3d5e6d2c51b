/**
 * Helpers the end-to-end suites share: starting the testbed with the real load
 * balancer controller (and for JWT mode), issued certificates, and
 * doing and reading what the guide and the load balancer controller do,
 * without the product code: the guide's cluster steps, an Ingress's status
 * hostname, and the ALB as ELBv2 shows it (read through the testbed's AWS
 * proxy, so with the ELBv2 corrections the controller and the product see).
 */
import { DescribeCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { child, members, queryCall, text, type XmlNode } from '../../testbed/lib/aws-query';
import type { KubeClient } from '../../testbed/lib/kube';
import { waitFor } from '../../testbed/lib/net';
import { startTestbed, type Testbed, type TestbedOptions } from '../../testbed/testbed';

/**
 * Options for a testbed with the REAL AWS Load Balancer Controller: Cognito
 * (header tokens) as the provider, one profile namespace, cluster `kubeflow`
 * in us-west-2; `extra` adds or overrides (e.g. `tokenIssuer: true`).
 */
export function realLbcOptions(domain: string, namespace: string, extra: Partial<TestbedOptions> = {}): TestbedOptions {
  return {
    authProvider: 'cognito',
    domain,
    namespaces: [namespace],
    clusterName: 'kubeflow',
    region: 'us-west-2',
    lbController: 'real',
    ...extra,
  };
}

/** Requests a DNS-validated ACM certificate (in moto) for each name, one after the other; their ARNs in order. */
export async function requestCertificates(tb: Testbed, names: string[]): Promise<string[]> {
  const arns: string[] = [];
  for (const name of names) {
    const out = await tb.aws.acm.send(new RequestCertificateCommand({ DomainName: name, ValidationMethod: 'DNS' }));
    arns.push(out.CertificateArn!);
  }
  return arns;
}

/** Waits until moto issues every certificate (MOTO_ACM_VALIDATION_WAIT). */
export async function waitIssued(tb: Testbed, arns: string[]): Promise<void> {
  for (const arn of arns) {
    await waitFor(
      async () => (await tb.aws.acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate?.Status === 'ISSUED',
      { what: `${arn} ISSUED`, timeoutMs: 30_000, intervalMs: 200 },
    );
  }
}

/** One ELBv2 Query API call (`action` with `params`) through the testbed's AWS proxy; the `<action>Result` node. */
export function elbv2(tb: Testbed, action: string, params: Record<string, unknown> = {}): Promise<XmlNode> {
  return queryCall({
    endpoint: tb.lb.awsProxy!.url,
    service: 'elasticloadbalancing',
    region: tb.options.region,
    version: '2015-12-01',
    action,
    params,
  });
}

/** The ARN of the load balancer whose DNS name is `hostname`; throws when ELBv2 has none. */
export async function albArnFor(tb: Testbed, hostname: string): Promise<string> {
  const lbs = members(child(await elbv2(tb, 'DescribeLoadBalancers'), 'LoadBalancers'));
  const lb = lbs.find((l) => text(l, 'DNSName') === hostname);
  if (!lb) throw new Error(`no load balancer with DNS name ${hostname}`);
  return text(lb, 'LoadBalancerArn');
}

/** A listener's certificates as DescribeListenerCertificates lists them: the default one(s) and the SNI ones, sorted. */
export async function listenerCertificates(tb: Testbed, listenerArn: string): Promise<{ default: string[]; sni: string[] }> {
  const certs = members(child(await elbv2(tb, 'DescribeListenerCertificates', { ListenerArn: listenerArn }), 'Certificates'));
  return {
    default: certs.filter((c) => text(c, 'IsDefault') === 'true').map((c) => text(c, 'CertificateArn')),
    sni: certs
      .filter((c) => text(c, 'IsDefault') !== 'true')
      .map((c) => text(c, 'CertificateArn'))
      .sort(),
  };
}

/** The first hostname in an Ingress's `status.loadBalancer` (the controller's ALB), or undefined before it has one. */
export async function ingressHostname(kube: KubeClient, name: string, namespace = 'istio-system'): Promise<string | undefined> {
  const ing = await kube.get('networking.k8s.io/v1', 'Ingress', namespace, name);
  return (ing?.status as { loadBalancer?: { ingress?: Array<{ hostname?: string }> } } | undefined)?.loadBalancer?.ingress?.[0]?.hostname;
}

/** The guide's DNS step: a CNAME `name` → `value` (TTL 300) in the testbed's hosted zone, created or replaced. */
export async function upsertCname(tb: Testbed, name: string, value: string): Promise<void> {
  await tb.aws.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: tb.hostedZoneId,
      ChangeBatch: {
        Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: name, Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: value }] } }],
      },
    }),
  );
}

/**
 * The guide's cluster steps besides the Ingress, done by hand (field manager
 * kubectl): the AuthorizationPolicy `allow-predictor` letting `/v2/models/*`
 * through to predictors, and Knative's config-domain set to `domain` (its
 * `_example` removed, as `kubectl patch ... null` does).
 */
export async function applyGuidePolicyAndDomain(kube: KubeClient, domain: string): Promise<void> {
  await kube.apply(
    {
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'allow-predictor', namespace: 'istio-system' },
      spec: {
        selector: { matchLabels: { component: 'predictor' } },
        action: 'ALLOW',
        rules: [{ to: [{ operation: { paths: ['/v2/models/*'] } }] }],
      },
    },
    { fieldManager: 'kubectl', force: true },
  );
  await kube.mergePatch(
    { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'knative-serving', name: 'config-domain' },
    { data: { [domain]: '', _example: null } },
  );
}

/**
 * The testbed for JWT mode (Cognito at first, the real load balancer
 * controller, a token issuer), its environment applied to process.env (with
 * silent logs) for the product code run in this process, and the issuer's
 * machine-to-machine client stored in Secrets Manager as `clientSecretId`
 * (the canary's client credentials). The caller restores process.env.
 */
export async function startJwtTestbed(o: { domain: string; namespace: string; region: string; clientSecretId: string }): Promise<Testbed> {
  const tb = await startTestbed(realLbcOptions(o.domain, o.namespace, { region: o.region, tokenIssuer: true }));
  Object.assign(process.env, tb.env, { LOG_LEVEL: 'silent' });
  const client = tb.tokenIssuer!.client();
  await tb.aws.secretsManager.send(
    new CreateSecretCommand({
      Name: o.clientSecretId,
      SecretString: JSON.stringify({ clientId: client.clientId, clientSecret: client.clientSecret }),
    }),
  );
  return tb;
}

/**
 * A provisioning request in Cognito mode: the testbed's header tokens (its
 * Secrets Manager secret), cluster `kubeflow` in `region`, and the canary
 * expecting the sample model's prediction.
 */
export function cognitoRequest(tb: Testbed, o: { domain: string; region: string; namespaces: string[] }): Record<string, unknown> {
  return {
    domain: o.domain,
    cluster: { name: 'kubeflow', region: o.region },
    namespaces: o.namespaces,
    auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
    canary: { expected: { outputName: 'predict', data: [1, 1] } },
  };
}

/**
 * A provisioning request in Dex mode with one certificate (the guide's
 * layout): the testbed's Dex login secret, cluster `kubeflow` in `region`, and
 * the canary expecting the sample model's prediction.
 */
export function dexRequest(tb: Testbed, o: { domain: string; region: string; namespaces: string[] }): Record<string, unknown> {
  return {
    domain: o.domain,
    cluster: { name: 'kubeflow', region: o.region },
    namespaces: o.namespaces,
    auth: { provider: 'dex', loginSecretId: tb.secrets.dexLoginSecretId },
    certificates: { mode: 'single' },
    canary: { expected: { outputName: 'predict', data: [1, 1] } },
  };
}
