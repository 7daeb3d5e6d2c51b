/**
 * Least privilege in the cluster, checked against the real API server with the
 * workflow's own credentials (user `kserve-edge-workflow`, group
 * `kserve-edge:workflow`, bound only to deploy/rbac.yaml):
 *
 * - everything the workflow does is allowed (SelfSubjectAccessReview);
 * - a list of things it must not be able to do is refused: the review says
 *   no, and the request itself answers 403 (writes are sent with
 *   `dryRun=All`, so nothing could change even if RBAC were wrong).
 */
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { writeFigures } from './reliability';

const DOMAIN = 'platform.example.com';

interface Attr {
  group?: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** What the workflow does (shared/k8s/client.ts via shared/plan/cluster.ts). */
const NEEDED: Array<[string, Attr]> = [
  ['get', { resource: 'configmaps', namespace: 'knative-serving', name: 'config-domain' }],
  ['patch', { resource: 'configmaps', namespace: 'knative-serving', name: 'config-domain' }],
  ['get', { group: 'security.istio.io', resource: 'authorizationpolicies', namespace: 'istio-system', name: 'allow-predictor' }],
  ['patch', { group: 'security.istio.io', resource: 'authorizationpolicies', namespace: 'istio-system', name: 'allow-transformer' }],
  ['create', { group: 'security.istio.io', resource: 'authorizationpolicies', namespace: 'istio-system' }],
  ['get', { group: 'networking.k8s.io', resource: 'ingresses', namespace: 'istio-system', name: 'istio-ingress-api' }],
  ['patch', { group: 'networking.k8s.io', resource: 'ingresses', namespace: 'istio-system', name: 'istio-ingress' }],
  ['create', { group: 'networking.k8s.io', resource: 'ingresses', namespace: 'istio-system' }],
  ['get', { resource: 'namespaces', name: 'team-a' }],
  ['list', { resource: 'namespaces' }],
  // GetLoadBalancerAddress: the load balancer controller's refusals of the Ingress.
  ['list', { resource: 'events', namespace: 'istio-system' }],
  // Hostnames (shared/plan/hostnameConfig.ts): Knative's domain-template, KServe's ingress settings and modes.
  ['get', { resource: 'configmaps', namespace: 'knative-serving', name: 'config-network' }],
  ['patch', { resource: 'configmaps', namespace: 'knative-serving', name: 'config-network' }],
  ['get', { resource: 'configmaps', namespace: 'kubeflow', name: 'inferenceservice-config' }],
  ['patch', { resource: 'configmaps', namespace: 'kubeflow', name: 'inferenceservice-config' }],
  ['list', { group: 'serving.kserve.io', resource: 'inferenceservices' }],
];

interface Denied {
  what: string;
  verb: string;
  attr: Attr;
  /** The request itself; writes carry dryRun=All. */
  http: { method: string; path: string; body?: unknown; contentType?: string };
}

const dry = (path: string) => `${path}${path.includes('?') ? '&' : '?'}dryRun=All`;
const cm = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: {} });

/** A merge patch the workflow must not send (sent with dryRun=All). */
const mergePatch = (what: string, attr: Attr, path: string, body: unknown): Denied => ({
  what,
  verb: 'patch',
  attr,
  http: { method: 'PATCH', path: dry(path), body, contentType: 'application/merge-patch+json' },
});

