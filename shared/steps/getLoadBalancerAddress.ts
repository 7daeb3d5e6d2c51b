/**
 * GetLoadBalancerAddress: has the AWS Load Balancer Controller published the
 * ALB's DNS name on the Ingress yet?
 *
 * A pure check with `now` injected: the state machine waits `waitSeconds`
 * (growing interval, shared/plan/polling.ts) between calls, and this step
 * fails with LoadBalancerTimeout once `deadlines.loadBalancerSeconds` have
 * passed since ConfigureCluster without an address.
 *
 *   configuredAt ──5s──5s──…──(elapsed/4)──…── deadline ─► LoadBalancerTimeout
 *                   └─ hostname appears ─► { ready: true, hostname }
 */
import { LoadBalancerTimeoutError, PrerequisiteMissingError } from '../errors';
import type { KubePort } from '../ports';
import type { ProvisionRequest } from '../request';
import { INGRESS_API_VERSION, loadBalancerAddress } from '../plan/cluster';
import { nextPollDelay, secondsSince } from '../plan/polling';

export interface GetLoadBalancerAddressInput {
  request: ProvisionRequest;
  ingress: { namespace: string; name: string };
  /** ConfigureCluster's `configuredAt`: the deadline counts from here. */
  configuredAt: string;
}

export interface GetLoadBalancerAddressOutput {
  ready: boolean;
  /** The ALB's DNS name, once ready. */
  hostname?: string;
  waitSeconds: number;
  elapsedSeconds: number;
}

/** See the module comment. */
export async function getLoadBalancerAddress(
  input: GetLoadBalancerAddressInput,
  deps: { kube: KubePort; now: () => Date },
): Promise<GetLoadBalancerAddressOutput> {
  const ref = { apiVersion: INGRESS_API_VERSION, kind: 'Ingress', namespace: input.ingress.namespace, name: input.ingress.name };
  const ingress = await deps.kube.get(ref);
  if (!ingress) {
    // ConfigureCluster just wrote (or found) it; if it is gone someone deleted it, and waiting will not bring it back.
    throw new PrerequisiteMissingError(
      `Ingress ${ref.namespace}/${ref.name} not found; it was configured at ${input.configuredAt}: was it deleted? Run the provisioning again to recreate it`,
      { missing: `Ingress ${ref.namespace}/${ref.name}` },
    );
  }
  const elapsedSeconds = secondsSince(input.configuredAt, deps.now());
  const hostname = loadBalancerAddress(ingress);
  if (hostname) return { ready: true, hostname, waitSeconds: 0, elapsedSeconds };
  const deadline = input.request.deadlines.loadBalancerSeconds;
  if (elapsedSeconds > deadline) {
    throw new LoadBalancerTimeoutError(
      `Ingress ${ref.namespace}/${ref.name} has no load balancer address after ${elapsedSeconds}s (deadline ${deadline}s); ` +
        'check the AWS Load Balancer Controller logs and `kubectl describe ingress` events (subnet tags, IAM, certificate)',
    );
  }
  return { ready: false, waitSeconds: nextPollDelay(elapsedSeconds, deadline), elapsedSeconds };
}
