/**
 * The one wrapper every Lambda handler goes through.
 *
 * - logs the step's start and end (with duration) as JSON lines;
 * - redacts registered secrets from the result and from error messages;
 * - rethrows: Step Functions must see the error, by name, to Retry or Catch it.
 *
 * Handlers stay thin: parse input, build adapters, call one step.
 */
import type { Context } from 'aws-lambda';
import { createLogger, redact, redactString, type Logger } from './log';
import { isAutomationError, toError } from './errors';

export interface StepContext {
  log: Logger;
  now: () => Date;
}

export type StepHandler = (event: unknown, context?: Partial<Context>) => Promise<unknown>;

export function lambdaHandler<T>(step: string, run: (event: unknown, ctx: StepContext) => Promise<T>): StepHandler {
  return async (event, context) => {
    const log = createLogger({ fields: { step, ...(context?.awsRequestId ? { requestId: context.awsRequestId } : {}) } });
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
        message: err.message,
        ...(isAutomationError(err) && err.path ? { path: err.path } : {}),
      });
      throw err;
    }
  };
}
