/**
 * Helpers of the reliability and security tests (bad input, faults,
 * ownership, least privilege, secrets hygiene): run the real state machine
 * with the packaged functions in processes of their own (`lambdas.ts`) and
 * with hooks, take before/after snapshots of everything the workflow may
 * write, and record the figures docs/reliability.md reports.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeCertificateCommand, ListCertificatesCommand, ListTagsForCertificateCommand, type ACMClient } from '@aws-sdk/client-acm';
import { ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { resetClients } from '../../wiring/clients';
import { loadDefinition } from '../../local/definition';
import type { RunEvent } from '../../local/events';
import { parseErrorCause } from '../../local/lambda';
import { runStateMachine, type RunResult } from '../../local/run';
import { REPO_ROOT, type Testbed } from '../../testbed/testbed';
import { lambdasFor } from './lambdas';

export interface RunOptions {
  /** Retry interval override, ms (default 200: the definition's backoff, compressed). */
  retryIntervalMs?: number;
  /** Wait-state scale (default 0.1, ten times faster than the definition). */
  waitSeconds?: number;
  onEvent?: (event: RunEvent) => void;
  /** LOG_LEVEL for the handlers (default silent). */
  logLevel?: string;
}

/** Applies `env` to process.env for the duration of `fn` (code run in this process: the CLI), with fresh SDK clients before and after. */
export async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  resetClients();
  try {
    return await fn();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    resetClients();
  }
}

/**
 * One run of provision.asl.json, each Task in its packaged function with `env`
 * (the testbed's, LOG_LEVEL included). Runs started at once are separate
 * executions: a function busy with one gets another worker process.
 */
export async function runOnce(env: Record<string, string>, input: unknown, name: string, options: RunOptions = {}): Promise<RunResult> {
  return runStateMachine({
    definition: loadDefinition(),
    handlers: lambdasFor(env).taskHandlers(),
    input,
    executionName: name,
    waitSeconds: options.waitSeconds ?? 0.1,
    retryIntervalMs: options.retryIntervalMs ?? 200,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}

/** {@link runOnce} with the log level of the options (default silent, or KSERVE_EDGE_TEST_LOG_LEVEL). */
export function run(env: Record<string, string>, input: unknown, name: string, options: RunOptions = {}): Promise<RunResult> {
  return runOnce({ ...env, LOG_LEVEL: options.logLevel ?? process.env.KSERVE_EDGE_TEST_LOG_LEVEL ?? 'silent' }, input, name, options);
}

/**
 * The error a failed run ended with, as a user reads it: the execution's own
 * cause (what `describe-execution` shows; the Fail states keep the original
 * Cause), else the one NotifyFailure was given.
 */
export function failureOf(result: RunResult): { failState?: string; name?: string; message: string } {
  return {
    ...(result.failState ? { failState: result.failState } : {}),
    ...(result.error ? { name: result.error.name } : {}),
    message: parseErrorCause(result.error?.cause || errorCauseOfNotify(result)).errorMessage,
  };
}

/** The Cause of the error NotifyFailure was given. */
function errorCauseOfNotify(result: RunResult): string {
  const entered = result.events.find((e) => e.type === 'StateEntered' && e.state === 'NotifyFailure') as
    { input: { error?: { Cause?: string } } } | undefined;
  return entered?.input.error?.Cause ?? '';
}

// ------------------------------------------------------------------ snapshots

export interface CertSnapshot {
  arn: string;
  domainName: string;
  names: string[];
  status: string;
  tags: Record<string, string>;
}

export interface RecordSnapshot {
  name: string;
  type: string;
  ttl?: number;
  values: string[];
  alias?: string;
}

export interface KubeSnapshot {
  /** `Kind ns/name` → resourceVersion. */
  resourceVersions: Record<string, string>;
}

export interface Snapshot {
  certificates: CertSnapshot[];
  records: RecordSnapshot[];
  kube: KubeSnapshot;
}

/** Every certificate in the region, straight from moto (not through any proxy). */
export async function certificates(acm: ACMClient): Promise<CertSnapshot[]> {
  const list = await acm.send(
    new ListCertificatesCommand({
      CertificateStatuses: ['PENDING_VALIDATION', 'ISSUED', 'FAILED', 'VALIDATION_TIMED_OUT', 'EXPIRED', 'INACTIVE', 'REVOKED'],
    }),
  );
  const out: CertSnapshot[] = [];
  for (const s of list.CertificateSummaryList ?? []) {
    const arn = s.CertificateArn ?? '';
    const d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate;
    const t = await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
    out.push({
      arn,
      domainName: d?.DomainName ?? '',
      names: [...(d?.SubjectAlternativeNames ?? [])].sort(),
      status: d?.Status ?? '',
      tags: Object.fromEntries((t.Tags ?? []).map((x) => [x.Key ?? '', x.Value ?? ''])),
    });
  }
  return out.sort((a, b) => a.arn.localeCompare(b.arn));
}

/** Every record set of the zone, names unescaped. */
export async function records(route53: Route53Client, zoneId: string): Promise<RecordSnapshot[]> {
  const out: RecordSnapshot[] = [];
  let start: { name?: string; type?: string } = {};
  for (;;) {
    const page = await route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ...(start.name ? { StartRecordName: start.name } : {}),
        ...(start.type ? { StartRecordType: start.type as never } : {}),
      }),
    );
    for (const r of page.ResourceRecordSets ?? []) {
      out.push({
        name: (r.Name ?? '').replace(/\\052/g, '*').replace(/\.$/, ''),
        type: r.Type ?? '',
        ...(r.TTL !== undefined ? { ttl: r.TTL } : {}),
        values: (r.ResourceRecords ?? []).map((v) => v.Value ?? '').sort(),
        ...(r.AliasTarget?.DNSName ? { alias: r.AliasTarget.DNSName } : {}),
      });
    }
    if (!page.IsTruncated || !page.NextRecordName) break;
    start = { name: page.NextRecordName, ...(page.NextRecordType ? { type: page.NextRecordType } : {}) };
  }
  return out.sort((a, b) => `${a.name} ${a.type}`.localeCompare(`${b.name} ${b.type}`));
}

