/**
 * What the state-machine path tests (provision.test.ts, deprovision.test.ts)
 * share: mocked Task handlers, the errors they throw, and reading a run's path
 * and the input NotifyFailure got.
 */
import { expect, jest } from '@jest/globals';
import { CanaryFailedError, ERROR_CLASSES, type ErrorName } from '../../shared/errors';
import type { AslDefinition } from '../../local/definition';
import type { RunResult } from '../../local/run';

/** A mocked Task handler. */
export type Mock = jest.Mock<(input: unknown) => Promise<unknown>>;

/** A handler that always throws `error()`. */
export function always(error: () => unknown): Mock {
  return jest.fn(async () => {
    throw error();
  });
}

/** An error of that name, as a step would throw it. */
export function instantiate(name: ErrorName): Error {
  if (name === 'CanaryFailed') return new CanaryFailedError('http', '503');
  const Cls = ERROR_CLASSES[name] as unknown as new (message: string) => Error;
  return new Cls(`${name} for the test`);
}

/** The names of the states a run went through, in order. */
export const visited = (result: RunResult): string[] => result.states.map((s) => s.name);

/** The input of NotifyFailure's first call (expecting there was one). */
export function notifyInput(handlers: Record<string, Mock>): {
  error: { Error: string; Cause: string };
  executionId: string;
  state: Record<string, unknown>;
} {
  expect(handlers.NotifyFailure).toHaveBeenCalled();
  return handlers.NotifyFailure!.mock.calls[0]![0] as never;
}

/** The run FAILED in the Fail state `failState`, with the error of that name. */
export function expectEndedIn(result: RunResult, failState: string): void {
  expect(result.status).toBe('FAILED');
  expect(result.failState).toBe(failState);
  expect(result.error?.name).toBe(failState);
}

/**
 * NotifyFailure failed on every attempt with AwsUnavailable (`notify` called
 * once plus its `retries`), the failure was caught, and RouteFailure got both
 * the run's error (`error`) and NotifyFailure's.
 */
export function expectNotifyFailureCaught(result: RunResult, notify: Mock, retries: number, error: string): void {
  expect(notify).toHaveBeenCalledTimes(1 + retries);
  expect(result.states.find((s) => s.name === 'NotifyFailure')).toMatchObject({ status: 'CAUGHT', retries });
  const route = result.events.find((e) => e.type === 'StateEntered' && e.state === 'RouteFailure');
  expect(route?.type === 'StateEntered' && route.input).toMatchObject({
    error: { Error: error },
    notifyError: { Error: 'AwsUnavailable' },
  });
}

/**
 * A copy of `definition` that starts with `error` already caught at `$.error`
 * (as a Catch without a Cause would leave it) and goes on to NotifyFailure. A
 * Choice on `variable` keeps `start` (the real first state) reachable, which the
 * library's validator insists on.
 */
export function startingWithCaughtError(definition: AslDefinition, error: unknown, o: { variable: string; start: string }): AslDefinition {
  const injected = structuredClone(definition);
  injected.States.InjectError = { Type: 'Pass', Result: error, ResultPath: '$.error', Next: 'NotifyFailure' };
  injected.States.Start = {
    Type: 'Choice',
    Choices: [{ Variable: o.variable, IsPresent: true, Next: 'InjectError' }],
    Default: o.start,
  };
  injected.StartAt = 'Start';
  return injected;
}
