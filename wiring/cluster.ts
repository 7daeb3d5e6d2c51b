/**
 * Reaching the request's cluster: the cluster access the configuration asks
 * for (EKS, an endpoint override, or a kubeconfig), and a KubePort over it.
 */
import { clusterAccess, type ClusterAccessOptions, type KubeConfigModule } from '../shared/aws/eks';
import { KubeAdapter } from '../shared/k8s/client';
import type { ClusterAccessPort, ClusterRef, KubePort } from '../shared/ports';
import { eksClient } from './clients';
import type { Config } from './config';

/**
 * The Kubernetes client for the kubeconfig mode, a local-run feature. The
 * Lambda bundles define `KSERVE_EDGE_LAMBDA_BUNDLE` at build time
 * (serverless.yml `custom.esbuild.define`), so esbuild folds this to
 * `undefined` and never sees the `import()`: an `import()` anywhere in a
 * bundle, even one never reached, makes esbuild keep every module of
 * `@kubernetes/client-node` (+3 MB per function). A build-time constant, not
 * configuration: which is why it is read here and not in `config.ts`.
 */
const loadKubeConfig: (() => Promise<KubeConfigModule>) | undefined =
  process.env.KSERVE_EDGE_LAMBDA_BUNDLE === 'true' ? undefined : () => import('@kubernetes/client-node');

/**
 * The cluster access of `config.cluster`.
 *
 * @example
 *   const conn = await clusterAccessFor(loadConfig()).connect({ name: 'kubeflow', region: 'us-west-2' });
 */
export function clusterAccessFor(
  config: Pick<Config, 'cluster' | 'aws' | 'region'>,
  options: Partial<ClusterAccessOptions> = {},
): ClusterAccessPort {
  return clusterAccess(config.cluster, {
    eksClientFor: (region) => eksClient(config, region),
    ...(loadKubeConfig ? { loadKubeConfig } : {}),
    ...options,
  });
}

/** A KubePort for the request's cluster: EKS endpoint + IAM token, or the configured override. */
export async function kubeFor(config: Pick<Config, 'cluster' | 'aws' | 'region'>, cluster: ClusterRef): Promise<KubePort> {
  // A new token per invocation: EKS tokens are valid for 15 minutes, Lambdas live longer.
  return KubeAdapter.fromConnection(await clusterAccessFor(config).connect(cluster));
}
