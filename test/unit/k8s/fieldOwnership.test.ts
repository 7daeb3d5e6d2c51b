/**
 * Coexistence with GitOps (issue 13 item 5): the planner reads
 * `metadata.managedFields` and refuses to take fields a tool keeps applying.
 * The managedFields entries below are shaped as the API server writes them
 * (fieldsV1 sets of `f:<key>`), for the managers named in the README.
 */
import { ObjectOwnedByAnotherError } from '../../../shared/errors';
import { changedFields, fieldClaims, ownsField, formatFieldPath } from '../../../shared/plan/fieldOwnership';
import { desiredClusterState, planCluster, type ClusterState } from '../../../shared/plan/cluster';
import type { KubeObject, ObjectMeta } from '../../../shared/ports';
import {
  ARN_A,
  ARN_FOREIGN,
  TOKEN_1,
  albIngressClass,
  cognitoRequest,
  dexRequest,
  editedConfigDomain,
  kubeflowIngress,
  owned,
} from './fixtures';

const CERT = '.metadata.annotations.alb.ingress.kubernetes.io/certificate-arn';
const PORTS = '.metadata.annotations.alb.ingress.kubernetes.io/listen-ports';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Entry = NonNullable<ObjectMeta['managedFields']>[number] & { subresource?: string };

/** A managedFields entry owning the given annotations (and, optionally, the spec's rules). */
function entry(manager: string, operation: 'Apply' | 'Update', annotations: string[], extra: Partial<Entry> = {}): Entry {
  const set: Record<string, unknown> = { '.': {} };
  for (const a of annotations) set[`f:${a}`] = {};
  return { manager, operation, fieldsV1: { 'f:metadata': { 'f:annotations': set } }, ...extra };
}

function withManagers(obj: KubeObject, managedFields: Entry[], annotations: Record<string, string> = {}): KubeObject {
  return {
    ...obj,
    metadata: { ...obj.metadata, resourceVersion: '42', annotations: { ...obj.metadata.annotations, ...annotations }, managedFields },
  };
}

const ALL_BASE = [
  'kubernetes.io/ingress.class',
  'alb.ingress.kubernetes.io/load-balancer-attributes',
  'alb.ingress.kubernetes.io/scheme',
  'alb.ingress.kubernetes.io/listen-ports',
  'alb.ingress.kubernetes.io/target-type',
  'alb.ingress.kubernetes.io/certificate-arn',
];
const OTHERS_ONLY = ALL_BASE.filter((a) => !a.endsWith('/certificate-arn') && !a.endsWith('/listen-ports'));

/** The cluster with everything else converged and Kubeflow's Ingress as given. */
function dexCluster(ingress: KubeObject): ClusterState {
  const desired = desiredClusterState({ request: dexRequest(), certificateArns: [ARN_A] });
  return {
    configDomain: editedConfigDomain(),
    authorizationPolicies: Object.fromEntries(desired.authorizationPolicies.map((p) => [p.metadata.name, structuredClone(p)])),
    ingress,
    ingressClass: albIngressClass(),
  };
}

function planDex(ingress: KubeObject, adopt = false) {
  const desired = desiredClusterState({ request: dexRequest(), certificateArns: [ARN_A] });
  return planCluster(dexCluster(ingress), desired, { ownerId: 'kserve-edge', adopt, ownedArns: [ARN_A] });
}

function refusal(fn: () => unknown): ObjectOwnedByAnotherError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ObjectOwnedByAnotherError) return err;
    throw err;
  }
  throw new Error('expected ObjectOwnedByAnother');
}

