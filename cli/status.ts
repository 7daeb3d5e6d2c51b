/**
 * `kserve-edge status`: one row per namespace (certificate, listener, DNS
 * record, last automatic run, live canary), from reads only. The reading is
 * shared/steps/status.ts and the verdict shared/plan/status.ts; this file
 * builds the adapters and prints: the table on stderr, the result on stdout
 * (a one-line verdict, or the report with `--json`). Exit code 0 when every
 * namespace is healthy, 1 when one is not.
 */
import { AcmAdapter } from '../shared/aws/acm';
import { Elbv2Adapter } from '../shared/aws/elbv2';
import { Route53Adapter } from '../shared/aws/route53';
import { SfnExecutions } from '../shared/aws/sfn';
import { runCanary } from '../shared/canary/probe';
import { silentLogger } from '../shared/log';
import { namespaceInfo, requestForNamespaces } from '../shared/plan/lifecycle';
import type { StatusReport } from '../shared/plan/status';
import { parseProvisionRequest } from '../shared/request';
import { readStatus } from '../shared/steps/status';
import { canaryDeps } from '../wiring/canary';
import { acmClient, elbv2Client, route53Client, sfnClient, taggingClient } from '../wiring/clients';
import { kubeFor } from '../wiring/cluster';
import type { Config } from '../wiring/config';
import { requestTemplate } from '../wiring/lifecycle';
import type { CliIo } from './main';
import { table } from './table';
import { validatedRequest } from './validate';

/** Options of {@link status}. */
export interface StatusOptions {
  io: CliIo;
  json: boolean;
  config: Config;
  /** Skip the live canary round. */
  canary: boolean;
}

/**
 * The request the automatic runs would send now: the deployed template
 * (`KSERVE_EDGE_REQUEST_TEMPLATE`, read as the lifecycle functions read it)
 * with its static namespaces plus every profile namespace the cluster has.
 */
export async function requestFromTemplate(config: Config): Promise<unknown> {
  const template = await requestTemplate(config);
  const statics = template.namespaces ?? [];
  const base = parseProvisionRequest(requestForNamespaces(template, statics.length > 0 ? [] : ['template-check']));
  const kube = await kubeFor(config, base.cluster);
  const profiles = (await kube.list('v1', 'Namespace'))
    .map(namespaceInfo)
    .filter((n) => n.profile && !n.terminating)
    .map((n) => n.name);
  return requestForNamespaces(template, profiles);
}

/** Reads the status of every namespace of the request (see shared/steps/status.ts). */
export async function buildStatus(raw: unknown, config: Config, opts: { canary: boolean }): Promise<StatusReport> {
  const request = await validatedRequest(raw, config);
  const region = request.cluster.region;
  const machine = config.lifecycle.provisionStateMachineArn;
  return readStatus(request, {
    acm: new AcmAdapter(acmClient(config, region), taggingClient(config, region)),
    route53: new Route53Adapter(route53Client(config)),
    kube: await kubeFor(config, request.cluster),
    loadBalancers: new Elbv2Adapter(elbv2Client(config, region)),
    ...(machine ? { runs: new SfnExecutions(sfnClient(config, region), machine) } : {}),
    ...(opts.canary ? { canary: async () => (await runCanary({ request }, canaryDeps(config, request, silentLogger))).results } : {}),
    now: () => new Date(),
  });
}

const yesNo = (v: boolean | undefined): string | undefined => (v === undefined ? undefined : v ? 'yes' : 'NO');

/** The table `kserve-edge status` prints (stderr). */
export function statusTable(report: StatusReport): string {
  return table(
    [
      'NAMESPACE',
      'HEALTH',
      'CERTIFICATE',
      'CERT STATUS',
      'DAYS LEFT',
      'ON LISTENER',
      'RECORD',
      'TARGET',
      'TARGET = ALB',
      'LAST RUN',
      'CANARY',
    ],
    report.namespaces.map((n) => [
      n.namespace,
      n.healthy ? 'ok' : `UNHEALTHY: ${n.problems.join('; ')}`,
      n.certificate?.id,
      n.certificate?.status,
      n.certificate?.daysToExpiry,
      yesNo(n.certificate?.onListener),
      n.record ? `${n.record.name} ${n.record.type}` : undefined,
      n.record?.target,
      yesNo(n.record?.targetIsAlb),
      n.lastRun ? `${n.lastRun.status} ${n.lastRun.stopDate ?? n.lastRun.startDate ?? ''}`.trim() : n.runsKnown ? 'none' : undefined,
      n.canary ? (n.canary.ok ? `ok ${n.canary.status ?? ''} ${n.canary.latencyMs} ms` : `FAIL ${n.canary.message ?? ''}`) : undefined,
    ]),
  );
}

/** `kserve-edge status`: builds the report, prints it; 0 when every namespace is healthy, else 1. */
export async function status(raw: unknown, opts: StatusOptions): Promise<number> {
  const report = await buildStatus(raw, opts.config, { canary: opts.canary });
  const { io } = opts;
  io.err(`Load balancer: ${report.loadBalancer ?? '(no address yet)'}\n`);
  io.err(statusTable(report));
  if (opts.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const bad = report.namespaces.filter((n) => !n.healthy).map((n) => n.namespace);
    io.out(
      bad.length === 0
        ? `healthy: ${report.namespaces.length} namespace(s) of ${report.domain}\n`
        : `unhealthy: ${bad.join(', ')} (${bad.length} of ${report.namespaces.length} namespace(s) of ${report.domain})\n`,
    );
  }
  return report.healthy ? 0 : 1;
}
