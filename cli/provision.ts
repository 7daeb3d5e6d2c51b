/** `kserve-edge provision`: the state machine, run locally with the Lambda handlers in-process. */
import { randomUUID } from 'node:crypto';
import { localTaskHandlers } from '../local/tasks';
import { loadDefinition } from '../local/definition';
import { parseErrorCause } from '../local/lambda';
import { formatDuration, formatStateEvent, formatWait } from '../local/progress';
import type { RunEvent } from '../local/events';
import { runStateMachine, type RunResult } from '../local/run';
import type { CliIo } from './main';
import { table } from './table';

export interface ProvisionOptions {
  io: CliIo;
  json: boolean;
  /** 'real' waits, 0 skips waits, other numbers scale them. */
  waitScale?: number;
  executionName?: string;
}

/**
 * Runs the provisioning state machine. Progress lines (one per state, and what
 * each Wait is waiting for) go to stderr; the result (the summary, or the
 * output as JSON with `json`) to stdout. Resolves to 0 on success, 1 otherwise.
 */
export async function provision(raw: unknown, opts: ProvisionOptions): Promise<number> {
  const { io } = opts;
  const progress = progressPrinter(io, opts.waitScale);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const result = await runStateMachine({
      definition: loadDefinition(),
      handlers: await localTaskHandlers(),
      input: raw,
      executionName: opts.executionName ?? `cli-${randomUUID()}`,
      waitSeconds: opts.waitScale === undefined ? 'real' : opts.waitScale,
      signal: abort.signal,
      onEvent: progress,
    });
    return printResult(result, io, opts.json);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * Prints a run's result to stdout: the summary, or with `json` the output
 * (or the error) as JSON. Returns 0 when the run succeeded, else 1.
 */
export function printResult(result: RunResult, io: CliIo, json: boolean): number {
  if (json)
    io.out(
      `${JSON.stringify(result.status === 'SUCCEEDED' ? result.output : { status: result.status, error: result.error, failState: result.failState }, null, 2)}\n`,
    );
  else io.out(summary(result));
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

/**
 * The listener that prints a run's progress to stderr. A Wait state gets a
 * line saying what is awaited and for how long so far, counted from the
 * first time that Wait was entered (its polling loop's start).
 */
export function progressPrinter(io: CliIo, waitScale?: number): (event: RunEvent) => void {
  const firstWait = new Map<string, number>();
  return (event) => {
    if (event.type === 'StateEntered' && event.stateType === 'Wait') {
      const since = firstWait.get(event.state) ?? event.at;
      firstWait.set(event.state, since);
      const seconds = event.waitSeconds === undefined ? undefined : event.waitSeconds * (waitScale ?? 1);
      io.err(`${formatWait(event.state, event.input, event.at - since, seconds)}\n`);
      return;
    }
    const line = formatStateEvent(event);
    if (line) io.err(`${line}\n`);
  };
}

interface ProvisionOutput {
  request?: { domain?: string; namespaces?: string[] };
  certificates?: { items?: Array<{ scope: string; arn: string; names: string[] }> };
  certificatePoll?: { statuses?: Array<{ arn: string; status: string }> };
  validation?: { records?: Array<{ name: string }> };
  loadBalancer?: { hostname?: string };
  cluster?: {
    ingress?: { namespace: string; name: string };
    actions?: Array<{ action: string; kind: string; namespace?: string; name: string }>;
  };
  dns?: { records?: Array<{ namespace: string; name: string; action: string }> };
  canary?: {
    namespaces?: Array<{
      namespace: string;
      host: string;
      status: number;
      latencyMs: number;
      prediction?: unknown;
      certificateDaysToExpiry?: number;
    }>;
  };
}

/** The end-of-run summary a user reads. */
export function summary(result: RunResult): string {
  const lines: string[] = [''];
  if (result.status !== 'SUCCEEDED') {
    const cause = result.error ? parseErrorCause(result.error.cause).errorMessage : '';
    lines.push(`✖ ${result.status} in ${formatDuration(result.durationMs)}: ${result.error?.name ?? 'unknown error'}`);
    if (cause) lines.push(`  ${cause}`);
    if (result.error) lines.push(`  Runbook: README.md#${result.error.name.toLowerCase()}`);
    return `${lines.join('\n')}\n`;
  }
  const out = (result.output ?? {}) as ProvisionOutput;
  lines.push(
    `✔ provisioned ${out.request?.domain ?? ''} (${(out.request?.namespaces ?? []).join(', ')}) in ${formatDuration(result.durationMs)}`,
    '',
  );
  const status = new Map((out.certificatePoll?.statuses ?? []).map((s) => [s.arn, s.status]));
  lines.push('Certificates');
  lines.push(
    table(
      ['SCOPE', 'STATUS', 'NAMES', 'ARN'],
      (out.certificates?.items ?? []).map((c) => [c.scope, status.get(c.arn), c.names.join(' '), c.arn]),
    ),
  );
  lines.push(
    `Load balancer: ${out.loadBalancer?.hostname ?? '-'}  (Ingress ${out.cluster?.ingress?.namespace ?? '?'}/${out.cluster?.ingress?.name ?? '?'})`,
    '',
  );
  lines.push('Cluster objects');
  lines.push(
    table(
      ['ACTION', 'KIND', 'NAMESPACE', 'NAME'],
      (out.cluster?.actions ?? []).map((a) => [a.action, a.kind, a.namespace, a.name]),
    ),
  );
  lines.push('DNS records');
  lines.push(
    table(
      ['RECORD', 'ACTION', 'TARGET'],
      [
        ...(out.dns?.records ?? []).map((r) => [r.name, r.action, out.loadBalancer?.hostname]),
        ...(out.validation?.records ?? []).map((r) => [r.name, 'upsert', 'ACM validation CNAME']),
      ],
    ),
  );
  lines.push('Canary (POST /v2/models/<model>/infer)');
  lines.push(
    table(
      ['NAMESPACE', 'HOST', 'STATUS', 'LATENCY', 'CERT DAYS', 'PREDICTION'],
      (out.canary?.namespaces ?? []).map((c) => [
        c.namespace,
        c.host,
        c.status,
        `${Math.round(c.latencyMs)} ms`,
        c.certificateDaysToExpiry === undefined ? undefined : Math.floor(c.certificateDaysToExpiry),
        JSON.stringify(c.prediction),
      ]),
    ),
  );
  return `${lines.join('\n')}\n`;
}