describe('fieldOwnership: reading managedFields', () => {
  it('ownsField follows f:<key> sets; an empty set above the field owns it (atomic); "." alone does not', () => {
    const fields = { 'f:metadata': { 'f:annotations': { '.': {}, 'f:a/b': {} } }, 'f:spec': { 'f:rules': {} } };
    expect(ownsField(fields, ['metadata', 'annotations', 'a/b'])).toBe(true);
    expect(ownsField(fields, ['metadata', 'annotations', 'c'])).toBe(false);
    expect(ownsField(fields, ['spec', 'rules'])).toBe(true);
    expect(ownsField(fields, ['spec', 'rules', 'x'])).toBe(true);
    expect(ownsField(fields, ['spec', 'ingressClassName'])).toBe(false);
    expect(ownsField(undefined, ['metadata'])).toBe(false);
  });

  it('an empty annotations or labels set (an apply of `annotations: {}`) owns none of their keys: those maps are granular', () => {
    const emptied = { 'f:metadata': { 'f:annotations': {}, 'f:labels': {} } };
    expect(ownsField(emptied, ['metadata', 'annotations', 'alb.ingress.kubernetes.io/certificate-arn'])).toBe(false);
    expect(ownsField(emptied, ['metadata', 'labels', 'app'])).toBe(false);
    expect(ownsField({ 'f:metadata': {} }, ['metadata', 'annotations', 'x'])).toBe(false);
    expect(ownsField(emptied, ['metadata', 'annotations'])).toBe(true);
  });

  it('changedFields lists only the fields whose value differs', () => {
    const current = kubeflowIngress(ARN_FOREIGN);
    const desired: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'istio-ingress',
        annotations: {
          'alb.ingress.kubernetes.io/certificate-arn': `${ARN_FOREIGN},${ARN_A}`,
          'alb.ingress.kubernetes.io/listen-ports': '[{"HTTPS":443}]',
        },
      },
    };
    expect(changedFields(current, desired).map(formatFieldPath)).toEqual([CERT]);
  });

  it('our own manager, Apply or Update, is never a claim', () => {
    const current = withManagers(kubeflowIngress(), [entry('kserve-edge', 'Apply', ALL_BASE), entry('kserve-edge', 'Update', ALL_BASE)]);
    const want = { ...current, metadata: { name: 'istio-ingress', annotations: { 'alb.ingress.kubernetes.io/certificate-arn': ARN_A } } };
    expect(fieldClaims(current, want, 'kserve-edge')).toEqual({ claims: [], edits: [], changed: [CERT] });
  });

  it('a status writer (subresource) is never a claim', () => {
    const current = withManagers(kubeflowIngress(), [
      entry('controller', 'Update', ['alb.ingress.kubernetes.io/certificate-arn'], { subresource: 'status' }),
    ]);
    const want = { ...current, metadata: { name: 'istio-ingress', annotations: { 'alb.ingress.kubernetes.io/certificate-arn': ARN_A } } };
    expect(fieldClaims(current, want, 'kserve-edge').claims).toEqual([]);
  });
});

describe("planCluster: Kubeflow's istio-ingress (Dex) beside GitOps", () => {
  it('Argo CD (server-side apply) owns certificate-arn: ObjectOwnedByAnother naming the manager and the field', () => {
    const ingress = withManagers(kubeflowIngress(), [entry('argocd-controller', 'Apply', ALL_BASE)]);
    const err = refusal(() => planDex(ingress));
    expect(err.message).toContain('Ingress istio-system/istio-ingress');
    expect(err.message).toContain(`"argocd-controller" (server-side apply) owns ${CERT}`);
    // listen-ports already holds our value: co-owned, not a conflict, not named.
    expect(err.message).not.toContain(PORTS);
    expect(err.message).toMatch(/"adopt": true/);
  });

  it('Flux (kustomize-controller, Apply) owning the base listen-ports HTTP:80: refused, both fields named', () => {
    const base = kubeflowIngress();
    delete base.metadata.annotations!['alb.ingress.kubernetes.io/certificate-arn'];
    base.metadata.annotations!['alb.ingress.kubernetes.io/listen-ports'] = '[{"HTTP": 80}]';
    const err = refusal(() =>
      planDex(
        withManagers(base, [
          entry(
            'kustomize-controller',
            'Apply',
            ALL_BASE.filter((a) => !a.endsWith('certificate-arn')),
          ),
        ]),
      ),
    );
    expect(err.message).toContain(`"kustomize-controller" (server-side apply) owns ${PORTS}`);
    // certificate-arn is not set at all: nobody owns it, so it is not named.
    expect(err.message).not.toContain(CERT);
  });

  it('kubectl client-side apply (Update + last-applied-configuration) owns certificate-arn: refused', () => {
    const lastApplied = JSON.stringify({ metadata: { annotations: { 'alb.ingress.kubernetes.io/certificate-arn': ARN_FOREIGN } } });
    const ingress = withManagers(kubeflowIngress(), [entry('kubectl-client-side-apply', 'Update', [...ALL_BASE, LAST_APPLIED])], {
      [LAST_APPLIED]: lastApplied,
    });
    const err = refusal(() => planDex(ingress));
    expect(err.message).toContain(`"kubectl-client-side-apply" (client-side apply) owns ${CERT}`);
  });

  it('a one-off edit (Update, nothing re-applies it) is taken over, and the reason says so', () => {
    const ingress = withManagers(kubeflowIngress(), [entry('kubectl-edit', 'Update', ['alb.ingress.kubernetes.io/certificate-arn'])]);
    const step = planDex(ingress)[3]!;
    expect(step).toMatchObject({ action: 'apply', force: true, precondition: { resourceVersion: '42' } });
    expect(step.reason).toContain(`takes over one-off edits by "kubectl-edit": ${CERT}`);
  });

  it('a manager that owns only other annotations is no obstacle', () => {
    const ingress = withManagers(kubeflowIngress(), [
      entry('argocd-controller', 'Apply', OTHERS_ONLY),
      entry('kserve-edge', 'Apply', ['alb.ingress.kubernetes.io/certificate-arn', 'alb.ingress.kubernetes.io/listen-ports']),
    ]);
    const step = planDex(ingress)[3]!;
    expect(step).toMatchObject({ action: 'apply', force: true });
    expect(step.reason).not.toMatch(/adopt|one-off/);
  });

  it('nothing to change: none, whoever owns the fields', () => {
    const ingress = withManagers(kubeflowIngress(`${ARN_FOREIGN},${ARN_A}`), [entry('argocd-controller', 'Apply', ALL_BASE)]);
    expect(planDex(ingress)[3]).toMatchObject({ action: 'none' });
  });

  it('adopt: applies with force, and the reason names what was taken from whom', () => {
    const ingress = withManagers(kubeflowIngress(), [entry('argocd-controller', 'Apply', ALL_BASE)]);
    const step = planDex(ingress, true)[3]!;
    expect(step).toMatchObject({ action: 'apply', force: true });
    expect(step.reason).toContain(`adopt (adopt=true): took "argocd-controller" (server-side apply) owns ${CERT}`);
  });
});

