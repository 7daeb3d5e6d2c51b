/**
 * One test per path of statemachine/deprovision.asl.json, run with
 * aws-local-stepfunctions and mocked Task handlers, as
 * `provision.test.ts` does for the provisioning run (style anchor §14).
 *
 * Paths: the happy path, the wait loop while the load balancer lets go of the
 * certificate, every Retry (once, and until MaxAttempts), every Catch into
 * NotifyFailure and the Fail state each terminal error ends in, the fallback
 * `DeprovisioningFailed`, a NotifyFailure that fails itself, and an error
 * without a Cause.
 */
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import {
  AccessDeniedError,
  AwsUnavailableError,
  ClusterCertificateMismatchError,
  PrerequisiteMissingError,
  RecordOwnedByAnotherError,
  TERMINAL_ERROR_NAMES,
  type ErrorName,
} from '../../shared/errors';
import { loadDefinition } from '../../local/definition';
import { parseErrorCause, type TaskHandler } from '../../local/lambda';
import { runStateMachine, type RunResult } from '../../local/run';
import {
  always,
  expectEndedIn,
  expectNotifyFailureCaught,
  instantiate,
  notifyInput,
  startingWithCaughtError,
  visited,
  type Mock,
} from './helpers';

const definition = loadDefinition(fileURLToPath(new URL('../../statemachine/deprovision.asl.json', import.meta.url)));

// ------------------------------------------------------------------ fixtures

const REQUEST = {
  domain: 'platform.example.com',
  cluster: { name: 'kubeflow', region: 'us-west-2' },
  namespaces: ['kubeflow-user-example-com'],
  auth: { provider: 'cognito', headerValuesSecretId: 'kserve-edge/api-keys' },
};
const NAMESPACE = 'kubeflow-user-example-com';
const INPUT = { request: REQUEST, namespace: NAMESPACE };
const CERTIFICATE = 'arn:aws:acm:us-west-2:123456789012:certificate/abc';

/** A pass of DeprovisionNamespace: the certificate is still in use `pending` times, then everything is gone. */
function passes(pending: number): Mock {
  let calls = 0;
  return jest.fn(async () => {
    calls += 1;
    const startedAt = '2026-01-01T00:00:00.000Z';
    return calls <= pending
      ? {
          namespace: NAMESPACE,
          done: false,
          waitSeconds: 30,
          startedAt,
          elapsedSeconds: 30 * (calls - 1),
          inUse: [{ arn: CERTIFICATE, inUseBy: ['alb'] }],
        }
      : {
          namespace: NAMESPACE,
          done: true,
          waitSeconds: 0,
          startedAt,
          elapsedSeconds: 30 * (calls - 1),
          deletedCertificates: [CERTIFICATE],
        };
  });
}

function happyHandlers(): Record<string, Mock> {
  return {
    DeprovisionNamespace: passes(0),
    NotifyFailure: jest.fn(async () => ({ messageId: 'm-1' })),
  };
}

async function run(
  overrides: Partial<Record<string, Mock>> = {},
  options: { definition?: typeof definition; input?: unknown } = {},
): Promise<{ result: RunResult; handlers: Record<string, Mock> }> {
  const handlers = { ...happyHandlers(), ...overrides } as Record<string, Mock>;
  const result = await runStateMachine({
    definition: options.definition ?? definition,
    handlers: handlers as Record<string, TaskHandler>,
    input: options.input ?? INPUT,
    executionName: 'deprovision-test',
    waitSeconds: 0,
    retryIntervalMs: 0,
  });
  return { result, handlers };
}

const RETRIERS = (definition.States.DeprovisionNamespace!.Retry ?? []).flatMap((r) =>
  r.ErrorEquals.map((name) => [name, r.MaxAttempts ?? 3] as const),
);
const NAMED_RETRIERS = RETRIERS.filter(([name]) => !name.startsWith('Lambda.')) as Array<readonly [ErrorName, number]>;
const LAMBDA_RETRIERS = RETRIERS.filter(([name]) => name.startsWith('Lambda.'));

// ------------------------------------------------------------------ tests

