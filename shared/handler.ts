/**
 * The one wrapper every Lambda handler goes through.
 *
 * - logs the step's start and end (with duration) as JSON lines, through a
 *   Powertools logger that carries the Lambda request id and cold start;
 * - redacts registered secrets from the result and from error messages;
 * - rethrows: Step Functions must see the error, by name, to Retry or Catch it.
 *
 * Handlers stay thin: parse input, build adapters, call one step. The level
 * and sampling rate come from the caller (`wiring/handler.ts` reads them from
 * the validated configuration); nothing here reads the environment.
 */
import type { Context } from 'aws-lambda';
import { InvocationLogger, redact, redactString, type Logger, type LoggerOptions } from './log';
import { isAutomationError, toError } from './errors';

export interface StepContext {
  log: Logger;
  now: () => Date;
}

export type StepHandler = (event: unknown, context?: Partial<Context>) => Promise<unknown>;

/** Logging settings for one invocation; a thunk that throws leaves the defaults (the step then reports the error). */
export type LogSettings = () => Pick<LoggerOptions, 'level' | 'sampleRate'>;

/** One per container: cold start is the first invocation of the container, not of a handler. */
const invocationLogger = new InvocationLogger();

export function lambdaHandler<T>(
  step: string,
  run: (event: unknown, ctx: StepContext) => Promise<T>,
  settings: LogSettings = () => ({}),
): StepHandler {
  return async (event, context) => {
    let options: ReturnType<LogSettings> = {};
    try {
      options = settings();
    } catch {
      // A bad configuration: log at the defaults; `run` meets the same error and it is logged and thrown below.
    }
    const log = invocationLogger.begin(step, context, options);
    const started = Date.now();
    log.debug('step started');
    try {
      const out = await run(event, { log, now: () => new Date() });
      log.info('step succeeded', { durationMs: Date.now() - started });
      return redact(out);
    } catch (caught) {
      const err = toError(caught);
      err.message = redactString(err.message);
      log.error('step failed', {
        durationMs: Date.now() - started,
        error: err.name,
        errorMessage: err.message,
        ...(isAutomationError(err) && err.path ? { path: err.path } : {}),
      });
      throw err;
    }
  };
}