describe('planCluster: our own istio-ingress-api (Cognito) beside GitOps', () => {
  const desired = () => desiredClusterState({ request: cognitoRequest(), certificateArns: [ARN_A], headerValues: [TOKEN_1] });
  function cluster(ingress: KubeObject): ClusterState {
    const d = desired();
    return {
      configDomain: editedConfigDomain(),
      authorizationPolicies: Object.fromEntries(d.authorizationPolicies.map((p) => [p.metadata.name, structuredClone(p)])),
      ingress,
      ingressClass: albIngressClass(),
    };
  }
  /** Our Ingress, with the certificate-arn someone else set since. */
  function ours(certificateArn: string, managedFields: Entry[]): KubeObject {
    const ing = structuredClone(desired().ingress);
    ing.metadata.annotations!['alb.ingress.kubernetes.io/certificate-arn'] = certificateArn;
    return withManagers(ing, managedFields);
  }

  it('Flux owns our certificate-arn (Apply): refused, naming kustomize-controller', () => {
    const ingress = ours(ARN_FOREIGN, [entry('kustomize-controller', 'Apply', ['alb.ingress.kubernetes.io/certificate-arn'])]);
    const err = refusal(() => planCluster(cluster(ingress), desired(), { ownerId: 'kserve-edge', adopt: false }));
    expect(err.message).toContain(`Ingress istio-system/istio-ingress-api: "kustomize-controller" (server-side apply) owns ${CERT}`);
  });

  it('a kubectl edit of our Ingress is re-asserted as before (update, force)', () => {
    const ingress = ours(ARN_FOREIGN, [entry('kubectl-edit', 'Update', ['alb.ingress.kubernetes.io/certificate-arn'])]);
    const step = planCluster(cluster(ingress), desired(), { ownerId: 'kserve-edge', adopt: false })[3]!;
    expect(step).toMatchObject({ action: 'apply', force: true });
    expect(step.reason).toMatch(/^update \(differs from desired\); takes over one-off edits by "kubectl-edit"/);
  });

  it('adopt takes it and says so', () => {
    const ingress = ours(ARN_FOREIGN, [entry('kustomize-controller', 'Apply', ['alb.ingress.kubernetes.io/certificate-arn'])]);
    const step = planCluster(cluster(ingress), desired(), { ownerId: 'kserve-edge', adopt: true })[3]!;
    expect(step.reason).toContain('adopt (adopt=true): took "kustomize-controller"');
  });

  it('a foreign istio-ingress-api (not ours by label) names the managers in its refusal', () => {
    const foreign = structuredClone(desired().ingress);
    foreign.metadata.labels = { 'kustomize.component': 'istio-ingress' };
    foreign.metadata.annotations!['alb.ingress.kubernetes.io/certificate-arn'] = ARN_FOREIGN;
    const ingress = withManagers(foreign, [entry('argocd-controller', 'Apply', ['alb.ingress.kubernetes.io/certificate-arn'])]);
    const err = refusal(() => planCluster(cluster(ingress), desired(), { ownerId: 'kserve-edge', adopt: false }));
    expect(err.message).toMatch(/is not managed by kserve-edge .*"argocd-controller" \(server-side apply\) owns/);
  });

  it('still ours and unchanged: none (no check needed)', () => {
    const d = desired();
    const ingress = withManagers(owned(structuredClone(d.ingress)), [entry('argocd-controller', 'Apply', ALL_BASE)]);
    expect(planCluster(cluster(ingress), d, { ownerId: 'kserve-edge', adopt: false })[3]).toMatchObject({ action: 'none' });
  });
});