describe('deprovision.asl.json', () => {
  describe('happy path', () => {
    it('removes everything in one pass and succeeds', async () => {
      // Act
      const { result, handlers } = await run();

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(visited(result)).toEqual(['Begin', 'DeprovisionNamespace', 'Released', 'Deprovisioned']);
      expect(result.states.every((s) => s.status === 'SUCCEEDED' && s.retries === 0)).toBe(true);
      expect(result.output).toMatchObject({
        request: REQUEST,
        namespace: NAMESPACE,
        deprovision: { done: true, deletedCertificates: [CERTIFICATE] },
      });
      expect(handlers.NotifyFailure).not.toHaveBeenCalled();
    });

    it('gives the first pass the request, the namespace and an empty progress record', async () => {
      const { handlers } = await run();

      expect(handlers.DeprovisionNamespace).toHaveBeenCalledWith({ request: REQUEST, namespace: NAMESPACE, deprovision: {} });
    });
  });

  describe('wait loop', () => {
    it('waits while the certificate is in use, handing each pass the previous one’s progress', async () => {
      // Prepare
      const deprovision = passes(2);

      // Act
      const { result } = await run({ DeprovisionNamespace: deprovision });

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(visited(result)).toEqual([
        'Begin',
        'DeprovisionNamespace',
        'Released',
        'WaitForCertificateRelease',
        'DeprovisionNamespace',
        'Released',
        'WaitForCertificateRelease',
        'DeprovisionNamespace',
        'Released',
        'Deprovisioned',
      ]);
      expect(deprovision).toHaveBeenCalledTimes(3);
      const second = deprovision.mock.calls[1]![0] as { deprovision: Record<string, unknown> };
      expect(second.deprovision).toMatchObject({ done: false, startedAt: '2026-01-01T00:00:00.000Z', waitSeconds: 30 });
      const waits = result.events.filter((e) => e.type === 'StateEntered' && e.state === 'WaitForCertificateRelease');
      expect(waits.map((e) => e.type === 'StateEntered' && e.waitSeconds)).toEqual([30, 30]);
    });

    it('rejects a waitSeconds that Step Functions would reject, even with waits skipped', async () => {
      const { result, handlers } = await run({
        DeprovisionNamespace: jest.fn(async () => ({ namespace: NAMESPACE, done: false, waitSeconds: 1.5 })),
      });

      expect(result.status).toBe('FAILED');
      expect(result.error?.name).toBe('States.Runtime');
      expect(visited(result).slice(-1)).toEqual(['WaitForCertificateRelease']);
      expect(handlers.NotifyFailure).not.toHaveBeenCalled();
    });
  });

  describe('retries', () => {
    it('has a retrier for the transient Lambda errors and for each retryable error a pass can raise', () => {
      expect(LAMBDA_RETRIERS.map(([name]) => name)).toHaveLength(4);
      expect(NAMED_RETRIERS.map(([name]) => name).sort()).toEqual(['AwsUnavailable', 'ClusterUnreachable', 'PatchConflict', 'Throttled']);
    });

    it.each(RETRIERS)('retries %s once and goes on', async (name) => {
      // Prepare
      let calls = 0;
      const happy = passes(0);
      const flaky = jest.fn(async (input: unknown) => {
        calls += 1;
        if (calls === 1)
          throw name.startsWith('Lambda.') ? Object.assign(new Error('Lambda is unavailable'), { name }) : instantiate(name as ErrorName);
        return happy(input);
      });

      // Act
      const { result, handlers } = await run({ DeprovisionNamespace: flaky });

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(flaky).toHaveBeenCalledTimes(2);
      expect(result.states.find((s) => s.name === 'DeprovisionNamespace')).toMatchObject({ status: 'SUCCEEDED', retries: 1 });
      const retried = result.events.filter((e) => e.type === 'StateRetrying');
      expect(retried.map((e) => e.type === 'StateRetrying' && e.error.name)).toEqual([name]);
      expect(handlers.NotifyFailure).not.toHaveBeenCalled();
    });

    it.each(NAMED_RETRIERS)('gives up on %s after MaxAttempts (%i) and ends in its Fail state', async (name, maxAttempts) => {
      const failing = always(() => instantiate(name));

      const { result, handlers } = await run({ DeprovisionNamespace: failing });

      expectEndedIn(result, name);
      expect(failing).toHaveBeenCalledTimes(1 + maxAttempts);
      expect(result.states.find((s) => s.name === 'DeprovisionNamespace')).toMatchObject({ status: 'CAUGHT', retries: maxAttempts });
      expect(visited(result).slice(-4)).toEqual(['DeprovisionNamespace', 'NotifyFailure', 'RouteFailure', name]);
      expect(notifyInput(handlers).error.Error).toBe(name);
    });

    it('does not retry a cluster CA mismatch', async () => {
      const failing = always(
        () => new ClusterCertificateMismatchError('TLS verification of the API server failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE)'),
      );

      const { result } = await run({ DeprovisionNamespace: failing });

      expectEndedIn(result, 'ClusterCertificateMismatch');
      expect(failing).toHaveBeenCalledTimes(1);
    });
  });

  describe('every terminal error is caught into NotifyFailure and ends in its own Fail state, with its Cause', () => {
    it.each([...TERMINAL_ERROR_NAMES])('%s', async (name) => {
      // Prepare
      const error = instantiate(name);

      // Act
      const { result, handlers } = await run({ DeprovisionNamespace: always(() => instantiate(name)) });

      // Assess
      expectEndedIn(result, name);
      expect(visited(result).slice(-4)).toEqual(['DeprovisionNamespace', 'NotifyFailure', 'RouteFailure', name]);
      const notified = notifyInput(handlers);
      expect(notified.error.Error).toBe(name);
      expect(parseErrorCause(notified.error.Cause)).toEqual({ errorType: name, errorMessage: error.message });
      expect(notified.executionId).toMatch(/:execution:[^:]+:deprovision-test$/);
      expect(notified.state).toMatchObject({ request: REQUEST, namespace: NAMESPACE });
      expect(result.error?.cause).toBe(notified.error.Cause);
    });

    it('reports what is missing, e.g. a namespace-scoped CRD that is gone', async () => {
      const { result } = await run({
        DeprovisionNamespace: always(
          () => new PrerequisiteMissingError('the API server does not serve networking.k8s.io/v1 (is the CRD installed?)'),
        ),
      });

      expectEndedIn(result, 'PrerequisiteMissing');
      expect(parseErrorCause(result.error?.cause).errorMessage).toBe(
        'the API server does not serve networking.k8s.io/v1 (is the CRD installed?)',
      );
    });
  });

  describe('failure handling', () => {
    it('ends an unknown error in DeprovisioningFailed, keeping its type and message', async () => {
      const { result, handlers } = await run({ DeprovisionNamespace: always(() => new RangeError('Invalid time value')) });

      expectEndedIn(result, 'DeprovisioningFailed');
      expect(visited(result).slice(-3)).toEqual(['NotifyFailure', 'RouteFailure', 'DeprovisioningFailed']);
      expect(notifyInput(handlers).error.Error).toBe('RangeError');
      expect(parseErrorCause(result.error?.cause)).toEqual({ errorType: 'RangeError', errorMessage: 'Invalid time value' });
    });

    it('still ends in the named Fail state when NotifyFailure itself fails', async () => {
      // Prepare
      const notifyRetries = definition.States.NotifyFailure!.Retry![0]!.MaxAttempts!;
      const notify = always(() => new AwsUnavailableError('SNS: 503'));

      // Act
      const { result } = await run({
        DeprovisionNamespace: always(
          () => new RecordOwnedByAnotherError('*.kubeflow-user-example-com.platform.example.com has another owner'),
        ),
        NotifyFailure: notify,
      });

      // Assess
      expectEndedIn(result, 'RecordOwnedByAnother');
      expectNotifyFailureCaught(result, notify, notifyRetries, 'RecordOwnedByAnother');
    });

    it.each([
      ['a States.* error without a Cause', { Error: 'States.Timeout' }, 'DeprovisioningFailed'],
      ['a named error whose Cause is not a string', { Error: 'AccessDenied', Cause: { nested: true } }, 'AccessDenied'],
    ])('gives %s a Cause (NoteMissingCause) before the Fail state reads it', async (_label, error, failState) => {
      // Prepare: a copy that starts with the error already caught, as a Catch without a Cause would leave it.
      const injected = startingWithCaughtError(definition, error, { variable: '$.namespace', start: 'Begin' });

      // Act
      const { result, handlers } = await run({}, { definition: injected });

      // Assess
      expectEndedIn(result, failState);
      expect(visited(result)).toEqual([
        'Start',
        'InjectError',
        'NotifyFailure',
        'RouteFailure',
        'NoteMissingCause',
        'RouteFailure',
        failState,
      ]);
      expect(result.error?.cause).toBe(definition.States.NoteMissingCause!.Result);
      expect(notifyInput(handlers).error).toEqual(error);
    });

    it('catches an AccessDenied (IAM or RBAC) without retrying it', async () => {
      const failing = always(() => new AccessDeniedError('route53:ChangeResourceRecordSets was denied'));

      const { result } = await run({ DeprovisionNamespace: failing });

      expectEndedIn(result, 'AccessDenied');
      expect(failing).toHaveBeenCalledTimes(1);
      expect(result.states.find((s) => s.name === 'DeprovisionNamespace')).toMatchObject({
        status: 'CAUGHT',
        retries: 0,
        error: { name: 'AccessDenied' },
      });
    });
  });
});

