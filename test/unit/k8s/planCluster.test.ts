import { InvalidRequestError, ObjectOwnedByAnotherError, PrerequisiteMissingError } from '../../../shared/errors';
import { applyJsonPatch } from '../../fakes/FakeKube';
import {
  ANNOTATION_CERTIFICATE_ARN,
  ANNOTATION_CONDITIONS,
  cognitoIngressAnnotations,
  conditionsAnnotation,
  desiredClusterState,
  ingressRefFor,
  loadBalancerAddress,
  mergeCertificateArns,
  planCluster,
  redactClusterPlan,
  type ClusterPlan,
  type ClusterState,
  type DesiredClusterState,
} from '../../../shared/plan/cluster';
import type { KubeObject } from '../../../shared/ports';
import {
  ARN_A,
  ARN_B,
  ARN_FOREIGN,
  ARN_STALE,
  TOKEN_1,
  TOKEN_2,
  cognitoRequest,
  dexRequest,
  editedConfigDomain,
  handMadePolicy,
  albIngressClass,
  kubeflowIngress,
  owned,
  stockConfigDomain,
} from './fixtures';

const cognitoDesired = (): DesiredClusterState =>
  desiredClusterState({ request: cognitoRequest(), certificateArns: [ARN_A], headerValues: [TOKEN_1] });
const dexDesired = (arns = [ARN_A]): DesiredClusterState => desiredClusterState({ request: dexRequest(), certificateArns: arns });

/** The cluster as it is after a successful run: everything desired, carrying our labels. */
function converged(desired: DesiredClusterState): ClusterState {
  return {
    configDomain: editedConfigDomain(),
    authorizationPolicies: Object.fromEntries(desired.authorizationPolicies.map((p) => [p.metadata.name, structuredClone(p)])),
    ingress: structuredClone(desired.ingress),
    ingressClass: albIngressClass(),
  };
}

const fresh = (ingress?: KubeObject): ClusterState => ({
  configDomain: stockConfigDomain(),
  authorizationPolicies: {},
  ingress,
  ingressClass: albIngressClass(),
});

const summary = (plan: ClusterPlan): string[] => plan.map((a) => `${a.action} ${a.ref.kind}/${a.ref.name}`);

