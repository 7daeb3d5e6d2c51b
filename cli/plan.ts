/**
 * `kserve-edge plan`: what a provisioning run would change, from reads only.
 *
 * Certificates (reuse or request), the validation CNAMEs, the Kubernetes
 * objects (with header values masked) and the namespace DNS records. A change
 * the run would refuse (a record or object that is not ours) is shown as such.
 */
import { AcmAdapter } from '../shared/aws/acm';
import { Route53Adapter } from '../shared/aws/route53';
import { SecretsAdapter } from '../shared/aws/secrets';
import { isAutomationError, toError } from '../shared/errors';
import { TAG_DOMAIN } from '../shared/ownership';
import { desiredCertificates, planCertificates, uniqueValidationRecords } from '../shared/plan/certificates';
import { desiredClusterState, loadBalancerAddress, planCluster, readClusterState, redactClusterPlan } from '../shared/plan/cluster';
import { parseHeaderValuesSecret } from '../shared/plan/secrets';
import { planDnsRecords } from '../shared/steps/upsertDnsRecords';
import { acmClient, route53Client, secretsClient } from '../wiring/clients';
import { kubeFor } from '../wiring/cluster';
import type { Config } from '../wiring/config';
import type { CliIo } from './main';
import { table } from './table';
import { validatedRequest } from './validate';

export interface PlanReport {
  certificates: Array<{ scope: string; names: string[]; action: 'reuse' | 'request'; arn?: string; status?: string }>;
  validationRecords: Array<{ name: string; action: 'upsert' }>;
  cluster: Array<{ action: string; kind: string; namespace?: string; name: string; reason: string }> | { refused: string };
  loadBalancer: string | null;
  dns: Array<{ name: string; action: string; changes: number }> | { refused: string } | { pending: string };
}

export async function buildPlan(raw: unknown, config: Config): Promise<PlanReport> {
  const request = await validatedRequest(raw, config);
  const region = request.cluster.region;
  const acm = new AcmAdapter(acmClient(config, region));
  const route53 = new Route53Adapter(route53Client(config));

  const owned = (await acm.listOwnedCertificates(request.ownerId)).filter((c) => c.tags[TAG_DOMAIN] === request.domain);
  const desired = desiredCertificates(request);
  const certPlan = planCertificates(desired, owned, { ownerId: request.ownerId, domain: request.domain });
  const certificates: PlanReport['certificates'] = desired.map((d) => {
    const reuse = certPlan.reuse.find((r) => r.desired === d);
    return reuse
      ? { scope: d.scope, names: d.names, action: 'reuse', arn: reuse.existing.arn, status: reuse.existing.status }
      : { scope: d.scope, names: d.names, action: 'request' };
  });
  const validationRecords = uniqueValidationRecords(certPlan.reuse.map((r) => r.existing)).map((r) => ({ name: r.name, action: 'upsert' as const }));

  // New certificates do not have an ARN yet: placeholders stand in for them.
  const arns = certificates.map((c, i) => c.arn ?? `arn:aws:acm:${region}:000000000000:certificate/to-be-requested-${i}`);
  const kube = await kubeFor(config, request.cluster);
  const current = await readClusterState(kube, request);
  let cluster: PlanReport['cluster'];
  try {
    const headerValues =
      request.auth.provider === 'cognito'
        ? parseHeaderValuesSecret(await new SecretsAdapter(secretsClient(config, region)).getSecretString(request.auth.headerValuesSecretId))
        : undefined;
    const plan = planCluster(current, desiredClusterState({ request, certificateArns: arns, ...(headerValues ? { headerValues } : {}) }), {
      ownerId: request.ownerId,
      adopt: request.adopt,
      ownedArns: owned.map((c) => c.arn),
    });
    cluster = redactClusterPlan(plan).map((a) => ({
      action: a.action,
      kind: a.ref.kind,
      ...(a.ref.namespace ? { namespace: a.ref.namespace } : {}),
      name: a.ref.name,
      reason: a.reason,
    }));
  } catch (e) {
    if (!isAutomationError(e)) throw e;
    cluster = { refused: `${e.name}: ${e.message}` };
  }

  const hostname = loadBalancerAddress(current.ingress) ?? null;
  let dns: PlanReport['dns'];
  if (!hostname) {
    dns = { pending: `after the ALB has an address: *.<namespace>.${request.domain} → the ALB (${request.dns.recordType}) + ownership TXT` };
  } else {
    try {
      dns = (await planDnsRecords(request, hostname, route53)).map((p) => ({ name: p.recordName, action: p.action, changes: p.changes.length }));
    } catch (e) {
      if (!isAutomationError(e)) throw e;
      dns = { refused: `${e.name}: ${toError(e).message}` };
    }
  }
  return { certificates, validationRecords, cluster, loadBalancer: hostname, dns };
}

export async function plan(raw: unknown, opts: { io: CliIo; json: boolean; config: Config }): Promise<number> {
  const report = await buildPlan(raw, opts.config);
  const { io } = opts;
  if (opts.json) {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    io.out('Certificates (ACM)\n');
    io.out(table(['ACTION', 'SCOPE', 'NAMES', 'ARN', 'STATUS'], report.certificates.map((c) => [c.action, c.scope, c.names.join(' '), c.arn, c.status])));
    io.out('\nValidation records (Route 53)\n');
    io.out(report.validationRecords.length ? table(['ACTION', 'NAME'], report.validationRecords.map((r) => [r.action, r.name])) : '(published once the new certificates are requested)\n');
    io.out('\nKubernetes objects\n');
    io.out(Array.isArray(report.cluster) ? table(['ACTION', 'KIND', 'NAMESPACE', 'NAME', 'REASON'], report.cluster.map((a) => [a.action, a.kind, a.namespace, a.name, a.reason])) : `REFUSED: ${report.cluster.refused}\n`);
    io.out(`\nLoad balancer: ${report.loadBalancer ?? '(no address yet)'}\n\nDNS records (Route 53)\n`);
    if (Array.isArray(report.dns)) io.out(table(['ACTION', 'NAME', 'CHANGES'], report.dns.map((d) => [d.action, d.name, d.changes])));
    else if ('refused' in report.dns) io.out(`REFUSED: ${report.dns.refused}\n`);
    else io.out(`${report.dns.pending}\n`);
    io.out('\nNothing was written.\n');
  }
  const refused = !Array.isArray(report.cluster) || (!Array.isArray(report.dns) && 'refused' in report.dns);
  return refused ? 1 : 0;
}
