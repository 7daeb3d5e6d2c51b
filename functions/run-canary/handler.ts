import { canaryDepsFromEnv } from '../../shared/canary/env';
import { lambdaHandler } from '../../shared/handler';
import { requestOf } from '../../shared/input';
import { runCanaryStep } from '../../shared/steps/runCanary';

/** RunCanary: a real V2 inference request per namespace; CanaryFailed names the layer that broke. */
export const handler = lambdaHandler('RunCanary', async (event, { log }) => {
  const request = requestOf(event);
  return runCanaryStep({ request }, canaryDepsFromEnv(request, log));
});
