/**
 * The scheduled canary's configuration document: which requests to probe.
 * Reading it (from the environment, or Secrets Manager through Powertools
 * Parameters) and the canary's dependencies are wired at the edge
 * (`wiring/canary.ts`).
 */
import { InvalidRequestError } from '../errors';
import { formatPath, parseProvisionRequest, type ProvisionRequest } from '../request';

/** The variable holding the requests (JSON, or the Secrets Manager secret id holding it). */
export const CANARY_REQUESTS_ENV = 'KSERVE_EDGE_CANARY_REQUESTS';

/**
 * The canary's requests from their JSON form: one request, a list, or
 * `{"requests": [...]}`. Each is validated like an execution input
 * (`hostedZoneId` optional: only the Route 53 resolver of testbeds uses it).
 *
 * @throws InvalidRequestError naming the request and field.
 */
export function parseCanaryRequests(raw: unknown): ProvisionRequest[] {
  const list = Array.isArray(raw)
    ? raw
    : raw !== null && typeof raw === 'object' && Array.isArray((raw as { requests?: unknown }).requests)
      ? (raw as { requests: unknown[] }).requests
      : [raw];
  if (list.length === 0) throw new InvalidRequestError(`${CANARY_REQUESTS_ENV} holds no request`, { path: 'requests' });
  return list.map((item, i) => {
    try {
      return parseProvisionRequest(item);
    } catch (err) {
      if (err instanceof InvalidRequestError) {
        throw new InvalidRequestError(`requests[${i}]: ${err.message}`, {
          path: formatPath(['requests', i]) + (err.path ? `.${err.path}` : ''),
        });
      }
      throw err;
    }
  });
}
