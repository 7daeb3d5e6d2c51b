/**
 * `kserve-edge plan`: what a provisioning run would change, from reads only.
 *
 * Certificates (reuse or request), the validation CNAMEs, the Kubernetes
 * objects, every certificate the ALB listener gains, keeps or loses (and why)
 * and the namespace DNS records. A change the run would refuse (a
 * record or object that is not ours) is shown as such. The planning itself is
 * the steps' own (shared/steps/planProvisioning.ts); this file builds the
 * adapters and prints.
 */
import { AcmAdapter } from '../shared/aws/acm';
import { Elbv2Adapter } from '../shared/aws/elbv2';
import { Route53Adapter } from '../shared/aws/route53';
import { SecretsAdapter } from '../shared/aws/secrets';
import { planProvisioning, type PlanReport } from '../shared/steps/planProvisioning';
import { acmClient, elbv2Client, route53Client, secretsClient, taggingClient } from '../wiring/clients';
import { kubeFor } from '../wiring/cluster';
import type { Config } from '../wiring/config';
import type { CliIo } from './main';
import { table } from './table';
import { validatedRequest } from './validate';

export type { PlanReport } from '../shared/steps/planProvisioning';

/** Validates the request, then plans it against the real AWS account and cluster. */
export async function buildPlan(raw: unknown, config: Config): Promise<PlanReport> {
  const request = await validatedRequest(raw, config);
  const region = request.cluster.region;
  return planProvisioning(request, {
    acm: new AcmAdapter(acmClient(config, region), taggingClient(config, region)),
    route53: new Route53Adapter(route53Client(config)),
    secrets: new SecretsAdapter(secretsClient(config, region)),
    kube: await kubeFor(config, request.cluster),
    loadBalancers: new Elbv2Adapter(elbv2Client(config, region)),
  });
}

/** `kserve-edge plan`: builds the plan, then {@link printPlan}. */
export async function plan(raw: unknown, opts: { io: CliIo; json: boolean; config: Config }): Promise<number> {
  return printPlan(await buildPlan(raw, opts.config), opts);
}

/**
 * Prints a plan to stdout: its tables are the command's result, as is the
 * JSON with `json`. Returns 1 when the run would be refused, else 0.
 */
export function printPlan(report: PlanReport, opts: { io: CliIo; json: boolean }): number {
  const { io } = opts;
  if (opts.json) {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    io.out('Certificates (ACM)\n');
    io.out(
      table(
        ['ACTION', 'SCOPE', 'NAMES', 'ARN', 'STATUS'],
        report.certificates.map((c) => [c.action, c.scope, c.names.join(' '), c.arn, c.status]),
      ),
    );
    io.out('\nValidation records (Route 53)\n');
    io.out(
      report.validationRecords.length
        ? table(
            ['ACTION', 'NAME'],
            report.validationRecords.map((r) => [r.action, r.name]),
          )
        : '(published once the new certificates are requested)\n',
    );
    io.out('\nKubernetes objects\n');
    io.out(
      Array.isArray(report.cluster)
        ? table(
            ['ACTION', 'KIND', 'NAMESPACE', 'NAME', 'REASON'],
            report.cluster.map((a) => [a.action, a.kind, a.namespace, a.name, a.reason]),
          )
        : `REFUSED: ${report.cluster.refused}\n`,
    );
    if (report.hostnames) {
      const h = report.hostnames;
      io.out(`\nHostnames: ${h.layout} (${h.modes.map((m) => `${m.mode} ${m.current}${m.changes ? ` → ${h.layout}` : ''}`).join(', ')})\n`);
      if (h.change) io.out(`CHANGE: ${h.change.from} → ${h.change.to}: every model's URL changes (confirmed: ${h.change.confirmation})\n`);
    }
    if (report.listener.length > 0) {
      io.out('\nALB listener certificates\n');
      io.out(
        table(
          ['ACTION', 'OWNER', 'NAMESPACES', 'ARN', 'REASON'],
          report.listener.map((c) => [c.action, c.owner, c.namespaces.join(' '), c.arn, c.reason]),
        ),
      );
    }
    io.out(`\nLoad balancer: ${report.loadBalancer ?? '(no address yet)'}\n\nDNS records (Route 53)\n`);
    if (Array.isArray(report.dns)) {
      io.out(
        table(
          ['ACTION', 'NAME', 'CHANGES'],
          report.dns.map((d) => [d.action, d.name, d.changes]),
        ),
      );
      if (report.loadBalancer === null) io.out('(the records will point at the load balancer once it has an address)\n');
    } else io.out(`REFUSED: ${report.dns.refused}\n`);
    io.out('\nNothing was written.\n');
  }
  const refused = !Array.isArray(report.cluster) || !Array.isArray(report.dns);
  return refused ? 1 : 0;
}
