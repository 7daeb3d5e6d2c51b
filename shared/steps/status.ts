/**
 * `kserve-edge status`: reads what the workflow left (and what has become of
 * it since) and reduces it to one row per namespace
 * ({@link statusReport}, shared/plan/status.ts). Reads only, no write of any
 * kind: ACM (our certificates), the Ingress's status (the ALB's DNS name),
 * ELBv2 (the HTTPS listener's certificates, read as GetLoadBalancerAddress
 * reads them), Route 53 (one listing pass for every namespace's record), the
 * Namespaces (their uids name the automatic runs), Step Functions
 * (ListExecutions, when a provisioning state machine is configured) and,
 * unless skipped, one canary round.
 */
import type { ValidatedRequest } from '../input';
import type { AcmPort, ExecutionHistoryPort, KubePort, LoadBalancersPort, Route53Port } from '../ports';
import { ingressRefFor, loadBalancerAddress } from '../plan/cluster';
import { namespaceInfo } from '../plan/lifecycle';
import { statusReport, type CanaryProbeView, type StatusReads, type StatusReport } from '../plan/status';
import { namespaceWildcard } from '../request';
import { readLoadBalancer } from './getLoadBalancerAddress';

/** How many recent runs of the state machine are read to find each namespace's last one. */
export const RECENT_RUNS = 1000;

/** What {@link readStatus} reads through. */
export interface StatusDeps {
  acm: AcmPort;
  route53: Route53Port;
  kube: KubePort;
  loadBalancers: LoadBalancersPort;
  /** The provisioning state machine's runs; absent when no state machine is configured. */
  runs?: ExecutionHistoryPort;
  /** One canary round; absent with `--no-canary`. */
  canary?: () => Promise<readonly CanaryProbeView[]>;
  now: () => Date;
}

/**
 * Reads everything and returns the report. Writes nothing.
 *
 * @example
 *   const report = await readStatus(request, { acm, route53, kube, loadBalancers, now: () => new Date() });
 *   report.namespaces[0]; // { namespace: 'staging', healthy: true, certificate: { id: 'abc', daysToExpiry: 394, onListener: true, … }, … }
 */
export async function readStatus(request: ValidatedRequest, deps: StatusDeps): Promise<StatusReport> {
  const names = request.namespaces.map((ns) => namespaceWildcard(request, ns));
  const [certificates, ingress, records, namespaces, executions] = await Promise.all([
    deps.acm.listOwnedCertificates(request.ownerId),
    deps.kube.get(ingressRefFor(request)),
    deps.route53.listRecordsNamed(request.hostedZoneId, names),
    deps.kube.list('v1', 'Namespace'),
    deps.runs?.listRecent(RECENT_RUNS),
  ]);
  const albHostname = loadBalancerAddress(ingress);
  const reads: StatusReads = {
    certificates,
    records,
    namespaceUids: new Map(namespaces.map(namespaceInfo).map((n) => [n.name, n.uid])),
  };
  if (albHostname) {
    reads.albHostname = albHostname;
    const lb = await readLoadBalancer(deps.loadBalancers, albHostname);
    if (lb.listenerCertificates) reads.listenerCertificates = lb.listenerCertificates;
  }
  if (executions) reads.executions = executions;
  if (deps.canary) reads.canary = await deps.canary();
  return statusReport(request, reads, deps.now());
}
