/**
 * Helpers the end-to-end suites share: starting the testbed for JWT mode, and
 * doing and reading what the guide and the load balancer controller do,
 * without the product code: the guide's cluster steps, an Ingress's status
 * hostname, and the ALB as ELBv2 shows it (read through the testbed's AWS
 * proxy, so with the ELBv2 corrections the controller and the product see).
 */
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { child, members, queryCall, text, type XmlNode } from '../../testbed/lib/aws-query';
import type { KubeClient } from '../../testbed/lib/kube';
import { startTestbed, type Testbed } from '../../testbed/testbed';

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
  const tb = await startTestbed({
    authProvider: 'cognito',
    domain: o.domain,
    namespaces: [o.namespace],
    clusterName: 'kubeflow',
    region: o.region,
    lbController: 'real',
    tokenIssuer: true,
  });
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
