/**
 * Flat hostnames and both KServe deployment modes: the request options, the
 * rendering per mode × layout, the hostname plan (config-network /
 * inferenceservice-config), the layout-switch confirmation, ownership and DNS
 * limits (shared/plan/hostnames.ts, shared/plan/hostnameConfig.ts).
 */
import {
  HostnameChangeUnconfirmedError,
  InvalidRequestError,
  ObjectOwnedByAnotherError,
  PrerequisiteMissingError,
} from '../../../shared/errors';
import type { KubeObject } from '../../../shared/ports';
import { desiredCertificates } from '../../../shared/plan/certificates';
import {
  CONFIG_NETWORK_REF,
  INGRESS_HOSTNAMES_ANNOTATION,
  planHostnames,
  type HostnameClusterState,
} from '../../../shared/plan/hostnameConfig';
import {
  KNATIVE_FLAT_TEMPLATE,
  KNATIVE_NESTED_TEMPLATE,
  STANDARD_DEFAULT_TEMPLATE,
  STANDARD_NESTED_TEMPLATE,
  layoutOfTemplate,
  parseDeploymentMode,
  renderTemplate,
  templateFor,
} from '../../../shared/plan/hostnames';
import { desiredOwnershipRecord, desiredRecord, planNamespaceRecords } from '../../../shared/plan/records';
import { modelHost, namespaceWildcard, parseProvisionRequest, type ProvisionRequest } from '../../../shared/request';
import { cognitoRequest, editedConfigDomain, stockConfigDomain } from '../k8s/fixtures';

const DOMAIN = 'platform.example.com';

function request(overrides: Record<string, unknown> = {}): ProvisionRequest {
  return cognitoRequest({ namespaces: ['team-a', 'team-b'], ...overrides });
}

function configNetwork(template?: string, manager = 'kubectl-edit'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'config-network',
      namespace: 'knative-serving',
      managedFields: [
        { manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1: { 'f:data': { 'f:_example': {} } } },
        ...(template !== undefined ? [{ manager, operation: 'Update', fieldsV1: { 'f:data': { 'f:domain-template': {} } } }] : []),
      ],
    },
    data: { _example: '# ...', ...(template !== undefined ? { 'domain-template': template } : {}) },
  };
}

function isvcConfig(o: { mode?: string; ingress?: Record<string, unknown>; annotations?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'inferenceservice-config',
      namespace: 'kubeflow',
      ...(o.annotations ? { annotations: o.annotations } : {}),
      managedFields: [{ manager: 'helm', operation: 'Update', fieldsV1: { 'f:data': { 'f:deploy': {}, 'f:ingress': {} } } }],
    },
    data: {
      deploy: JSON.stringify({ defaultDeploymentMode: o.mode ?? 'Serverless' }),
      ingress: JSON.stringify({
        ingressGateway: 'kubeflow/kubeflow-gateway',
        ingressDomain: 'example.com',
        domainTemplate: STANDARD_DEFAULT_TEMPLATE,
        ...o.ingress,
      }),
    },
  };
}

function isvc(namespace: string, o: { name?: string; mode?: string; url?: string } = {}): KubeObject {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: {
      name: o.name ?? 'sklearn-irisv2',
      namespace,
      ...(o.mode ? { annotations: { 'serving.kserve.io/deploymentMode': o.mode } } : {}),
    },
    ...(o.url ? { status: { url: o.url } } : {}),
  };
}

function state(o: Partial<HostnameClusterState> = {}): HostnameClusterState {
  return {
    configDomain: stockConfigDomain(),
    configNetwork: configNetwork(),
    inferenceServiceConfig: isvcConfig(),
    inferenceServices: [isvc('team-a'), isvc('team-b')],
    ...o,
  };
}

