/**
 * A controller's identity in the testbed cluster, as a Helm chart install gives
 * it on EKS: a ServiceAccount bound to a ClusterRole, and (because the testbed
 * runs controllers out of cluster) a kubeconfig holding only a bound token of
 * that ServiceAccount (TokenRequest, as a projected token would be in a pod).
 * Used by the real AWS Load Balancer Controller and external-dns.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KubeClient } from './kube';

const MANAGER = 'testbed-admin';

/** Where the ServiceAccount lives, and the ClusterRole (already applied) it is bound to by `binding`. */
export interface ServiceAccountSpec {
  namespace: string;
  name: string;
  clusterRole: string;
  /** The ClusterRoleBinding's name. */
  binding: string;
}

/** Applies the ServiceAccount and its ClusterRoleBinding. */
export async function bindServiceAccount(admin: KubeClient, sa: ServiceAccountSpec): Promise<void> {
  await admin.apply(
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa.name, namespace: sa.namespace } },
    { fieldManager: MANAGER, force: true },
  );
  await admin.apply(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: sa.binding },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa.clusterRole },
      subjects: [{ kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace }],
    },
    { fieldManager: MANAGER, force: true },
  );
}

/**
 * Writes `file` (mode 0600): a kubeconfig for `server`, trusting `clusterCaPem`,
 * whose only credential is a one-day token of the ServiceAccount.
 */
export async function writeServiceAccountKubeconfig(
  admin: KubeClient,
  sa: { namespace: string; name: string },
  o: { server: string; clusterCaPem: string; file: string },
): Promise<void> {
  const tr = await admin.request('POST', `/api/v1/namespaces/${sa.namespace}/serviceaccounts/${sa.name}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 24 * 3600 } },
  });
  // A refusal's body is a Status (no token in it); a success's body is never logged.
  if (tr.status !== 201 && tr.status !== 200) throw new Error(`TokenRequest for ${sa.name}: ${tr.status} ${JSON.stringify(tr.body)}`);
  const token = (tr.body as { status?: { token?: string } } | undefined)?.status?.token;
  if (!token) throw new Error(`TokenRequest for ${sa.name} returned no token`);
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'testbed', cluster: { server: o.server, 'certificate-authority-data': Buffer.from(o.clusterCaPem).toString('base64') } },
    ],
    users: [{ name: sa.name, user: { token } }],
    contexts: [{ name: 'testbed', context: { cluster: 'testbed', user: sa.name } }],
    'current-context': 'testbed',
  };
  mkdirSync(dirname(o.file), { recursive: true });
  writeFileSync(o.file, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });
}
