/**
 * The polling schedule of every wait loop (certificate, ALB address, DNS change).
 *
 * Waiting happens in the state machine: a check step returns `waitSeconds` and a
 * Wait state sleeps that long before the next check. The interval grows with
 * the time already waited, so a quick result is seen quickly and a slow one
 * costs few state transitions:
 *
 *   elapsed:   0s   20s   60s   5m    30m    2h+
 *   wait:      5s    5s   15s   75s   450s   600s (cap)
 *
 * - wait = clamp(elapsed × 1/4, 5 s, 600 s): the lag after the awaited thing
 *   happens is at most a quarter of the time waited so far (and ≤ 10 min);
 * - the wait never goes past the deadline (+1 s, so the last check is after it);
 * - a 72 h ACM validation costs about 460 checks ≈ 4,600 history events, far
 *   below Step Functions' 25,000 (`npm run bench` measures this).
 */

export const MIN_POLL_SECONDS = 5;
export const MAX_POLL_SECONDS = 600;
export const POLL_GROWTH = 0.25;

/**
 * Seconds to wait before the next check.
 *
 * @example
 *   nextPollDelay(0, 3600)    // 5
 *   nextPollDelay(3600, 7200) // 600
 *   nextPollDelay(100, 102)   // 3 (never past the deadline + 1 s)
 */
export function nextPollDelay(elapsedSeconds: number, deadlineSeconds: number): number {
  const elapsed = Math.max(0, elapsedSeconds);
  const grown = Math.round(elapsed * POLL_GROWTH);
  const wait = Math.min(MAX_POLL_SECONDS, Math.max(MIN_POLL_SECONDS, grown));
  const remaining = Math.max(0, deadlineSeconds - elapsed);
  return Math.max(1, Math.min(wait, Math.ceil(remaining) + 1));
}

/** Whole seconds from an ISO timestamp to `now` (never negative). */
export function secondsSince(isoTimestamp: string, now: Date): number {
  const t = Date.parse(isoTimestamp);
  if (Number.isNaN(t)) return 0;
  return Math.max(0, Math.floor((now.getTime() - t) / 1000));
}

/** Result every check step returns to its Choice state. */
export interface PollResult {
  ready: boolean;
  waitSeconds: number;
  elapsedSeconds: number;
}