describe('deprovision.asl.json with an ALB shard that empties (issue 11)', () => {
  it('a pass that emptied a shard is not done: the next pass gets the shard and removes its Ingress', async () => {
    let calls = 0;
    const step = jest.fn(async () => {
      calls += 1;
      const startedAt = '2026-01-01T00:00:00.000Z';
      return calls === 1
        ? { namespace: NAMESPACE, done: false, waitSeconds: 5, startedAt, elapsedSeconds: 0, shard: 1, inUse: [] }
        : {
            namespace: NAMESPACE,
            done: true,
            waitSeconds: 0,
            startedAt,
            elapsedSeconds: 5,
            shard: 1,
            deletedIngress: 'istio-ingress-api-shard-1',
          };
    }) as Mock;
    const { result, handlers } = await run({ DeprovisionNamespace: step });
    expect(result.status).toBe('SUCCEEDED');
    expect(visited(result)).toEqual([
      'Begin',
      'DeprovisionNamespace',
      'Released',
      'WaitForCertificateRelease',
      'DeprovisionNamespace',
      'Released',
      'Deprovisioned',
    ]);
    const second = handlers.DeprovisionNamespace!.mock.calls[1]![0] as { deprovision: { shard?: number } };
    expect(second.deprovision.shard).toBe(1);
  });
});
