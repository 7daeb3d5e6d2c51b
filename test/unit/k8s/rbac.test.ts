/**
 * deploy/rbac.yaml grants what the cluster plan needs, and nothing else.
 * A tiny RBAC evaluator (rules are additive; resourceNames narrow a rule)
 * checks every call the workflow makes, and a few it must never be able to.
 */
import { readFileSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
import { MAX_SHARDS, shardIngressName } from '../../../shared/plan/shards';
import {
  AUTHORIZATION_POLICY_NAMES,
  COGNITO_INGRESS,
  CONFIG_DOMAIN,
  DEX_INGRESS,
  ISTIO_NAMESPACE,
  KNATIVE_NAMESPACE,
} from '../../../shared/plan/cluster';
import { CONFIG_NETWORK_REF, INFERENCESERVICE_CONFIG } from '../../../shared/plan/hostnameConfig';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}
interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string }>;
}

const docs = loadAllYaml(readFileSync(new URL('../../../deploy/rbac.yaml', import.meta.url), 'utf8')) as Doc[];

function allowed(req: { namespace?: string; group: string; resource: string; verb: string; name?: string }): boolean {
  const roles = docs.filter(
    (d) =>
      (d.kind === 'ClusterRole' && docs.some((b) => b.kind === 'ClusterRoleBinding' && b.roleRef?.name === d.metadata.name)) ||
      (d.kind === 'Role' && d.metadata.namespace === req.namespace),
  );
  return roles.some((r) =>
    (r.rules ?? []).some(
      (rule) =>
        (rule.apiGroups ?? []).includes(req.group) &&
        (rule.resources ?? []).includes(req.resource) &&
        rule.verbs.includes(req.verb) &&
        (!rule.resourceNames || rule.resourceNames.length === 0 || (req.name !== undefined && rule.resourceNames.includes(req.name))),
    ),
  );
}

