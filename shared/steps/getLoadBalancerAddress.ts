/**
 * GetLoadBalancerAddress: does the ALB serve what this run wrote on the
 * Ingress yet?
 *
 * A hostname in the Ingress status is not a deployment (#10 §4.3): the AWS
 * Load Balancer Controller writes it after its first successful deploy and
 * keeps it when a later one fails. With ConfigureCluster's `expected` (the
 * certificates and scheme it left on the Ingress), the step therefore finds
 * the load balancer of that DNS name in ELBv2 and checks its scheme and the
 * certificates of its HTTPS:443 listener, and reads the Ingress's Events:
 * a `FailedBuildModel`/`FailedDeployModel` after the write ends the run with
 * LoadBalancerRejected and the controller's message, before any DNS write.
 * The decision is pure (shared/plan/loadBalancer.ts). Without `expected` (an
 * execution started before this field existed) only the hostname counts.
 *
 * A pure check with `now` injected: the state machine waits `waitSeconds`
 * (growing interval, shared/plan/polling.ts) between calls, and this step
 * fails with LoadBalancerTimeout once `deadlines.loadBalancerSeconds` have
 * passed since ConfigureCluster without an address.
 *
 *   configuredAt ──5s──5s──…──(elapsed/4)──…── deadline ─► LoadBalancerTimeout
 *                   └─ hostname appears ─► { ready: true, hostname }
 */
import { LoadBalancerRejectedError, LoadBalancerTimeoutError, PrerequisiteMissingError } from '../errors';
import type { KubeObject, KubePort, LoadBalancersPort } from '../ports';
import type { ProvisionRequest } from '../request';
import { INGRESS_API_VERSION, loadBalancerAddress } from '../plan/cluster';
import { nextPollDelay, secondsSince } from '../plan/polling';
import { HTTPS_PORT, loadBalancerReadiness, type ExpectedLoadBalancer, type ObservedLoadBalancer } from '../plan/loadBalancer';

export interface GetLoadBalancerAddressInput {
  request: ProvisionRequest;
  ingress: { namespace: string; name: string };
  /** ConfigureCluster's `configuredAt`: the deadline counts from here. */
  configuredAt: string;
  /** What the ALB must serve (ConfigureCluster's `expected`); without it, a hostname is enough. */
  expected?: ExpectedLoadBalancer;
  /**
   * ALB shards (ConfigureCluster's `shards`): every one must serve what was
   * written on it (or, unchanged, have an address); then each namespace's
   * record points at its shard's ALB. Without it: the one Ingress above.
   */
  shards?: Array<{ index: number; ingress: { namespace: string; name: string }; namespaces: string[]; expected?: ExpectedLoadBalancer }>;
}

export interface GetLoadBalancerAddressDeps {
  kube: KubePort;
  /** Needed when the input has `expected`. */
  loadBalancers?: LoadBalancersPort;
  now: () => Date;
}

export interface GetLoadBalancerAddressOutput {
  ready: boolean;
  /** The ALB's DNS name, once ready (with shards: shard 0's, or the first shard's). */
  hostname?: string;
  /** With shards, once ready: each shard's ALB and this run's namespaces on it. */
  targets?: Array<{ shard: number; hostname: string; namespaces: string[] }>;
  waitSeconds: number;
  elapsedSeconds: number;
  /** While not ready: what the ALB still lacks. */
  reason?: string;
}

/** Reads ELBv2 and the Ingress's Events for the decision. */
async function observe(
  kube: KubePort,
  loadBalancers: LoadBalancersPort,
  namespace: string,
  name: string,
  hostname: string | undefined,
): Promise<ObservedLoadBalancer> {
  const events: KubeObject[] = await kube.list('v1', 'Event', {
    namespace,
    // The API server filters; the decision checks the involvedObject again (a fake or a proxy may not).
    fieldSelector: `involvedObject.kind=Ingress,involvedObject.name=${name}`,
  });
  if (!hostname) return { events };
  return { hostname, ...(await readLoadBalancer(loadBalancers, hostname)), events };
}

/**
 * ELBv2's view of the load balancer whose DNS name is `hostname`: its scheme,
 * and the certificates on its HTTPS:443 listener (`undefined` when there is
 * no such listener; nothing at all when ELBv2 has no such load balancer).
 * Reads only; `kserve-edge status` reads the listener the same way.
 */
export async function readLoadBalancer(
  loadBalancers: LoadBalancersPort,
  hostname: string,
): Promise<Pick<ObservedLoadBalancer, 'loadBalancer' | 'listenerCertificates'>> {
  const lb = await loadBalancers.findByDnsName(hostname);
  if (!lb) return {};
  const https = (await loadBalancers.listListeners(lb.arn)).find((l) => l.port === HTTPS_PORT && l.protocol === 'HTTPS');
  const observed: Pick<ObservedLoadBalancer, 'loadBalancer' | 'listenerCertificates'> = {
    loadBalancer: { scheme: lb.scheme, ...(lb.state !== undefined ? { state: lb.state } : {}) },
  };
  if (https) observed.listenerCertificates = await loadBalancers.listListenerCertificates(https.arn);
  return observed;
}

