/**
 * Maps AWS SDK v3 failures onto the typed errors the state machine matches.
 *
 * | AWS says                                                    | we throw              | ASL      |
 * |-------------------------------------------------------------|-----------------------|----------|
 * | Throttling, ThrottlingException, PriorRequestNotComplete, … | `Throttled`           | Retry    |
 * | 429                                                         | `Throttled`           | Retry    |
 * | AccessDenied, AccessDeniedException, UnauthorizedOperation  | `AccessDenied`        | Catch    |
 * | 403                                                         | `AccessDenied`        | Catch    |
 * | 5xx, ECONNREFUSED, ECONNRESET, ETIMEDOUT, TimeoutError, …   | `AwsUnavailable`      | Retry    |
 * | any other 4xx, or `$fault: client` (LimitExceeded, …)       | `AwsRejected`         | Catch    |
 * | anything else (no AWS answer at all: a bug)                 | plain `Error`         | Catch    |
 *
 * Messages never contain request ids: a repeated failure must produce the same
 * text (cert-manager's `stabilizeSolverErrorMessage` idea), and Choice states
 * or alarms may compare it.
 */
import { AccessDeniedError, AwsRejectedError, AwsUnavailableError, ThrottledError, isAutomationError } from '../errors';

const THROTTLING_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'PriorRequestNotComplete',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

const ACCESS_DENIED_NAMES = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/** Node socket errors and SDK timeouts: the call never got an answer. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'InternalServiceError',
]);

/** What we read off an SDK (or socket) error, all optional. */
interface AwsErrorShape {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  /** Set by SDK v3 service exceptions: `client` for a 4xx the caller caused. */
  $fault?: unknown;
  $response?: { statusCode?: unknown };
}

/**
 * Removes request-id tokens (`RequestId: abc`, `Request ID: abc`,
 * `x-amzn-RequestId=abc`) from an AWS message so it is stable across retries.
 *
 * @example
 *   stripRequestIds('Rate exceeded (Request ID: 4f1c-aa)') // 'Rate exceeded'
 */
export function stripRequestIds(message: string): string {
  return message
    .replace(/[([]?\s*(?:x-amzn?-)?request[\s_-]?id\s*[:=]?\s*[A-Za-z0-9-]+\s*[)\]]?/gi, '')
    .replace(/\s{2,}/g, ' ')
    .replace(/\s*[;,:]\s*$/, '')
    .trim();
}

function statusOf(e: AwsErrorShape): number | undefined {
  const s = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The AWS error code, e.g. `Throttling`; socket errors give their `code`. */
export function awsErrorName(err: unknown): string {
  if (err === null || typeof err !== 'object') return 'Error';
  const e = err as AwsErrorShape;
  // Socket errors carry their meaning in `code` while `name` is just "Error".
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  if (typeof e.Code === 'string') return e.Code;
  if (typeof e.code === 'string') return e.code;
  return typeof e.name === 'string' ? e.name : 'Error';
}

function messageOf(err: unknown): string {
  if (err !== null && typeof err === 'object' && typeof (err as AwsErrorShape).message === 'string') {
    return stripRequestIds((err as AwsErrorShape).message as string);
  }
  return stripRequestIds(String(err));
}

/**
 * Turns whatever an AWS call threw into an error the state machine can match.
 * `action` is the IAM-style action, e.g. `route53:ChangeResourceRecordSets`.
 * {@link AutomationError}s pass through unchanged.
 *
 * @example
 *   try { await client.send(cmd) } catch (err) { throw mapAwsError(err, 'acm:DescribeCertificate') }
 */
export function mapAwsError(err: unknown, action: string): Error {
  if (isAutomationError(err)) return err;
  const e = (err !== null && typeof err === 'object' ? err : {}) as AwsErrorShape;
  const name = awsErrorName(err);
  const status = statusOf(e);
  const message = messageOf(err);
  const detail = message && message !== name ? `${name}: ${message}` : name;

  if (THROTTLING_NAMES.has(name) || status === 429) {
    return new ThrottledError(`throttled on ${action}: ${detail}`, { cause: err });
  }
  if (ACCESS_DENIED_NAMES.has(name) || status === 403) {
    return new AccessDeniedError(`not allowed to ${action}: ${detail}`, { cause: err });
  }
  if (NETWORK_CODES.has(name) || (status !== undefined && status >= 500)) {
    return new AwsUnavailableError(`AWS unavailable for ${action}: ${detail}`, { cause: err });
  }
  if ((status !== undefined && status >= 400 && status < 500) || e.$fault === 'client') {
    // AWS answered and said no: a quota, an invalid change batch, a bad parameter. The code and text say which.
    return new AwsRejectedError(`failed to ${action}: ${detail}`, { cause: err });
  }
  return new Error(`failed to ${action}: ${detail}`, { cause: err });
}

/**
 * Runs one AWS call and maps its failure with {@link mapAwsError}.
 *
 * @example
 *   const out = await withAws('acm:DescribeCertificate', () => acm.send(new DescribeCertificateCommand({ CertificateArn })));
 */
export async function withAws<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapAwsError(err, action);
  }
}

/** True when `err` (or the AWS error behind a mapped error) has the given AWS error name. */
export function isAwsError(err: unknown, ...names: string[]): boolean {
  let cur: unknown = err;
  // Look through one level of `cause`, so callers can test mapped errors too.
  for (let i = 0; i < 2 && cur !== undefined && cur !== null; i++) {
    if (names.includes(awsErrorName(cur))) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
