/**
 * Named fixtures for the cluster planner and steps: requests, a stock
 * Kubeflow + Knative cluster, and objects as a human following the guide
 * (kubectl / kustomize) would have left them.
 */
import type { KubeObject } from '../../../shared/ports';
import { parseProvisionRequest, type ProvisionRequest } from '../../../shared/request';
import { ownedLabels } from '../../../shared/ownership';
import { guideIstioIngress } from '../../../testbed/cluster';

export const ARN_A = 'arn:aws:acm:us-west-2:111122223333:certificate/abc';
export const ARN_B = 'arn:aws:acm:us-west-2:111122223333:certificate/bcd';
/** A certificate somebody else put on Kubeflow's listener (the dashboard's). */
export const ARN_FOREIGN = 'arn:aws:acm:us-west-2:111122223333:certificate/kubeflow-dashboard';
/** One of ours from an earlier run, no longer wanted. */
export const ARN_STALE = 'arn:aws:acm:us-west-2:111122223333:certificate/old-ours';

/** Strong-looking tokens that pass validateHeaderValues. */
export const TOKEN_1 = 'Zt3o9w1Qm2xVb7Rk4Lp8Hs6Jd0Fy5Nc';
export const TOKEN_2 = 'pQ7rS2tU9vW4xY1zA6bC3dE8fG5hJ0kL';

export function cognitoRequest(overrides: Record<string, unknown> = {}): ProvisionRequest {
  return parseProvisionRequest({
    domain: 'platform.example.com',
    cluster: { name: 'kf', region: 'us-west-2' },
    namespaces: ['staging'],
    auth: { provider: 'cognito', headerValuesSecretId: 'kserve-edge/api-tokens' },
    ...overrides,
  });
}

export function dexRequest(overrides: Record<string, unknown> = {}): ProvisionRequest {
  return parseProvisionRequest({
    domain: 'platform.example.com',
    cluster: { name: 'kf', region: 'us-west-2' },
    namespaces: ['staging'],
    auth: { provider: 'dex', loginSecretId: 'kserve-edge/dex-login' },
    ...overrides,
  });
}

/** The IngressClass the AWS Load Balancer Controller's chart creates. */
export function albIngressClass(controller = 'ingress.k8s.aws/alb'): KubeObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'alb' }, spec: { controller } };
}

/** Knative's stock config-domain (only `_example`, as shipped). */
export function stockConfigDomain(extraData: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config-domain', namespace: 'knative-serving', labels: { 'app.kubernetes.io/name': 'knative-serving' } },
    data: {
      _example: '################################\n# This is an example.\n################################\nexample.com: |\n',
      ...extraData,
    },
  };
}

/** config-domain after the guide's edit for platform.example.com. */
export function editedConfigDomain(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config-domain', namespace: 'knative-serving' },
    data: { 'platform.example.com': '' },
  };
}

/** The AuthorizationPolicy from issue #82, as `kubectl apply -f allow-predictor-transformer.yaml` leaves it. */
export function handMadePolicy(name: 'allow-predictor' | 'allow-transformer', paths?: string[]): KubeObject {
  return {
    apiVersion: 'security.istio.io/v1beta1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: 'istio-system', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    spec: {
      selector: { matchLabels: { component: name === 'allow-predictor' ? 'predictor' : 'transformer' } },
      action: 'ALLOW',
      rules: [
        { to: [{ operation: { paths: paths ?? ['/metrics', '/healthz', '/ready', '/wait-for-drain', '/v1/models/*', '/v2/models/*'] } }] },
      ],
    },
  };
}

/**
 * Kubeflow's own istio-ingress after the Load Balancer guide (https overlay), with the dashboard certificate:
 * the testbed's base-overlay Ingress with the overlay's HTTPS listener and certificate, and an ALB in its status.
 */
export function kubeflowIngress(certificateArn = ARN_FOREIGN): KubeObject {
  const guide = guideIstioIngress();
  return {
    ...guide,
    metadata: {
      ...guide.metadata,
      annotations: {
        ...guide.metadata.annotations,
        'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
        'alb.ingress.kubernetes.io/certificate-arn': certificateArn,
      },
    },
    status: { loadBalancer: { ingress: [{ hostname: 'k8s-istiosys-istioing-kf-1.us-west-2.elb.amazonaws.com' }] } },
  };
}

/** Marks an object as ours. */
export function owned<T extends KubeObject>(obj: T, ownerId = 'kserve-edge'): T {
  return { ...obj, metadata: { ...obj.metadata, labels: { ...obj.metadata.labels, ...ownedLabels(ownerId) } } };
}