/** One Ingress's readiness: ready with its hostname, or waiting with why; throws what ends the wait. */
async function checkOne(
  input: Pick<GetLoadBalancerAddressInput, 'ingress' | 'configuredAt' | 'expected'>,
  deps: GetLoadBalancerAddressDeps,
  now: Date,
): Promise<{ ready: true; hostname: string } | { ready: false; hostname?: string; reason?: string }> {
  const ref = { apiVersion: INGRESS_API_VERSION, kind: 'Ingress', namespace: input.ingress.namespace, name: input.ingress.name };
  const ingress = await deps.kube.get(ref);
  if (!ingress) {
    // ConfigureCluster just wrote (or found) it; if it is gone someone deleted it, and waiting will not bring it back.
    throw new PrerequisiteMissingError(
      `Ingress ${ref.namespace}/${ref.name} not found; it was configured at ${input.configuredAt}: was it deleted? Run the provisioning again to recreate it`,
      { missing: `Ingress ${ref.namespace}/${ref.name}` },
    );
  }
  const hostname = loadBalancerAddress(ingress);
  if (input.expected) {
    if (!deps.loadBalancers) throw new TypeError('GetLoadBalancerAddress needs the ELBv2 port when the input has `expected`');
    const ingressRef = { namespace: input.ingress.namespace, name: input.ingress.name };
    const observed = await observe(deps.kube, deps.loadBalancers, input.ingress.namespace, input.ingress.name, hostname);
    const readiness = loadBalancerReadiness(ingressRef, input.expected, observed, now);
    if (readiness.state === 'ready') return { ready: true, hostname: readiness.hostname };
    if (readiness.state === 'rejected') {
      throw new LoadBalancerRejectedError(
        `the AWS Load Balancer Controller refused Ingress ${ref.namespace}/${ref.name} (${readiness.reason}): ${readiness.message}; ` +
          'the ALB keeps its previous configuration and no DNS record was written',
      );
    }
    return { ready: false, ...(hostname ? { hostname } : {}), reason: readiness.reason };
  }
  if (hostname) return { ready: true, hostname };
  return { ready: false };
}

/** See the module comment. */
export async function getLoadBalancerAddress(
  input: GetLoadBalancerAddressInput,
  deps: GetLoadBalancerAddressDeps,
): Promise<GetLoadBalancerAddressOutput> {
  const now = deps.now();
  const elapsedSeconds = secondsSince(input.configuredAt, now);
  const shards = input.shards ?? [
    { index: 0, ingress: input.ingress, namespaces: [], ...(input.expected ? { expected: input.expected } : {}) },
  ];
  // Every shard, one after the other (each is a few ELBv2 reads; ELBv2's Describe rates are shared by the account).
  const results: Array<Awaited<ReturnType<typeof checkOne>>> = [];
  for (const shard of shards) {
    results.push(
      await checkOne(
        { ingress: shard.ingress, configuredAt: input.configuredAt, ...(shard.expected ? { expected: shard.expected } : {}) },
        deps,
        now,
      ),
    );
  }
  const waitingIndex = results.findIndex((r) => !r.ready);
  if (waitingIndex < 0) {
    const hostnames = results.map((r) => (r as { hostname: string }).hostname);
    const out: GetLoadBalancerAddressOutput = { ready: true, hostname: hostnames[0]!, waitSeconds: 0, elapsedSeconds };
    if (input.shards) out.targets = shards.map((s, i) => ({ shard: s.index, hostname: hostnames[i]!, namespaces: s.namespaces }));
    return out;
  }
  const waiting = results[waitingIndex] as { ready: false; hostname?: string; reason?: string };
  const ref = shards[waitingIndex]!.ingress;
  const hostname = waiting.hostname;
  const reason = waiting.reason;
  const deadline = input.request.deadlines.loadBalancerSeconds;
  if (elapsedSeconds > deadline) {
    throw new LoadBalancerTimeoutError(
      `Ingress ${ref.namespace}/${ref.name} has no load balancer ${hostname ? 'serving it' : 'address'} after ${elapsedSeconds}s (deadline ${deadline}s)` +
        `${reason ? `: ${reason}` : ''}; ` +
        'check the AWS Load Balancer Controller logs and `kubectl describe ingress` events (subnet tags, IAM, certificate)',
    );
  }
  const out: GetLoadBalancerAddressOutput = { ready: false, waitSeconds: nextPollDelay(elapsedSeconds, deadline), elapsedSeconds };
  if (reason !== undefined) out.reason = shards.length > 1 ? `shard ${shards[waitingIndex]!.index} (${ref.name}): ${reason}` : reason;
  return out;
}
