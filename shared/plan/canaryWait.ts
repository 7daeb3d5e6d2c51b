/**
 * The first canary after provisioning: which failures are worth waiting for,
 * and for how long.
 *
 * A new ALB's name resolves minutes after the controller writes it into the
 * Ingress status, resolvers may cache the "no such name" for a while, and the
 * targets of a new target group answer 502/503 until they pass their first
 * health checks. A correct run therefore often sees a red canary first. The
 * state machine waits for the first green one (RunCanary ⟲ WaitForCanary, the
 * schedule of `polling.ts`) until `deadlines.canarySeconds` after the first
 * attempt, then ends in `CanaryFailed` with the layer that was still failing.
 *
 * ```
 *  failure                                   waited for?  why
 *  dns                                       yes          the ALB's name is not in DNS yet (or cached as absent)
 *  tls                                       yes          a resolver still points at an old address; the listener's certificate list is updating
 *  timeout                                   yes          the ALB or its first targets are not answering yet
 *  http without a status (reset, refused)    yes          connection-level: the ALB is still coming up
 *  http 502 / 503 / 504                      yes          targets registering, a predictor scaling from zero
 *  http, any other status (403 RBAC, 404, 500) no         the cluster refuses or the model errs: configuration, not time
 *  auth                                      no           the credentials or the listener rule; waiting does not change them
 *  protocol                                  no           the endpoint answers, but not with a V2 inference response
 *  prediction                                no           the model answers, with the wrong prediction
 * ```
 *
 * A failure that does not heal by waiting ends the run at once, so a wrong
 * secret or a wrong model fails in seconds rather than after the deadline.
 */
import type { CanaryFailureKind } from '../errors';
import { nextPollDelay, secondsSince } from './polling';

/** HTTP statuses of an ALB or gateway whose backends are not ready yet. */
export const TRANSIENT_HTTP_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

/** What the verdict needs of one namespace's probe (a `ProbeResult` has it all). */
export interface CanaryOutcome {
  namespace: string;
  host: string;
  ok: boolean;
  failureKind?: CanaryFailureKind;
  status?: number;
  /** Why it failed; already free of secrets (the probe scrubs it). */
  message?: string;
}

/**
 * Whether waiting can turn this failure green (the table in the module comment).
 *
 * @example
 *   isTransientFailure({ namespace: 's', host: 'h', ok: false, failureKind: 'http', status: 503 }) // true
 *   isTransientFailure({ namespace: 's', host: 'h', ok: false, failureKind: 'prediction' })        // false
 */
export function isTransientFailure(outcome: CanaryOutcome): boolean {
  if (outcome.ok) return false;
  switch (outcome.failureKind) {
    case 'dns':
    case 'tls':
    case 'timeout':
      return true;
    case 'http':
      return outcome.status === undefined || TRANSIENT_HTTP_STATUSES.has(outcome.status);
    default:
      return false;
  }
}

/** When the first attempt was made, and the deadline counted from it. */
export interface CanaryTiming {
  /** ISO time of the first attempt of this wait. */
  firstAttemptAt: string;
  /** Attempts so far, this one included. */
  attempts: number;
  deadlineSeconds: number;
  now: Date;
}

/** What the state machine does after one canary attempt. */
export type CanaryVerdict =
  | { kind: 'green'; elapsedSeconds: number }
  | { kind: 'wait'; elapsedSeconds: number; waitSeconds: number }
  | { kind: 'failed'; elapsedSeconds: number; failureKind: CanaryFailureKind; message: string };

function describe(failures: readonly CanaryOutcome[], first: CanaryOutcome): string {
  const others = failures.filter((f) => f !== first);
  const more =
    others.length > 0 ? ` (and ${others.length} more: ${others.map((f) => `${f.namespace}=${f.failureKind ?? 'http'}`).join(', ')})` : '';
  return `namespace ${first.namespace} (${first.host}): ${first.message ?? 'failed'}${more}`;
}

/**
 * Green, wait, or give up. The deadline is inclusive: an attempt at or after
 * it ends the run, so `canarySeconds: 0` means "no waiting". The wait never
 * sleeps past the deadline by more than a second (`nextPollDelay`), so the
 * last attempt falls just after it.
 *
 * @example
 *   canaryVerdict([{ namespace: 'staging', host, ok: false, failureKind: 'dns', message: 'NXDOMAIN' }],
 *     { firstAttemptAt: '2026-01-01T00:00:00Z', attempts: 1, deadlineSeconds: 900, now: new Date('2026-01-01T00:00:00Z') })
 *   // { kind: 'wait', elapsedSeconds: 0, waitSeconds: 5 }
 */
export function canaryVerdict(outcomes: readonly CanaryOutcome[], timing: CanaryTiming): CanaryVerdict {
  const elapsedSeconds = secondsSince(timing.firstAttemptAt, timing.now);
  const failures = outcomes.filter((o) => !o.ok);
  const first = failures[0];
  if (!first) return { kind: 'green', elapsedSeconds };

  const permanent = failures.find((f) => !isTransientFailure(f));
  if (permanent) {
    return {
      kind: 'failed',
      elapsedSeconds,
      failureKind: permanent.failureKind ?? 'http',
      message: `${describe(failures, permanent)}; not waited for: a failure at this layer does not heal with time`,
    };
  }
  if (elapsedSeconds >= timing.deadlineSeconds) {
    const tries = `${timing.attempts} attempt${timing.attempts === 1 ? '' : 's'}`;
    return {
      kind: 'failed',
      elapsedSeconds,
      failureKind: first.failureKind ?? 'http',
      message: `${describe(failures, first)}; still failing after ${elapsedSeconds}s and ${tries} (deadline ${timing.deadlineSeconds}s)`,
    };
  }
  return { kind: 'wait', elapsedSeconds, waitSeconds: nextPollDelay(elapsedSeconds, timing.deadlineSeconds) };
}
