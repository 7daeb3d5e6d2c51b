/**
 * A Task call as Lambda and Step Functions shape it: the payload crosses the
 * wire as JSON, a thrown error becomes `{Error: errorType, Cause: <runtime
 * payload>}`, and a result over the payload quota fails the state with
 * `States.DataLimitExceeded`.
 */
import { StatesError } from './library';

/** Step Functions' payload quota (input, output, task result). */
export const MAX_PAYLOAD_BYTES = 262_144;

/** A Task handler as the runner calls it: JSON in, JSON out, throw to fail. */
export type TaskHandler = (input: unknown) => Promise<unknown> | unknown;

/** What the Lambda Node.js runtime reports for a thrown value (aws-lambda-nodejs-runtime-interface-client `Errors`). */
export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  /** Absent where Lambda reports none (a timeout, a runtime that exited). */
  trace?: string[];
}

/**
 * A failure already in the Lambda runtime's shape (a packaged function run in
 * its own process, see `packaged.ts`): {@link asLambdaTask} passes its
 * `payload` through as it is instead of describing this error.
 */
export class LambdaFunctionError extends Error {
  constructor(readonly payload: LambdaErrorPayload) {
    super(payload.errorMessage);
    this.name = payload.errorType;
  }
}

/**
 * The `Cause` Step Functions records when a Lambda task throws: the runtime's
 * error payload as a JSON string. `Error` (what `ErrorEquals` matches) is
 * `errorType`, i.e. `error.name`.
 */
export function lambdaErrorCause(thrown: unknown): LambdaErrorPayload {
  if (thrown instanceof Error) {
    return { errorType: thrown.name, errorMessage: thrown.message, trace: (thrown.stack ?? '').split('\n') };
  }
  return { errorType: typeof thrown, errorMessage: String(thrown), trace: [] };
}

/**
 * Reads `{errorType, errorMessage}` back out of a Lambda task's `Cause`;
 * anything else comes back as the message.
 *
 * @example
 *   parseErrorCause('{"errorType":"CanaryFailed","errorMessage":"http: 503"}') // { errorType: 'CanaryFailed', errorMessage: 'http: 503' }
 */
export function parseErrorCause(cause: unknown): { errorType?: string; errorMessage: string } {
  if (typeof cause !== 'string') return { errorMessage: cause === undefined ? '' : JSON.stringify(cause) };
  try {
    const parsed = JSON.parse(cause) as unknown;
    if (parsed !== null && typeof parsed === 'object' && 'errorMessage' in parsed) {
      const p = parsed as { errorType?: unknown; errorMessage?: unknown };
      return {
        ...(typeof p.errorType === 'string' ? { errorType: p.errorType } : {}),
        errorMessage: String(p.errorMessage),
      };
    }
  } catch {
    // Not JSON: a Fail state's Cause or a runtime message, shown as it is.
  }
  return { errorMessage: cause };
}

function jsonRoundTrip(value: unknown): unknown {
  // Lambda serialises the handler's return value; `undefined` arrives as null.
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as unknown);
}

/** Calls `handler`, rethrowing what it throws as the Lambda error Retry and Catch see. */
async function invokeAsLambda(handler: TaskHandler, input: unknown): Promise<unknown> {
  try {
    return await handler(jsonRoundTrip(input));
  } catch (thrown) {
    const payload = thrown instanceof LambdaFunctionError ? thrown.payload : lambdaErrorCause(thrown);
    // `name` is what Retry/Catch match; the message becomes the Cause, as in AWS.
    throw Object.assign(new Error(JSON.stringify(payload)), { name: payload.errorType });
  }
}

function assertWithinPayloadLimit(state: string, json: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(json), 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) {
    throw new StatesError(
      'States.DataLimitExceeded',
      `The state/task '${state}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${MAX_PAYLOAD_BYTES}).`,
      false,
      false,
    );
  }
}

/**
 * The Task `state` as the library should call it: `handler` behind Lambda's
 * JSON round trip, error shape and payload limit. `onResult` sees every
 * result that reached the state machine.
 */
export function asLambdaTask(state: string, handler: TaskHandler, onResult: (json: unknown) => void): (input: unknown) => Promise<unknown> {
  return async (input: unknown) => {
    const json = jsonRoundTrip(await invokeAsLambda(handler, input));
    assertWithinPayloadLimit(state, json);
    onResult(json);
    return json;
  };
}