describe('planCluster', () => {
  interface Scenario {
    name: string;
    current: () => ClusterState;
    desired: () => DesiredClusterState;
    adopt?: boolean;
    ownedArns?: string[];
    expected: string[] | typeof ObjectOwnedByAnotherError;
  }
  const scenarios: Scenario[] = [
    {
      name: 'Cognito, fresh cluster: patch config-domain, create both policies and istio-ingress-api',
      current: () => fresh(),
      desired: cognitoDesired,
      expected: [
        'patch ConfigMap/config-domain',
        'apply AuthorizationPolicy/allow-predictor',
        'apply AuthorizationPolicy/allow-transformer',
        'apply Ingress/istio-ingress-api',
      ],
    },
    {
      name: 'Cognito, rerun after success: nothing to do',
      current: () => converged(cognitoDesired()),
      desired: cognitoDesired,
      expected: [
        'none ConfigMap/config-domain',
        'none AuthorizationPolicy/allow-predictor',
        'none AuthorizationPolicy/allow-transformer',
        'none Ingress/istio-ingress-api',
      ],
    },
    {
      name: 'Cognito, istio-ingress-api made by hand (kustomize): refused',
      current: () => ({
        ...converged(cognitoDesired()),
        ingress: { ...cognitoDesired().ingress, metadata: { ...cognitoDesired().ingress.metadata, labels: {} } },
      }),
      desired: cognitoDesired,
      expected: ObjectOwnedByAnotherError,
    },
    {
      name: 'Cognito, istio-ingress-api made by hand, adopt=true: taken over',
      current: () => ({
        ...converged(cognitoDesired()),
        ingress: { ...cognitoDesired().ingress, metadata: { ...cognitoDesired().ingress.metadata, labels: {} } },
      }),
      desired: cognitoDesired,
      adopt: true,
      expected: [
        'none ConfigMap/config-domain',
        'none AuthorizationPolicy/allow-predictor',
        'none AuthorizationPolicy/allow-transformer',
        'apply Ingress/istio-ingress-api',
      ],
    },
    {
      name: 'policies applied by hand exactly as in issue #82: left alone',
      current: () => ({
        ...converged(cognitoDesired()),
        authorizationPolicies: {
          'allow-predictor': handMadePolicy('allow-predictor'),
          'allow-transformer': handMadePolicy('allow-transformer'),
        },
      }),
      desired: cognitoDesired,
      expected: [
        'none ConfigMap/config-domain',
        'none AuthorizationPolicy/allow-predictor',
        'none AuthorizationPolicy/allow-transformer',
        'none Ingress/istio-ingress-api',
      ],
    },
    {
      name: 'a hand-made policy with other paths: refused',
      current: () => ({
        ...converged(cognitoDesired()),
        authorizationPolicies: { 'allow-predictor': handMadePolicy('allow-predictor', ['/metrics']) },
      }),
      desired: cognitoDesired,
      expected: ObjectOwnedByAnotherError,
    },
    {
      name: 'a hand-made policy with other paths, adopt=true: taken over',
      current: () => ({
        ...converged(cognitoDesired()),
        authorizationPolicies: {
          'allow-predictor': handMadePolicy('allow-predictor', ['/metrics']),
          'allow-transformer': handMadePolicy('allow-transformer'),
        },
      }),
      desired: cognitoDesired,
      adopt: true,
      expected: [
        'none ConfigMap/config-domain',
        'apply AuthorizationPolicy/allow-predictor',
        'none AuthorizationPolicy/allow-transformer',
        'none Ingress/istio-ingress-api',
      ],
    },
    {
      name: 'our Ingress with a new certificate: updated',
      current: () => converged(cognitoDesired()),
      desired: () => desiredClusterState({ request: cognitoRequest(), certificateArns: [ARN_A, ARN_B], headerValues: [TOKEN_1] }),
      expected: [
        'none ConfigMap/config-domain',
        'none AuthorizationPolicy/allow-predictor',
        'none AuthorizationPolicy/allow-transformer',
        'apply Ingress/istio-ingress-api',
      ],
    },
    {
      name: 'Dex, Kubeflow istio-ingress with its own certificate: take two annotations',
      current: () => ({ ...converged(dexDesired()), ingress: kubeflowIngress(`${ARN_FOREIGN},${ARN_STALE}`) }),
      desired: dexDesired,
      ownedArns: [ARN_STALE],
      expected: [
        'none ConfigMap/config-domain',
        'none AuthorizationPolicy/allow-predictor',
        'none AuthorizationPolicy/allow-transformer',
        'apply Ingress/istio-ingress',
      ],
    },
    {
      name: 'Dex, rerun after success: nothing to do',
      current: () => ({ ...converged(dexDesired()), ingress: kubeflowIngress(`${ARN_FOREIGN},${ARN_A}`) }),
      desired: dexDesired,
      expected: [
        'none ConfigMap/config-domain',
        'none AuthorizationPolicy/allow-predictor',
        'none AuthorizationPolicy/allow-transformer',
        'none Ingress/istio-ingress',
      ],
    },
    {
      name: 'Dex, no istio-ingress at all: create it as the https overlay would',
      current: () => fresh(),
      desired: dexDesired,
      expected: [
        'patch ConfigMap/config-domain',
        'apply AuthorizationPolicy/allow-predictor',
        'apply AuthorizationPolicy/allow-transformer',
        'apply Ingress/istio-ingress',
      ],
    },
  ];

  it.each(scenarios)('$name', (s) => {
    const run = (): ClusterPlan =>
      planCluster(s.current(), s.desired(), { ownerId: 'kserve-edge', adopt: s.adopt ?? false, ownedArns: s.ownedArns });
    if (Array.isArray(s.expected)) {
      const plan = run();
      expect(summary(plan)).toEqual(s.expected);
      // The plan is data: it survives a round trip through the state machine's JSON.
      expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    } else {
      expect(run).toThrow(s.expected);
    }
  });

  it('names the refused object in the error', () => {
    const current = {
      ...converged(cognitoDesired()),
      authorizationPolicies: { 'allow-predictor': handMadePolicy('allow-predictor', ['/metrics']) },
    };
    expect(() => planCluster(current, cognitoDesired(), { ownerId: 'kserve-edge', adopt: false })).toThrow(
      /AuthorizationPolicy istio-system\/allow-predictor exists and is not managed by kserve-edge.*"adopt": true/,
    );
  });

  it('treats an object of another owner id as foreign', () => {
    const current = { ...converged(cognitoDesired()), ingress: owned(cognitoDesired().ingress, 'other-deployment') };
    expect(() => planCluster(current, cognitoDesired(), { ownerId: 'kserve-edge', adopt: false })).toThrow(ObjectOwnedByAnotherError);
  });

  it('creates without force, updates and adopts with force', () => {
    const create = planCluster(fresh(), cognitoDesired(), { ownerId: 'kserve-edge', adopt: false });
    expect(create[3]).toMatchObject({ action: 'apply', reason: 'create', force: false });
    const current = converged(cognitoDesired());
    current.ingress!.metadata.annotations![ANNOTATION_CERTIFICATE_ARN] = ARN_B; // edited by someone
    const update = planCluster(current, cognitoDesired(), { ownerId: 'kserve-edge', adopt: false });
    expect(update[3]).toMatchObject({ action: 'apply', force: true });
  });
});

