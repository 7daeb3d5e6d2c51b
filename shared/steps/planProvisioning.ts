/**
 * What a provisioning run would change, from reads only: the planning halves of
 * the steps, chained the way the state machine chains the steps.
 *
 * | section             | planned by                                  | applied by                |
 * |---------------------|---------------------------------------------|---------------------------|
 * | certificates        | {@link planEnsureCertificates}              | EnsureCertificates        |
 * | validation records  | the reused certificates' CNAMEs             | PublishValidationRecords  |
 * | Kubernetes objects  | {@link planConfigureCluster}                | ConfigureCluster          |
 * | DNS records         | {@link planDnsRecords}                      | UpsertDnsRecords          |
 *
 * `kserve-edge plan` prints this report; the steps apply the same plans, so
 * the two cannot drift (test/integration/plan-matches-provision.test.ts runs
 * both on the testbed and compares). A change a step would refuse (a record or
 * object that is not ours, a weak token) is reported as refused instead of thrown.
 *
 * The report holds no secret: cluster actions are summarised without their
 * objects, so header values never reach it.
 */
import { isAutomationError, toError } from '../errors';
import type { AcmPort, KubePort, LoadBalancersPort, Route53Port, SecretsPort } from '../ports';
import type { ProvisionRequest } from '../request';
import { uniqueValidationRecords, validationRecordsToWrite } from '../plan/certificates';
import { loadBalancerAddress, type ListenerCertificateChange } from '../plan/cluster';
import {
  planConfigureCluster,
  summariseClusterAction,
  summariseHostnames,
  type ConfigureClusterAction,
  type HostnameSummary,
} from './configureCluster';
import { ownedArnsOf, planEnsureCertificates } from './ensureCertificates';
import { planDnsRecords } from './upsertDnsRecords';

/** The report `kserve-edge plan` prints (its `--json` output). */
export interface PlanReport {
  certificates: Array<{ scope: string; names: string[]; action: 'reuse' | 'request'; arn?: string; status?: string }>;
  validationRecords: Array<{ name: string; action: 'upsert' | 'none' }>;
  cluster: ConfigureClusterAction[] | { refused: string };
  /**
   * Every certificate the ALB listener would gain, keep or lose, and why
   * (this run's; another namespace's that is still provisioned; one whose
   * namespace is gone; one that is not ours). Empty when the cluster plan is refused.
   */
  listener: ListenerCertificateChange[];
  /** The hostname layout, the KServe modes in use, and the layout switch (every model's URL changes) if the run makes one. */
  hostnames?: HostnameSummary;
  /** The ALB's DNS name, `null` while the Ingress has none (then the DNS records point at it once it has). */
  loadBalancer: string | null;
  dns: Array<{ name: string; action: string; changes: number }> | { refused: string };
}

/** Reads only; every adapter a provisioning run uses. */
export interface PlanProvisioningDeps {
  acm: AcmPort;
  route53: Route53Port;
  secrets: SecretsPort;
  kube: KubePort;
  /** The account's ALB quotas; without it, ELBv2's defaults. */
  loadBalancers?: LoadBalancersPort;
}

/**
 * Stands in for the ALB's DNS name before the controller has published it. The
 * DNS plan is made against it: which names get created, adopted or refused does
 * not depend on the target (a record of ours that exists already shows as
 * `update`, since its target cannot be compared yet).
 */
export const PENDING_LOAD_BALANCER = 'load-balancer-address.pending';

/** An ARN for a certificate that is still to be requested (it has none yet); only its position on the listener matters. */
export function placeholderCertificateArn(region: string, index: number): string {
  return `arn:aws:acm:${region}:000000000000:certificate/to-be-requested-${index}`;
}

/**
 * A run would stop here for good (an owner conflict, a weak token, a missing
 * permission): shown in the report. A passing failure (throttling, an
 * unreachable cluster) and any unexpected error are thrown: the plan is not
 * known then.
 */
function refusal(e: unknown): { refused: string } {
  if (!isAutomationError(e) || e.retryable) throw e;
  return { refused: `${e.name}: ${toError(e).message}` };
}

/** See the module comment. */
export async function planProvisioning(
  request: ProvisionRequest & { hostedZoneId: string },
  deps: PlanProvisioningDeps,
): Promise<PlanReport> {
  const region = request.cluster.region;
  const { actions, owned } = await planEnsureCertificates(request, deps);
  const certificates: PlanReport['certificates'] = actions.map((a) =>
    a.action === 'reuse'
      ? { scope: a.desired.scope, names: a.desired.names, action: 'reuse', arn: a.existing.arn, status: a.existing.status }
      : { scope: a.desired.scope, names: a.desired.names, action: 'request' },
  );
  // The reused certificates' CNAMEs: PublishValidationRecords writes only those the zone lacks (a new certificate's come later).
  const reusedRecords = uniqueValidationRecords(actions.flatMap((a) => (a.action === 'reuse' ? [a.existing] : [])));
  const present =
    reusedRecords.length > 0
      ? await deps.route53.listRecordsNamed(
          request.hostedZoneId,
          reusedRecords.map((r) => r.name),
        )
      : [];
  const toWrite = new Set(validationRecordsToWrite(reusedRecords, present).map((r) => r.name));
  const validationRecords = reusedRecords.map((r) => ({
    name: r.name,
    action: toWrite.has(r.name) ? ('upsert' as const) : ('none' as const),
  }));

  // What EnsureCertificates would hand ConfigureCluster, with placeholders for the new certificates.
  const items = certificates.map((c, i) => ({ arn: c.arn ?? placeholderCertificateArn(region, i) }));
  const certificateArns = items.map((i) => i.arn);
  let cluster: PlanReport['cluster'];
  let listener: ListenerCertificateChange[] = [];
  let hostname: string | undefined;
  // With ALB shards: each namespace's record points at its shard's ALB.
  let shardHostname: ((ns: string) => string | undefined) | undefined;
  let hostnames: HostnameSummary | undefined;
  try {
    const planned = await planConfigureCluster(
      { request, certificateArns, certificateNames: certificates.map((c) => c.names), ownedArns: ownedArnsOf(owned, items) },
      deps,
    );
    const { plan, current } = planned;
    cluster = plan.map(summariseClusterAction);
    listener = planned.certificates;
    hostnames = summariseHostnames(planned.hostnames);
    hostname = loadBalancerAddress(current.ingress);
    if (planned.shards.length > 1) {
      shardHostname = (ns) => planned.shards.find((sh) => sh.namespaces.includes(ns))?.hostname;
    }
  } catch (e) {
    cluster = refusal(e);
  }

  let dns: PlanReport['dns'];
  try {
    const target = shardHostname;
    const plans = await planDnsRecords(
      request,
      target ? (ns) => target(ns) ?? PENDING_LOAD_BALANCER : (hostname ?? PENDING_LOAD_BALANCER),
      deps.route53,
    );
    dns = plans.map((p) => ({ name: p.recordName, action: p.action, changes: p.changes.length }));
  } catch (e) {
    dns = refusal(e);
  }
  return { certificates, validationRecords, cluster, listener, ...(hostnames ? { hostnames } : {}), loadBalancer: hostname ?? null, dns };
}