describe('request: hostnames, confirmHostnameChange, kserve', () => {
  it('defaults to nested hostnames, no confirmation, KServe in kubeflow', () => {
    const req = request();
    expect(req.hostnames).toBe('nested');
    expect(req.confirmHostnameChange).toBeUndefined();
    expect(req.kserve).toEqual({ namespace: 'kubeflow' });
  });

  it('refuses an unknown layout and an unknown confirmation by name', () => {
    expect(() => request({ hostnames: 'wide' })).toThrow(/hostnames/);
    expect(() => request({ confirmHostnameChange: 'yes' })).toThrow(/confirmHostnameChange/);
  });

  // Flat: <model>-<namespace> is ONE label (63 at most). sklearn-irisv2 is 14 characters, so a 49-character namespace is one too many.
  it('refuses a namespace that makes the flat hostname label longer than 63 characters, before anything is read', () => {
    const ns48 = `n${'a'.repeat(47)}`;
    const ns49 = `n${'a'.repeat(48)}`;
    expect(() => request({ hostnames: 'flat', namespaces: [ns48] })).not.toThrow();
    let error: unknown;
    try {
      request({ hostnames: 'flat', namespaces: ['team-a', ns49] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).path).toBe('namespaces[1]');
    expect((error as Error).message).toMatch(/label "sklearn-irisv2-na+" of 64 characters; DNS allows 63/);
    // The same names are fine nested: there they are two labels.
    expect(() => request({ namespaces: ['team-a', ns49] })).not.toThrow();
  });

  it('single certificate mode is not limited to 9 namespaces when flat (one name serves them all)', () => {
    const namespaces = Array.from({ length: 12 }, (_, i) => `ns-${i}`);
    expect(() => request({ certificates: { mode: 'single' }, namespaces })).toThrow(/at most 9 namespaces/);
    expect(() => request({ certificates: { mode: 'single' }, namespaces, hostnames: 'flat' })).not.toThrow();
  });
});

describe('rendering: mode × layout', () => {
  it.each([
    ['Knative', 'nested', 'sklearn-irisv2.team-a.platform.example.com'],
    ['Knative', 'flat', 'sklearn-irisv2-team-a.platform.example.com'],
    ['Standard', 'nested', 'sklearn-irisv2.team-a.platform.example.com'],
    ['Standard', 'flat', 'sklearn-irisv2-team-a.platform.example.com'],
  ] as const)('%s mode, %s layout: the template renders %s, the host the request expects', (mode, layout, host) => {
    const rendered = renderTemplate(templateFor(mode, layout), { name: 'sklearn-irisv2', namespace: 'team-a', domain: DOMAIN });
    expect(rendered).toBe(host);
    expect(modelHost(request({ hostnames: layout }), 'team-a')).toBe(host);
  });

  it("KServe's Standard default template is flat already; Knative's default is nested", () => {
    expect(layoutOfTemplate(STANDARD_DEFAULT_TEMPLATE)).toBe('flat');
    expect(layoutOfTemplate(KNATIVE_NESTED_TEMPLATE)).toBe('nested');
    expect(layoutOfTemplate(KNATIVE_FLAT_TEMPLATE)).toBe('flat');
    expect(layoutOfTemplate(STANDARD_NESTED_TEMPLATE)).toBe('nested');
    expect(layoutOfTemplate('{{.Name}}.{{.Namespace}}.{{index .Annotations "x"}}.{{.Domain}}')).toBe('custom');
  });

  it.each([
    ['Serverless', 'Knative'],
    ['knative', 'Knative'],
    ['RawDeployment', 'Standard'],
    ['Standard', 'Standard'],
    ['ModelMesh', undefined],
    [undefined, undefined],
  ])('deployment mode %s is %s', (value, mode) => {
    expect(parseDeploymentMode(value)).toBe(mode);
  });

  it('flat: one *.<domain> wildcard, certificate and record for every namespace', () => {
    const req = { ...request({ hostnames: 'flat' }), hostedZoneId: 'Z1' };
    expect(namespaceWildcard(req, 'team-a')).toBe(`*.${DOMAIN}`);
    expect(namespaceWildcard(req, 'team-b')).toBe(`*.${DOMAIN}`);
    expect(desiredCertificates(req).map((c) => c.names)).toEqual([[`*.${DOMAIN}`]]);
    expect(desiredRecord(req, 'team-a', 'alb.example')).toEqual({ name: `*.${DOMAIN}`, type: 'CNAME', ttl: 300, values: ['alb.example'] });
    expect(desiredOwnershipRecord(req, 'team-b').name).toBe(`_kserve-edge.${DOMAIN}`);
    const plan = planNamespaceRecords(req, { namespace: 'team-a', target: [], ownership: [] }, 'alb.example');
    expect(plan.changes.map((c) => `${c.action} ${c.record.type} ${c.record.name}`)).toEqual([
      `UPSERT CNAME *.${DOMAIN}`,
      `UPSERT TXT _kserve-edge.${DOMAIN}`,
    ]);
    // Nested keeps one per namespace.
    expect(desiredCertificates(request()).map((c) => c.domainName)).toEqual([`*.${DOMAIN}`, `*.team-a.${DOMAIN}`, `*.team-b.${DOMAIN}`]);
  });
});

describe('planHostnames', () => {
  it('Knative mode, nested, stock cluster: nothing to write', () => {
    const plan = planHostnames(request(), state());
    expect(plan.actions).toEqual([]);
    expect(plan.modes).toEqual([expect.objectContaining({ mode: 'Knative', current: 'nested', changes: false })]);
    expect(plan.change).toBeUndefined();
  });

  it('Knative mode, flat, first run (the domain not served yet): server-side apply of domain-template only, no confirmation needed', () => {
    const plan = planHostnames(request({ hostnames: 'flat' }), state());
    expect(plan.change).toBeUndefined();
    expect(plan.actions).toEqual([
      expect.objectContaining({
        action: 'apply',
        ref: CONFIG_NETWORK_REF,
        force: false,
        object: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'config-network', namespace: 'knative-serving' },
          data: { 'domain-template': KNATIVE_FLAT_TEMPLATE },
        },
      }),
    ]);
    // The canary's host: what the layout renders (status.url would change with this run).
    expect(plan.hosts).toEqual({ 'team-a': `sklearn-irisv2-team-a.${DOMAIN}`, 'team-b': `sklearn-irisv2-team-b.${DOMAIN}` });
  });

  it('nested → flat on a live deployment without confirmation: HostnameChangeUnconfirmed naming the URL change', () => {
    const live = state({ configDomain: editedConfigDomain() });
    let error: unknown;
    try {
      planHostnames(request({ hostnames: 'flat' }), live);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HostnameChangeUnconfirmedError);
    expect((error as Error).name).toBe('HostnameChangeUnconfirmed');
    expect((error as Error).message).toContain(`https://sklearn-irisv2.team-a.${DOMAIN} → https://sklearn-irisv2-team-a.${DOMAIN}`);
    expect((error as Error).message).toContain('"confirmHostnameChange": "nested-to-flat"');
    // The wrong direction does not confirm it either.
    expect(() => planHostnames(request({ hostnames: 'flat', confirmHostnameChange: 'flat-to-nested' }), live)).toThrow(
      HostnameChangeUnconfirmedError,
    );
  });

  it('nested → flat with the confirmation: the plan says so and writes the template', () => {
    const plan = planHostnames(
      request({ hostnames: 'flat', confirmHostnameChange: 'nested-to-flat' }),
      state({ configDomain: editedConfigDomain() }),
    );
    expect(plan.change).toEqual({ from: 'nested', to: 'flat', confirmation: 'nested-to-flat' });
    expect(plan.actions.map((a) => a.ref.name)).toEqual(['config-network']);
  });

  it('refuses a domain-template another field manager owns, naming it; adopt takes it over with force', () => {
    const owned = state({ configNetwork: configNetwork('{{.Name}}.{{.Namespace}}.svc.{{.Domain}}', 'argocd-controller') });
    expect(() => planHostnames(request({ hostnames: 'flat' }), owned)).toThrow(ObjectOwnedByAnotherError);
    expect(() => planHostnames(request({ hostnames: 'flat' }), owned)).toThrow(/owned by field manager "argocd-controller"/);
    const adopted = planHostnames(request({ hostnames: 'flat', adopt: true }), owned);
    expect(adopted.actions).toEqual([expect.objectContaining({ action: 'apply', force: true })]);
    // Someone set the flat template by hand: the same layout, left alone.
    expect(
      planHostnames(request({ hostnames: 'flat' }), state({ configNetwork: configNetwork(KNATIVE_FLAT_TEMPLATE, 'kubectl-edit') })).actions,
    ).toEqual([]);
  });

  it('Standard mode, nested: a guarded JSON Patch of the ingress JSON (domainTemplate + ingressDomain) that records what we wrote', () => {
    const cfg = isvcConfig({ mode: 'Standard' });
    const plan = planHostnames(request(), state({ configDomain: undefined, configNetwork: undefined, inferenceServiceConfig: cfg }));
    expect(plan.defaultMode).toBe('Standard');
    expect(plan.modes.map((m) => m.mode)).toEqual(['Standard']);
    expect(plan.actions).toHaveLength(1);
    const ops = plan.actions[0]!.ops!;
    expect(ops[0]).toEqual({ op: 'test', path: '/data/ingress', value: (cfg.data as Record<string, string>).ingress });
    const next = JSON.parse((ops[1] as { value: string }).value) as Record<string, unknown>;
    expect(next).toEqual({ ingressGateway: 'kubeflow/kubeflow-gateway', ingressDomain: DOMAIN, domainTemplate: STANDARD_NESTED_TEMPLATE });
    expect(ops[2]).toEqual({
      op: 'add',
      path: '/metadata/annotations',
      value: {
        [INGRESS_HOSTNAMES_ANNOTATION]: JSON.stringify({
          owner: 'kserve-edge',
          domainTemplate: STANDARD_NESTED_TEMPLATE,
          ingressDomain: DOMAIN,
        }),
      },
    });
  });

  it("Standard mode, flat: KServe's default template already is flat, only ingressDomain changes", () => {
    const plan = planHostnames(
      request({ hostnames: 'flat', confirmHostnameChange: undefined }),
      state({ inferenceServiceConfig: isvcConfig({ mode: 'RawDeployment' }) }),
    );
    const next = JSON.parse((plan.actions[0]!.ops![1] as { value: string }).value) as Record<string, unknown>;
    expect(next.domainTemplate).toBe(STANDARD_DEFAULT_TEMPLATE);
    expect(next.ingressDomain).toBe(DOMAIN);
  });

  it("Standard mode: refuses values someone else set (not KServe's defaults, not recorded as ours); ours may change", () => {
    const theirs = isvcConfig({
      mode: 'Standard',
      ingress: { ingressDomain: 'models.corp.example', domainTemplate: STANDARD_NESTED_TEMPLATE },
    });
    expect(() => planHostnames(request(), state({ inferenceServiceConfig: theirs }))).toThrow(ObjectOwnedByAnotherError);
    expect(() => planHostnames(request(), state({ inferenceServiceConfig: theirs }))).toThrow(/field manager "helm"/);
    const ours = isvcConfig({
      mode: 'Standard',
      ingress: { ingressDomain: DOMAIN, domainTemplate: STANDARD_NESTED_TEMPLATE },
      annotations: {
        [INGRESS_HOSTNAMES_ANNOTATION]: JSON.stringify({
          owner: 'kserve-edge',
          domainTemplate: STANDARD_NESTED_TEMPLATE,
          ingressDomain: DOMAIN,
        }),
      },
    });
    expect(planHostnames(request(), state({ inferenceServiceConfig: ours })).actions).toEqual([]);
    const plan = planHostnames(
      request({ hostnames: 'flat', confirmHostnameChange: 'nested-to-flat' }),
      state({ inferenceServiceConfig: ours }),
    );
    expect(plan.change).toEqual({ from: 'nested', to: 'flat', confirmation: 'nested-to-flat' });
    expect(plan.actions[0]!.ops![2]).toEqual(
      expect.objectContaining({ op: 'add', path: `/metadata/annotations/${INGRESS_HOSTNAMES_ANNOTATION.replace('/', '~1')}` }),
    );
  });

  it('a mixed cluster configures both modes, and the canary host follows each InferenceService (status.url first)', () => {
    const plan = planHostnames(
      request({ hostnames: 'flat' }),
      state({
        inferenceServices: [
          isvc('team-a', { url: `http://sklearn-irisv2-team-a.${DOMAIN}` }),
          isvc('team-b', { mode: 'RawDeployment', url: `http://sklearn-irisv2-team-b.example.com` }),
          isvc('other-team', { mode: 'Standard' }),
        ],
      }),
    );
    expect(plan.modes.map((m) => m.mode)).toEqual(['Knative', 'Standard']);
    expect(plan.actions.map((a) => `${a.action} ${a.ref.name}`)).toEqual(['apply config-network', 'patch inferenceservice-config']);
    expect(plan.inferenceServices).toEqual({ 'team-a/sklearn-irisv2': 'Knative', 'team-b/sklearn-irisv2': 'Standard' });
    expect(plan.hosts).toEqual({ 'team-a': `sklearn-irisv2-team-a.${DOMAIN}`, 'team-b': `sklearn-irisv2-team-b.${DOMAIN}` });
  });

  it('prefers the published status.url when this run changes nothing for that mode', () => {
    const plan = planHostnames(
      request({ namespaces: ['team-a'] }),
      state({
        configDomain: editedConfigDomain(),
        inferenceServices: [isvc('team-a', { url: `http://Sklearn-IrisV2.team-a.${DOMAIN}.` })],
      }),
    );
    // Normalised as DNS compares names: lowercase, no trailing dot.
    expect(plan.hosts).toEqual({ 'team-a': `sklearn-irisv2.team-a.${DOMAIN}` });
  });

  it('refuses an InferenceService whose flat hostname label DNS cannot hold, naming it', () => {
    const long = isvc('team-a', { name: `model-${'x'.repeat(52)}` });
    expect(() => planHostnames(request({ hostnames: 'flat' }), state({ inferenceServices: [long] }))).toThrow(
      /InferenceService team-a\/model-x+: the flat hostname .* DNS allows 63/,
    );
    expect(() => planHostnames(request(), state({ inferenceServices: [long] }))).not.toThrow();
  });

  it('Standard mode in use without inferenceservice-config is a missing prerequisite', () => {
    expect(() =>
      planHostnames(request(), state({ inferenceServiceConfig: undefined, inferenceServices: [isvc('team-a', { mode: 'Standard' })] })),
    ).toThrow(PrerequisiteMissingError);
  });
});

describe('parseProvisionRequest: canary.hosts', () => {
  it('the canary calls the host ValidateRequest filled in, else the layout', () => {
    const req = parseProvisionRequest({
      domain: DOMAIN,
      cluster: { name: 'kf', region: 'us-west-2' },
      namespaces: ['team-a', 'team-b'],
      auth: { provider: 'cognito', headerValuesSecretId: 's' },
      canary: { hosts: { 'team-a': `custom.${DOMAIN}` } },
    });
    expect(modelHost(req, 'team-a')).toBe(`custom.${DOMAIN}`);
    expect(modelHost(req, 'team-b')).toBe(`sklearn-irisv2.team-b.${DOMAIN}`);
  });
});
