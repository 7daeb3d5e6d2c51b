/** The CLI's progress lines for a local run: one short line per event worth showing. */
import type { AslState } from './definition';
import type { RunError, RunEvent } from './events';
import { parseErrorCause } from './lambda';

/** `850ms`, `1.2s`, `2m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(totalSeconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

function describeError(error: RunError): string {
  const { errorMessage } = parseErrorCause(error.cause);
  const firstLine = errorMessage.split('\n')[0] ?? '';
  return firstLine === '' ? error.name : `${error.name}: ${firstLine.length > 200 ? `${firstLine.slice(0, 197)}...` : firstLine}`;
}

/** What {@link formatStateEvent} shows. */
export interface FormatOptions {
  /** Also print Choice states (hidden by default: they only route). */
  verbose?: boolean;
}

/**
 * One line for the CLI per event worth showing, or `undefined`.
 *
 * @example
 *   ▶ CheckCertificates
 *   ✔ CheckCertificates 1.2s
 *   ⏸ WaitForCertificates 5s
 *   ↻ retry EnsureCertificates after Throttled: Rate exceeded (attempt 1)
 *   ✖ RunCanary CanaryFailed: http: 503 → NotifyFailure
 *   ✖ CertificateTimeout (Fail)
 */
export function formatStateEvent(event: RunEvent, options: FormatOptions = {}): string | undefined {
  const hidden = (type: AslState['Type']): boolean => type === 'Choice' && !options.verbose;
  switch (event.type) {
    case 'ExecutionStarted':
      return `▶ execution ${event.executionName}`;
    case 'StateEntered':
      if (hidden(event.stateType)) return undefined;
      if (event.stateType === 'Wait') return `⏸ ${event.state}${event.waitSeconds === undefined ? '' : ` ${event.waitSeconds}s`}`;
      if (event.stateType === 'Fail' || event.stateType === 'Succeed') return undefined;
      return `▶ ${event.state}`;
    case 'StateSucceeded':
      if (hidden(event.stateType) || event.stateType === 'Wait') return undefined;
      if (event.stateType === 'Succeed') return `✔ ${event.state}`;
      return `✔ ${event.state} ${formatDuration(event.durationMs)}`;
    case 'StateRetrying':
      return `  ↻ retry ${event.state} after ${describeError(event.error)} (attempt ${event.attempt})`;
    case 'StateCaught':
      return `✖ ${event.state} ${describeError(event.error)} → ${event.next}`;
    case 'StateFailed':
      return event.stateType === 'Fail' ? `✖ ${event.state} (Fail)` : `✖ ${event.state} ${describeError(event.error)}`;
    case 'ExecutionSucceeded':
      return `✔ execution succeeded in ${formatDuration(event.durationMs)}`;
    case 'ExecutionFailed':
      return `✖ execution failed in ${formatDuration(event.durationMs)}: ${event.failState ?? event.error.name}`;
    case 'ExecutionTimedOut':
      return `✖ execution timed out after ${formatDuration(event.durationMs)}`;
    case 'ExecutionAborted':
      return `✖ execution aborted after ${formatDuration(event.durationMs)}`;
  }
}

/** What each provisioning Wait state waits for, from the input it was entered with. */
function awaited(state: string, input: unknown): string {
  const data = (input ?? {}) as {
    certificatePoll?: { statuses?: Array<{ status?: string }> };
    request?: { namespaces?: unknown[] };
  };
  switch (state) {
    case 'WaitForCertificates': {
      const statuses = data.certificatePoll?.statuses;
      const pending = statuses ? statuses.filter((s) => s.status !== 'ISSUED').length : undefined;
      if (pending === undefined || pending === 0) return 'ACM to issue the certificates';
      return `ACM to issue ${pending} certificate${pending === 1 ? '' : 's'}`;
    }
    case 'WaitForLoadBalancer':
      return 'the ALB to get an address';
    case 'WaitForDnsChange':
      return 'Route 53 to apply the DNS change';
    case 'WaitForCanary': {
      const n = data.request?.namespaces?.length;
      return n
        ? `the inference endpoints to answer over HTTPS (${n} namespace${n === 1 ? '' : 's'})`
        : 'the inference endpoints to answer over HTTPS';
    }
    default:
      return state;
  }
}

/**
 * The progress line for entering a Wait state: what is awaited, how long the
 * wait has lasted so far (`elapsedMs`, since the loop's first Wait) and when
 * the next check comes.
 *
 * @example
 *   ⏸ waiting for ACM to issue 2 certificates (3m10s elapsed, next check in 30s)
 */
export function formatWait(state: string, input: unknown, elapsedMs: number, waitSeconds?: number): string {
  // The loop's first Wait has nothing elapsed yet: say only when the next check comes.
  const parts = [
    ...(elapsedMs >= 1000 ? [`${formatDuration(elapsedMs)} elapsed`] : []),
    ...(waitSeconds === undefined ? [] : [`next check in ${formatDuration(waitSeconds * 1000)}`]),
  ];
  return `⏸ waiting for ${awaited(state, input)}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}
