import { edgeHandler } from '../../wiring/handler';
import { requestOf } from '../../shared/input';
import { runCanaryStep, type RunCanaryStepInput } from '../../shared/steps/runCanary';
import { canaryDeps } from '../../wiring/canary';

/** The previous attempt (`$.canary` in the wait loop); anything but an object counts as none. */
function previousOf(event: unknown): RunCanaryStepInput['previous'] {
  const previous = (event as { previous?: unknown } | null)?.previous;
  return typeof previous === 'object' && previous !== null && !Array.isArray(previous)
    ? (previous as RunCanaryStepInput['previous'])
    : undefined;
}

/** RunCanary: a real V2 inference request per namespace; waits (ready: false) while a new ALB settles; CanaryFailed names the layer that broke. */
export const handler = edgeHandler('RunCanary', async (event, { config, log }) => {
  const request = requestOf(event);
  const previous = previousOf(event);
  return runCanaryStep({ request, ...(previous ? { previous } : {}) }, canaryDeps(config, request, log));
});