const DENIED: Denied[] = [
  {
    what: 'read a Secret in istio-system',
    verb: 'get',
    attr: { resource: 'secrets', namespace: 'istio-system', name: 'istio-ca-secret' },
    http: { method: 'GET', path: '/api/v1/namespaces/istio-system/secrets/istio-ca-secret' },
  },
  {
    what: 'list Secrets in every namespace',
    verb: 'list',
    attr: { resource: 'secrets' },
    http: { method: 'GET', path: '/api/v1/secrets' },
  },
  {
    what: 'read a Secret in a profile namespace',
    verb: 'get',
    attr: { resource: 'secrets', namespace: 'team-a', name: 'default-token' },
    http: { method: 'GET', path: '/api/v1/namespaces/team-a/secrets/default-token' },
  },
  {
    what: 'read another ConfigMap of Knative',
    verb: 'get',
    attr: { resource: 'configmaps', namespace: 'knative-serving', name: 'config-autoscaler' },
    http: { method: 'GET', path: '/api/v1/namespaces/knative-serving/configmaps/config-autoscaler' },
  },
  mergePatch(
    "patch another of KServe's ConfigMaps",
    { resource: 'configmaps', namespace: 'kubeflow', name: 'kserve-config' },
    '/api/v1/namespaces/kubeflow/configmaps/kserve-config',
    { data: { x: '' } },
  ),
  mergePatch(
    'change an InferenceService',
    { group: 'serving.kserve.io', resource: 'inferenceservices', namespace: 'team-a', name: 'sklearn-irisv2' },
    '/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices/sklearn-irisv2',
    { metadata: { labels: { x: 'y' } } },
  ),
  mergePatch(
    'patch aws-auth in kube-system',
    { resource: 'configmaps', namespace: 'kube-system', name: 'aws-auth' },
    '/api/v1/namespaces/kube-system/configmaps/aws-auth',
    { data: { mapRoles: '' } },
  ),
  {
    what: 'delete config-domain',
    verb: 'delete',
    attr: { resource: 'configmaps', namespace: 'knative-serving', name: 'config-domain' },
    http: { method: 'DELETE', path: dry('/api/v1/namespaces/knative-serving/configmaps/config-domain') },
  },
  {
    what: 'create a ConfigMap in knative-serving',
    verb: 'create',
    attr: { resource: 'configmaps', namespace: 'knative-serving' },
    http: { method: 'POST', path: dry('/api/v1/namespaces/knative-serving/configmaps'), body: cm('knative-serving', 'x') },
  },
  {
    what: 'delete a namespace',
    verb: 'delete',
    attr: { resource: 'namespaces', name: 'team-a' },
    http: { method: 'DELETE', path: dry('/api/v1/namespaces/team-a') },
  },
  {
    what: 'create a namespace',
    verb: 'create',
    attr: { resource: 'namespaces' },
    http: { method: 'POST', path: dry('/api/v1/namespaces'), body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } } },
  },
  {
    what: 'bind cluster-admin (ClusterRoleBinding)',
    verb: 'create',
    attr: { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
    http: {
      method: 'POST',
      path: dry('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings'),
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'x' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'Group', name: 'kserve-edge:workflow', apiGroup: 'rbac.authorization.k8s.io' }],
      },
    },
  },
  mergePatch(
    'widen its own Role',
    { group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: 'istio-system', name: 'kserve-edge-workflow' },
    '/apis/rbac.authorization.k8s.io/v1/namespaces/istio-system/roles/kserve-edge-workflow',
    { rules: [] },
  ),
  mergePatch(
    'patch an Ingress in another namespace',
    { group: 'networking.k8s.io', resource: 'ingresses', namespace: 'kubeflow', name: 'istio-ingress-api' },
    '/apis/networking.k8s.io/v1/namespaces/kubeflow/ingresses/istio-ingress-api',
    { metadata: { labels: { x: 'y' } } },
  ),
  mergePatch(
    'patch an Ingress of another name in istio-system',
    { group: 'networking.k8s.io', resource: 'ingresses', namespace: 'istio-system', name: 'other-team' },
    '/apis/networking.k8s.io/v1/namespaces/istio-system/ingresses/other-team',
    { metadata: { labels: { x: 'y' } } },
  ),
  {
    what: 'list Events in kube-system',
    verb: 'list',
    attr: { resource: 'events', namespace: 'kube-system' },
    http: { method: 'GET', path: '/api/v1/namespaces/kube-system/events' },
  },
  {
    what: 'write an Event in istio-system',
    verb: 'create',
    attr: { resource: 'events', namespace: 'istio-system' },
    http: {
      method: 'POST',
      path: dry('/api/v1/namespaces/istio-system/events'),
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'x' },
        involvedObject: { kind: 'Ingress', name: 'istio-ingress-api', namespace: 'istio-system' },
      },
    },
  },
  {
    what: 'read AuthorizationPolicies of a profile namespace',
    verb: 'list',
    attr: { group: 'security.istio.io', resource: 'authorizationpolicies', namespace: 'team-a' },
    http: { method: 'GET', path: '/apis/security.istio.io/v1beta1/namespaces/team-a/authorizationpolicies' },
  },
  mergePatch(
    'patch an InferenceService',
    { group: 'serving.kserve.io', resource: 'inferenceservices', namespace: 'team-a', name: 'sklearn-irisv2' },
    '/apis/serving.kserve.io/v1beta1/namespaces/team-a/inferenceservices/sklearn-irisv2',
    { metadata: { labels: { x: 'y' } } },
  ),
  {
    what: 'create a Pod in istio-system',
    verb: 'create',
    attr: { resource: 'pods', namespace: 'istio-system' },
    http: {
      method: 'POST',
      path: dry('/api/v1/namespaces/istio-system/pods'),
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'x' }] } },
    },
  },
  {
    what: 'mint a ServiceAccount token',
    verb: 'create',
    attr: { resource: 'serviceaccounts', subresource: 'token', namespace: 'istio-system', name: 'default' },
    http: {
      method: 'POST',
      path: '/api/v1/namespaces/istio-system/serviceaccounts/default/token',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    },
  },
  {
    what: 'delete a CustomResourceDefinition',
    verb: 'delete',
    attr: { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', name: 'authorizationpolicies.security.istio.io' },
    http: {
      method: 'DELETE',
      path: dry('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/authorizationpolicies.security.istio.io'),
    },
  },
  {
    what: 'delete a Profile',
    verb: 'delete',
    attr: { group: 'kubeflow.org', resource: 'profiles', name: 'team-a' },
    http: { method: 'DELETE', path: dry('/apis/kubeflow.org/v1/profiles/team-a') },
  },
];