describe('planCluster: config-domain', () => {
  const plan = (cm: KubeObject | undefined): ClusterPlan =>
    planCluster({ configDomain: cm, authorizationPolicies: {}, ingress: undefined, ingressClass: albIngressClass() }, cognitoDesired(), {
      ownerId: 'kserve-edge',
      adopt: false,
    });

  it('removes _example and sets our domain, each guarded by a test op', () => {
    const [step] = plan(stockConfigDomain());
    expect(step!.action).toBe('patch');
    expect(step!.ops).toEqual([
      {
        op: 'test',
        path: '/data/_example',
        value: stockConfigDomain().data && (stockConfigDomain().data as Record<string, string>)._example,
      },
      { op: 'remove', path: '/data/_example' },
      { op: 'add', path: '/data/platform.example.com', value: '' },
    ]);
  });

  it("replaces Knative's example.com placeholder and keeps a foreign domain key", () => {
    const cm = stockConfigDomain({ 'example.com': '', 'other.example.org': 'selector:\n  app: other\n' });
    const [step] = plan(cm);
    const next = structuredClone(cm) as KubeObject & Record<string, unknown>;
    applyJsonPatch(next, step!.ops!);
    expect(next.data).toEqual({ 'other.example.org': 'selector:\n  app: other\n', 'platform.example.com': '' });
    expect(step!.ops!.some((o) => o.path.includes('other.example.org'))).toBe(false);
  });

  it('fails the patch instead of clobbering a concurrent edit of _example', () => {
    const cm = stockConfigDomain();
    const [step] = plan(cm);
    const edited = structuredClone(cm) as KubeObject & Record<string, unknown>;
    (edited.data as Record<string, string>)._example = 'changed by someone else';
    expect(() => applyJsonPatch(edited, step!.ops!)).toThrow(/test/);
  });

  it('is none when the domain is already the only default', () => {
    expect(plan(editedConfigDomain())[0]).toMatchObject({ action: 'none' });
  });

  it('adds data when the ConfigMap has none', () => {
    const cm = { ...stockConfigDomain() };
    delete (cm as Record<string, unknown>).data;
    expect(plan(cm)[0]!.ops).toEqual([{ op: 'add', path: '/data', value: { 'platform.example.com': '' } }]);
  });

  it('refuses to go on without Knative', () => {
    expect(() => plan(undefined)).toThrow(/config-domain not found: is Knative Serving/);
    expect(() => plan(undefined)).toThrow(PrerequisiteMissingError);
  });
});