describe('deploy/rbac.yaml', () => {
  it('binds every role to the group kserve-edge:workflow and the user kserve-edge-workflow', () => {
    const bindings = docs.filter((d) => d.kind.endsWith('Binding'));
    expect(bindings).toHaveLength(4);
    for (const b of bindings) {
      expect(b.subjects).toEqual([
        expect.objectContaining({ kind: 'Group', name: 'kserve-edge:workflow' }),
        expect.objectContaining({ kind: 'User', name: 'kserve-edge-workflow' }),
      ]);
    }
  });

  type Call = [namespace: string | undefined, group: string, resource: string, verb: string, name: string | undefined];
  const needed: Call[] = [
    [KNATIVE_NAMESPACE, '', 'configmaps', 'get', CONFIG_DOMAIN],
    [KNATIVE_NAMESPACE, '', 'configmaps', 'patch', CONFIG_DOMAIN],
    // Hostnames (shared/plan/hostnameConfig.ts): Knative's domain-template, KServe's ingress settings, the InferenceServices.
    [KNATIVE_NAMESPACE, '', 'configmaps', 'get', CONFIG_NETWORK_REF.name],
    [KNATIVE_NAMESPACE, '', 'configmaps', 'patch', CONFIG_NETWORK_REF.name],
    ['kubeflow', '', 'configmaps', 'get', INFERENCESERVICE_CONFIG],
    ['kubeflow', '', 'configmaps', 'patch', INFERENCESERVICE_CONFIG],
    [undefined, 'serving.kserve.io', 'inferenceservices', 'list', undefined],
    [undefined, 'serving.kserve.io', 'inferenceservices', 'get', 'sklearn-irisv2'],
    ...AUTHORIZATION_POLICY_NAMES.flatMap((n) =>
      ['get', 'patch', 'create'].map((v): Call => [ISTIO_NAMESPACE, 'security.istio.io', 'authorizationpolicies', v, n]),
    ),
    ...[COGNITO_INGRESS, DEX_INGRESS].flatMap((n) =>
      ['get', 'patch', 'create'].map((v): Call => [ISTIO_NAMESPACE, 'networking.k8s.io', 'ingresses', v, n]),
    ),
    [undefined, '', 'namespaces', 'list', undefined],
    [undefined, '', 'namespaces', 'watch', undefined],
    [undefined, '', 'namespaces', 'get', 'staging'],
    [undefined, 'networking.k8s.io', 'ingressclasses', 'get', 'alb'],
    [ISTIO_NAMESPACE, '', 'events', 'list', undefined],
    // ALB shards (issue 11): read, written and, once empty, deleted by name.
    ...[1, MAX_SHARDS - 1].flatMap((i) =>
      [COGNITO_INGRESS, DEX_INGRESS].flatMap((base) =>
        ['get', 'patch', 'delete'].map((v): Call => [ISTIO_NAMESPACE, 'networking.k8s.io', 'ingresses', v, shardIngressName(base, i)]),
      ),
    ),
  ];
  it.each(needed)('allows %s %s/%s %s %s', (namespace, group, resource, verb, name) => {
    expect(allowed({ namespace, group, resource, verb, name })).toBe(true);
  });

  it.each([
    [
      'another Knative ConfigMap',
      { namespace: KNATIVE_NAMESPACE, group: '', resource: 'configmaps', verb: 'patch', name: 'config-autoscaler' },
    ],
    ["another of KServe's ConfigMaps", { namespace: 'kubeflow', group: '', resource: 'configmaps', verb: 'patch', name: 'kserve-config' }],
    [
      'changing an InferenceService',
      { namespace: 'staging', group: 'serving.kserve.io', resource: 'inferenceservices', verb: 'patch', name: 'sklearn-irisv2' },
    ],
    ['creating a ConfigMap', { namespace: KNATIVE_NAMESPACE, group: '', resource: 'configmaps', verb: 'create', name: CONFIG_DOMAIN }],
    [
      'another AuthorizationPolicy',
      { namespace: ISTIO_NAMESPACE, group: 'security.istio.io', resource: 'authorizationpolicies', verb: 'patch', name: 'global-deny' },
    ],
    ['listing Events outside istio-system', { namespace: 'kube-system', group: '', resource: 'events', verb: 'list' }],
    ['writing an Event', { namespace: ISTIO_NAMESPACE, group: '', resource: 'events', verb: 'create' }],
    ['listing Ingresses', { namespace: ISTIO_NAMESPACE, group: 'networking.k8s.io', resource: 'ingresses', verb: 'list' }],
    [
      'an Ingress in a profile namespace',
      { namespace: 'staging', group: 'networking.k8s.io', resource: 'ingresses', verb: 'create', name: COGNITO_INGRESS },
    ],
    ['reading secrets', { namespace: ISTIO_NAMESPACE, group: '', resource: 'secrets', verb: 'get', name: 'x' }],
    ['deleting a namespace', { namespace: undefined, group: '', resource: 'namespaces', verb: 'delete', name: 'staging' }],
    [
      'deleting the Ingress',
      { namespace: ISTIO_NAMESPACE, group: 'networking.k8s.io', resource: 'ingresses', verb: 'delete', name: COGNITO_INGRESS },
    ],
    ['RBAC', { namespace: ISTIO_NAMESPACE, group: 'rbac.authorization.k8s.io', resource: 'roles', verb: 'create' }],
    ['another IngressClass', { namespace: undefined, group: 'networking.k8s.io', resource: 'ingressclasses', verb: 'get', name: 'nginx' }],
    [
      'changing the IngressClass',
      { namespace: undefined, group: 'networking.k8s.io', resource: 'ingressclasses', verb: 'patch', name: 'alb' },
    ],
  ])('denies %s', (_what, req) => {
    expect(allowed(req)).toBe(false);
  });

  it('has no wildcards, no secrets, no delete and no RBAC verbs anywhere (but deleting an ALB shard n ≥ 1, issue 11)', () => {
    const all = docs.flatMap((d) => d.rules ?? []);
    // The one delete: named ALB shard Ingresses, never shard 0.
    const deletes = all.filter((r) => JSON.stringify(r).includes('delete'));
    expect(deletes).toHaveLength(1);
    expect(deletes[0]).toMatchObject({ apiGroups: ['networking.k8s.io'], resources: ['ingresses'] });
    const deletable = (deletes[0] as { resourceNames?: string[] }).resourceNames ?? [];
    expect(deletable.length).toBe(2 * (MAX_SHARDS - 1));
    expect(deletable.every((n) => /-shard-[1-9][0-9]*$/.test(n))).toBe(true);
    const rules = all.filter((r) => r !== deletes[0]);
    const text = JSON.stringify(rules);
    expect(text).not.toContain('*');
    expect(text).not.toMatch(/secrets|delete|deletecollection|escalate|bind|impersonate|rbac\.authorization/);
  });
});