/** resourceVersions of everything the workflow may write: config-domain, Ingresses and AuthorizationPolicies. */
export async function kubeState(tb: Testbed): Promise<KubeSnapshot> {
  const kube = tb.kubeAdmin();
  const resourceVersions: Record<string, string> = {};
  const cm = await kube.get('v1', 'ConfigMap', 'knative-serving', 'config-domain');
  if (cm) resourceVersions['ConfigMap knative-serving/config-domain'] = cm.metadata.resourceVersion ?? '';
  for (const [apiVersion, kind] of [
    ['networking.k8s.io/v1', 'Ingress'],
    ['security.istio.io/v1beta1', 'AuthorizationPolicy'],
  ] as const) {
    for (const o of await kube.list(apiVersion, kind)) {
      resourceVersions[`${kind} ${o.metadata.namespace}/${o.metadata.name}`] = o.metadata.resourceVersion ?? '';
    }
  }
  return { resourceVersions };
}

export async function snapshot(tb: Testbed): Promise<Snapshot> {
  const [certs, recs, kube] = await Promise.all([certificates(tb.aws.acm), records(tb.aws.route53, tb.hostedZoneId), kubeState(tb)]);
  return { certificates: certs, records: recs, kube };
}

/** AWS operations that change something; none may be sent for a request that fails validation. */
export const AWS_WRITE_OPERATIONS = [
  'acm:RequestCertificate',
  'acm:AddTagsToCertificate',
  'acm:DeleteCertificate',
  'acm:RemoveTagsFromCertificate',
  'route53:ChangeResourceRecordSets',
  'route53:CreateHostedZone',
  'route53:DeleteHostedZone',
  'secretsmanager:PutSecretValue',
  'secretsmanager:CreateSecret',
];

// ------------------------------------------------------------------ figures

/** Where the tests leave their figures (rendered by scripts/reliability-report.mjs). */
export const FIGURES_DIR = join(REPO_ROOT, '.testbed', 'results', 'reliability');

/** Writes `<FIGURES_DIR>/<suite>.json`. */
export function writeFigures(suite: string, figures: Record<string, unknown>): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  writeFileSync(join(FIGURES_DIR, `${suite}.json`), `${JSON.stringify({ suite, at: new Date().toISOString(), ...figures }, null, 2)}\n`);
}

/** Certificates grouped by their sorted name set. */
export function certificatesByNameSet(certs: readonly CertSnapshot[]): Map<string, CertSnapshot[]> {
  const out = new Map<string, CertSnapshot[]>();
  for (const c of certs) {
    const key = [...new Set([c.domainName, ...c.names])].sort().join(',');
    out.set(key, [...(out.get(key) ?? []), c]);
  }
  return out;
}

/** Record sets grouped by `name type`: Route 53 never holds two, so >1 would be a snapshot bug, 0 a loss. */
export function recordKeys(recs: readonly RecordSnapshot[]): string[] {
  return recs.map((r) => `${r.name} ${r.type}`);
}