describe('planCluster: Dex shares Kubeflow istio-ingress', () => {
  it('keeps foreign certificates first, drops our stale one, appends ours; no labels on Kubeflow object', () => {
    const current: ClusterState = { ...converged(dexDesired()), ingress: kubeflowIngress(`${ARN_FOREIGN},${ARN_STALE}`) };
    const plan = planCluster(current, dexDesired([ARN_A, ARN_B]), { ownerId: 'kserve-edge', adopt: false, ownedArns: [ARN_STALE, ARN_A] });
    const step = plan[3]!;
    expect(step).toMatchObject({ action: 'apply', force: true });
    expect(step.object).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'istio-ingress',
        namespace: 'istio-system',
        annotations: {
          'alb.ingress.kubernetes.io/certificate-arn': `${ARN_FOREIGN},${ARN_A},${ARN_B}`,
          'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
        },
      },
    });
  });

  it('mergeCertificateArns keeps order and removes duplicates', () => {
    expect(mergeCertificateArns(` ${ARN_FOREIGN} ,${ARN_A},,`, [ARN_A, ARN_B], [])).toBe(`${ARN_FOREIGN},${ARN_A},${ARN_B}`);
    expect(mergeCertificateArns(undefined, [ARN_A], [])).toBe(ARN_A);
  });

  it('creates the https-overlay Ingress with our labels when there is none', () => {
    const d = dexDesired();
    expect(d.ingress.metadata.labels).toEqual({
      'kustomize.component': 'istio-ingress',
      'app.kubernetes.io/managed-by': 'kserve-edge',
      'kserve-edge.io/owner': 'kserve-edge',
    });
    // Defect 10: the class is spec.ingressClassName, not the deprecated annotation.
    expect((d.ingress.spec as { ingressClassName?: string }).ingressClassName).toBe('alb');
    expect(d.ingress.metadata.annotations).toEqual({
      'alb.ingress.kubernetes.io/load-balancer-attributes': 'routing.http.drop_invalid_header_fields.enabled=true',
      'alb.ingress.kubernetes.io/scheme': 'internet-facing',
      'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
      'alb.ingress.kubernetes.io/target-type': 'ip',
      'alb.ingress.kubernetes.io/certificate-arn': ARN_A,
    });
  });
});

