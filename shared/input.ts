/**
 * Step input parsing: every handler re-validates the request it receives, so a
 * hand-edited execution input or a changed state machine fails loudly.
 */
import { InvalidRequestError } from './errors';
import { parseProvisionRequest, type ProvisionRequest } from './request';

export type ValidatedRequest = ProvisionRequest & { hostedZoneId: string };

function objectOf(event: unknown): Record<string, unknown> {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidRequestError('step input must be a JSON object', { path: '(root)' });
  }
  return event as Record<string, unknown>;
}

/** `event.request`, validated, with the hosted zone id ValidateRequest resolved. */
export function requestOf(event: unknown): ValidatedRequest {
  const request = parseProvisionRequest(objectOf(event).request);
  if (!request.hostedZoneId) {
    throw new InvalidRequestError('request.hostedZoneId is missing: the request must pass ValidateRequest first', { path: 'hostedZoneId' });
  }
  return request as ValidatedRequest;
}

/** A named object field of the step input (shape is the previous step's output). */
export function fieldOf<T>(event: unknown, name: string): T {
  const value = objectOf(event)[name];
  if (value === undefined || value === null) {
    throw new InvalidRequestError(`step input has no "${name}"`, { path: name });
  }
  return value as T;
}

export function stringField(event: unknown, name: string): string {
  const value = fieldOf<unknown>(event, name);
  if (typeof value !== 'string') throw new InvalidRequestError(`step input "${name}" must be a string`, { path: name });
  return value;
}
