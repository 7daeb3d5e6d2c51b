/** A KubePort for the request's cluster: EKS endpoint + IAM token, or the local overrides. */
import { clusterAccessFromEnv } from '../aws/eks';
import type { ClusterRef, KubePort } from '../ports';
import { KubeAdapter } from './client';

export async function kubeFor(cluster: ClusterRef, env: NodeJS.ProcessEnv = process.env): Promise<KubePort> {
  // A new token per invocation: EKS tokens are valid for 15 minutes, Lambdas live longer.
  return KubeAdapter.fromConnection(await clusterAccessFromEnv(env).connect(cluster));
}