describe('desiredClusterState', () => {
  it('renders the Cognito Ingress annotations exactly as `kustomize build overlays/api`', () => {
    // Rendered output for certArn=…/abc, httpHeaderValues=["token1"], kfm v1.7 branch, kustomize v5.5.0,
    // less the deprecated `kubernetes.io/ingress.class` annotation (the class is spec.ingressClassName).
    const rendered = {
      'alb.ingress.kubernetes.io/actions.istio-ingressgateway':
        '{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"istio-ingressgateway","ServicePort":"80","Weight":100}]}}',
      'alb.ingress.kubernetes.io/certificate-arn': 'arn:aws:acm:us-west-2:111122223333:certificate/abc',
      'alb.ingress.kubernetes.io/conditions.istio-ingressgateway':
        '[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName": "x-api-key", "Values":["token1"]}}]',
      'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
      'alb.ingress.kubernetes.io/load-balancer-attributes': 'routing.http.drop_invalid_header_fields.enabled=true',
      'alb.ingress.kubernetes.io/scheme': 'internet-facing',
      'alb.ingress.kubernetes.io/target-type': 'ip',
    };
    const annotations = cognitoIngressAnnotations({
      scheme: 'internet-facing',
      certificateArns: ['arn:aws:acm:us-west-2:111122223333:certificate/abc'],
      headerName: 'x-api-key',
      headerValues: ['token1'],
    });
    expect(annotations).toStrictEqual(rendered);
    // And the step's builder produces the same object around it.
    const d = desiredClusterState({ request: cognitoRequest(), certificateArns: [ARN_A], headerValues: ['token1'] });
    expect(d.ingress.metadata.annotations).toStrictEqual(rendered);
  });

  it('renders the Cognito Ingress object: name, namespace, labels, spec', () => {
    const d = cognitoDesired();
    expect(d.ingress).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'istio-ingress-api',
        namespace: 'istio-system',
        labels: {
          'kustomize.component': 'istio-ingress',
          'app.kubernetes.io/managed-by': 'kserve-edge',
          'kserve-edge.io/owner': 'kserve-edge',
        },
        annotations: expect.any(Object),
      },
      spec: {
        ingressClassName: 'alb',
        rules: [
          {
            http: {
              paths: [
                {
                  path: '/*',
                  pathType: 'ImplementationSpecific',
                  backend: { service: { name: 'istio-ingressgateway', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    });
  });

  it('puts the scheme, all certificates and all header values in', () => {
    const d = desiredClusterState({
      request: cognitoRequest({
        ingress: { scheme: 'internal' },
        auth: { provider: 'cognito', headerName: 'x-kserve-token', headerValuesSecretId: 's' },
      }),
      certificateArns: [ARN_A, ARN_B],
      headerValues: [TOKEN_1, TOKEN_2],
    });
    const a = d.ingress.metadata.annotations!;
    expect(a['alb.ingress.kubernetes.io/scheme']).toBe('internal');
    expect(a[ANNOTATION_CERTIFICATE_ARN]).toBe(`${ARN_A},${ARN_B}`);
    expect(a[ANNOTATION_CONDITIONS]).toBe(
      `[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName": "x-kserve-token", "Values":["${TOKEN_1}","${TOKEN_2}"]}}]`,
    );
    expect(JSON.parse(a[ANNOTATION_CONDITIONS]!)).toEqual([
      { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'x-kserve-token', Values: [TOKEN_1, TOKEN_2] } },
    ]);
  });

  it('renders the AuthorizationPolicies as in issue #82, with our labels', () => {
    const [predictor, transformer] = cognitoDesired().authorizationPolicies;
    const paths = ['/metrics', '/healthz', '/ready', '/wait-for-drain', '/v1/models/*', '/v2/models/*'];
    expect(predictor).toEqual({
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      metadata: {
        name: 'allow-predictor',
        namespace: 'istio-system',
        labels: { 'app.kubernetes.io/managed-by': 'kserve-edge', 'kserve-edge.io/owner': 'kserve-edge' },
      },
      spec: { selector: { matchLabels: { component: 'predictor' } }, action: 'ALLOW', rules: [{ to: [{ operation: { paths } }] }] },
    });
    expect(transformer!.spec).toEqual({
      selector: { matchLabels: { component: 'transformer' } },
      action: 'ALLOW',
      rules: [{ to: [{ operation: { paths } }] }],
    });
  });

  it.each([
    ['no certificate', []],
    ['not an ACM ARN', ['arn:aws:iam::111122223333:server-certificate/x']],
    ['a comma smuggled into an ARN', [`${ARN_A},${ARN_B}`]],
  ])('rejects %s', (_name, arns) => {
    expect(() => desiredClusterState({ request: dexRequest(), certificateArns: arns })).toThrow(InvalidRequestError);
  });
});

describe('redactClusterPlan', () => {
  it('hides the header values and leaves the original plan alone', () => {
    const plan = planCluster(
      fresh(),
      desiredClusterState({ request: cognitoRequest(), certificateArns: [ARN_A], headerValues: [TOKEN_1, TOKEN_2] }),
      {
        ownerId: 'kserve-edge',
        adopt: false,
      },
    );
    const redacted = redactClusterPlan(plan);
    const text = JSON.stringify(redacted);
    expect(text).not.toContain(TOKEN_1);
    expect(text).not.toContain(TOKEN_2);
    expect(redacted[3]!.object!.metadata.annotations![ANNOTATION_CONDITIONS]).toBe(conditionsAnnotation('x-api-key', ['***', '***']));
    expect(JSON.stringify(plan)).toContain(TOKEN_1);
    expect(summary(redacted)).toEqual(summary(plan));
  });
});

describe('ingressRefFor / loadBalancerAddress', () => {
  it('picks the Ingress per auth provider', () => {
    expect(ingressRefFor(cognitoRequest())).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      namespace: 'istio-system',
      name: 'istio-ingress-api',
    });
    expect(ingressRefFor(dexRequest()).name).toBe('istio-ingress');
  });

  it('reads status.loadBalancer.ingress[0].hostname', () => {
    expect(loadBalancerAddress(kubeflowIngress())).toBe('k8s-istiosys-istioing-kf-1.us-west-2.elb.amazonaws.com');
    expect(loadBalancerAddress(cognitoDesired().ingress)).toBeUndefined();
    expect(loadBalancerAddress({ ...kubeflowIngress(), status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } } })).toBeUndefined();
    expect(loadBalancerAddress(undefined)).toBeUndefined();
  });
});