describe('least privilege: the workflow’s cluster role against the real API server', () => {
  let tb: Testbed;
  const denied: Array<{ what: string; reviewAllowed: boolean; status: number }> = [];

  beforeAll(async () => {
    tb = await startTestbed({
      authProvider: 'cognito',
      domain: DOMAIN,
      namespaces: ['team-a'],
      clusterName: 'kubeflow',
      region: 'us-west-2',
    });
  }, 240_000);

  afterAll(async () => {
    writeFigures('least-privilege', {
      allowedChecked: NEEDED.length,
      deniedChecked: denied.length,
      denied403: denied.filter((d) => d.status === 403 && !d.reviewAllowed).length,
      denied,
    });
    await tb?.stop();
  }, 60_000);

  it.each(
    NEEDED.map(
      ([verb, attr]) =>
        [
          `${verb} ${attr.resource}${attr.name ? `/${attr.name}` : ''}${attr.namespace ? ` in ${attr.namespace}` : ''}`,
          verb,
          attr,
        ] as const,
    ),
  )('allowed: %s', async (_label, verb, attr) => {
    expect(await tb.kubeWorkflow().can(verb, attr)).toBe(true);
  });

  it('checks at least ten things the workflow must not do', () => {
    expect(DENIED.length).toBeGreaterThanOrEqual(10);
  });

  it.each(DENIED.map((d) => [d.what, d] as const))('denied with 403: %s', async (_label, d) => {
    const kube = tb.kubeWorkflow();
    const reviewAllowed = await kube.can(d.verb, d.attr);
    const { status, body } = await kube.request(d.http.method, d.http.path, {
      ...(d.http.body !== undefined ? { body: d.http.body } : {}),
      ...(d.http.contentType ? { contentType: d.http.contentType } : {}),
    });
    denied.push({ what: d.what, reviewAllowed, status });
    expect(reviewAllowed).toBe(false);
    expect([status, (body as { reason?: string })?.reason]).toEqual([403, 'Forbidden']);
  });

  it('cannot impersonate another user or group', async () => {
    const kube = tb.kubeWorkflow();
    expect(await kube.can('impersonate', { resource: 'users', name: 'testbed-admin' })).toBe(false);
    expect(await kube.can('impersonate', { resource: 'groups', name: 'system:masters' })).toBe(false);
  });
});
