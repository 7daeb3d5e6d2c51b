/**
 * The Lambda handlers' entry: {@link lambdaHandler} with the configuration
 * loaded (once per container, see `loadConfig`) and handed to the step's
 * wiring, and the logger set to its level and sampling rate.
 */
import { lambdaHandler, type StepContext, type StepHandler } from '../shared/handler';
import { handoverPacing } from '../shared/aws/rateLimit';
import { loadConfig, type Config } from './config';

/** What a handler's body gets: the step context plus the validated configuration. */
export interface EdgeContext extends StepContext {
  config: Config;
}

/**
 * Wraps a handler body. A bad environment fails the invocation with
 * `ConfigError` (logged, then thrown for Step Functions to see).
 *
 * @example
 *   export const handler = edgeHandler('EnsureCertificates', async (event, { config, log, now }) => …);
 */
export function edgeHandler<T>(step: string, run: (event: unknown, ctx: EdgeContext) => Promise<T>): StepHandler {
  return lambdaHandler(
    step,
    (event, ctx) => {
      // The step before this one paced its calls in another process: leave the account's quota room for them.
      handoverPacing();
      return run(event, { ...ctx, config: loadConfig() });
    },
    () => {
      const { log } = loadConfig();
      return { level: log.level, sampleRate: log.sampleRate };
    },
  );
}
