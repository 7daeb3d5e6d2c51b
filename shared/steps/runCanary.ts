/**
 * RunCanary: the last Task of the provisioning run, and the check of its last
 * wait loop (RunCanary → CanaryGreen → WaitForCanary → RunCanary).
 *
 * Probes every canary namespace once. Green: `ready: true`. Red with a
 * failure that time can heal (a new ALB's name not in DNS yet, 503 while
 * targets register; `shared/plan/canaryWait.ts`) and before
 * `deadlines.canarySeconds` after the first attempt: `ready: false` and the
 * `waitSeconds` the Wait state sleeps. Otherwise it throws `CanaryFailed`
 * whose kind (and message prefix) is the layer that failed.
 */
import { CanaryFailedError } from '../errors';
import { redact, redactString } from '../log';
import type { ProvisionRequest } from '../request';
import { canaryVerdict } from '../plan/canaryWait';
import type { PollResult } from '../plan/polling';
import { runCanary, type ProbeResult, type RunCanaryDeps } from '../canary/probe';

export interface RunCanaryStepInput {
  /** The validated request (the handler parses the event with `requestOf`). */
  request: ProvisionRequest;
  /**
   * The previous attempt's output (`$.canary`): where the wait started and how
   * many attempts it took. Absent or `{}` on the first attempt (StartCanary).
   */
  previous?: Partial<Pick<RunCanaryStepOutput, 'firstAttemptAt' | 'attempts'>>;
}

export interface CanaryNamespaceSummary {
  namespace: string;
  host: string;
  status?: number;
  latencyMs: number;
  prediction?: unknown[];
  certificateDaysToExpiry?: number;
  /** Only on a red namespace: the layer that failed. */
  failureKind?: ProbeResult['failureKind'];
  /** Only on a red namespace: why (scrubbed of the header value and cookies by the probe). */
  reason?: string;
  /** JWT mode: `no-token`, `refused-claim` and (migration) `header`, each pass, fail or skipped. */
  checks?: ProbeResult['checks'];
}

export interface RunCanaryStepOutput extends PollResult {
  /** Every namespace answered with the expected prediction (the same as `ready`: a red canary that returns is waited for). */
  ok: boolean;
  checkedAt: string;
  /** When the first attempt of this wait was made; the deadline counts from it. */
  firstAttemptAt: string;
  /** Attempts so far, this one included. */
  attempts: number;
  /** `deadlines.canarySeconds` of the request. */
  deadlineSeconds: number;
  model: string;
  /**
   * Every namespace probed; above {@link MAX_LISTED_NAMESPACES} only the red ones, at most that many (`green` and
   * `redNotListed` count the rest: the state stays far under Step Functions' 256 KiB at 500 red namespaces).
   */
  namespaces: CanaryNamespaceSummary[];
  green?: number;
  /** Red namespaces beyond the {@link MAX_LISTED_NAMESPACES} listed. */
  redNotListed?: number;
}

/** Above this many namespaces the output lists only the red ones, and at most this many of them. */
export const MAX_LISTED_NAMESPACES = 100;
/**
 * Longest failure reason kept per namespace in the output (an error page's body
 * can be kilobytes; the log line has the whole message).
 */
export const MAX_REASON_CHARS = 300;

function shortReason(reason: string): string {
  return reason.length <= MAX_REASON_CHARS ? reason : `${reason.slice(0, MAX_REASON_CHARS - 1)}…`;
}

function validIso(value: unknown): string | undefined {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : undefined;
}

function summaryOf(r: ProbeResult): CanaryNamespaceSummary {
  const s: CanaryNamespaceSummary = { namespace: r.namespace, host: r.host, latencyMs: r.latencyMs };
  if (r.status !== undefined) s.status = r.status;
  if (r.prediction !== undefined) s.prediction = r.prediction;
  if (r.certificateDaysToExpiry !== undefined) s.certificateDaysToExpiry = r.certificateDaysToExpiry;
  if (r.checks !== undefined) s.checks = r.checks;
  if (!r.ok) {
    s.failureKind = r.failureKind ?? 'http';
    if (r.message !== undefined) s.reason = shortReason(redactString(r.message));
  }
  return s;
}

/**
 * @example
 *   const out = await runCanaryStep({ request, previous: state.canary }, { secrets, resolver, now: () => new Date(), log, loginCache });
 *   // green: { ok: true, ready: true, waitSeconds: 0, attempts: 1, namespaces: [{ namespace, host, status: 200, latencyMs, prediction: [1, 2], certificateDaysToExpiry }], … }
 *   // red (dns) within the deadline: { ok: false, ready: false, waitSeconds: 5, namespaces: [{ …, failureKind: 'dns', reason }], … }
 */
export async function runCanaryStep(input: RunCanaryStepInput, deps: RunCanaryDeps): Promise<RunCanaryStepOutput> {
  const { request, previous } = input;
  const now = deps.now();
  const firstAttemptAt = validIso(previous?.firstAttemptAt) ?? now.toISOString();
  const previousAttempts =
    typeof previous?.attempts === 'number' && Number.isInteger(previous.attempts) && previous.attempts > 0 ? previous.attempts : 0;
  const attempts = previousAttempts + 1;
  const deadlineSeconds = request.deadlines.canarySeconds;

  const result = await runCanary({ request }, deps);
  const verdict = canaryVerdict(result.results, { firstAttemptAt, attempts, deadlineSeconds, now: deps.now() });
  if (verdict.kind === 'failed') {
    throw new CanaryFailedError(verdict.failureKind, redactString(verdict.message));
  }
  const green = verdict.kind === 'green';
  const waitSeconds = verdict.kind === 'wait' ? verdict.waitSeconds : 0;
  if (!green) {
    const failing = result.results.filter((r) => !r.ok).map((r) => `${r.namespace}=${r.failureKind ?? 'http'}`);
    deps.log.info('waiting for the first green canary', {
      failing,
      attempts,
      elapsedSeconds: verdict.elapsedSeconds,
      waitSeconds,
      deadlineSeconds,
    });
  }
  const red = result.results.filter((r) => !r.ok);
  const many = result.results.length > MAX_LISTED_NAMESPACES;
  const summary: RunCanaryStepOutput = {
    ok: green,
    ready: green,
    waitSeconds,
    elapsedSeconds: verdict.elapsedSeconds,
    checkedAt: deps.now().toISOString(),
    firstAttemptAt,
    attempts,
    deadlineSeconds,
    model: request.canary.model,
    namespaces: (many ? red.slice(0, MAX_LISTED_NAMESPACES) : result.results).map(summaryOf),
    ...(many ? { green: result.results.length - red.length } : {}),
    ...(many && red.length > MAX_LISTED_NAMESPACES ? { redNotListed: red.length - MAX_LISTED_NAMESPACES } : {}),
  };
  // Nothing secret is in here by construction; redact() is the second line of defence.
  return redact(summary);
}
