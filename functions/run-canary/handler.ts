import { edgeHandler } from '../../wiring/handler';
import { requestOf } from '../../shared/input';
import { runCanaryStep } from '../../shared/steps/runCanary';
import { canaryDeps } from '../../wiring/canary';

/** RunCanary: a real V2 inference request per namespace; CanaryFailed names the layer that broke. */
export const handler = edgeHandler('RunCanary', async (event, { config, log }) => {
  const request = requestOf(event);
  return runCanaryStep({ request }, canaryDeps(config, request, log));
});
