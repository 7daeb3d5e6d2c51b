/**
 * Errors the fakes throw, shaped exactly as the real adapters would throw
 * them: an SDK-like error (with `name` = AWS error code and an HTTP status)
 * passed through `mapAwsError`. So `isAwsError(err, 'InvalidChangeBatch')`,
 * `instanceof ThrottledError` and friends work the same against fakes.
 */
import { mapAwsError } from '../../shared/aws/errors';

/** Builds an SDK-like service error. */
export function sdkError(name: string, message: string, httpStatusCode = 400): Error {
  const err = new Error(message);
  err.name = name;
  Object.assign(err, { $metadata: { httpStatusCode }, $fault: httpStatusCode >= 500 ? 'server' : 'client' });
  return err;
}

/** The error an adapter would throw for `name` during `action`. */
export function adapterError(action: string, name: string, message: string, httpStatusCode = 400): Error {
  return mapAwsError(sdkError(name, message, httpStatusCode), action);
}

/** One-shot failures queued per method, for retry-path tests. */
export class FailureQueue {
  private readonly queued = new Map<string, Error[]>();

  /** The next call of `method` throws `err` (queue several for several calls). */
  add(method: string, err: Error): void {
    const list = this.queued.get(method) ?? [];
    list.push(err);
    this.queued.set(method, list);
  }

  /** Throws the next queued failure for `method`, if any. */
  check(method: string): void {
    const err = this.queued.get(method)?.shift();
    if (err) throw err;
  }
}
