/**
 * One test per path of statemachine/provision.asl.json, run with
 * aws-local-stepfunctions and mocked Task handlers (style anchor §14).
 *
 * Handlers are plain functions: they return JSON, or throw the project's own
 * error classes (whose `name` is what Retry/Catch match). Waits and retry
 * intervals are zeroed so the whole suite runs in a few seconds.
 */
import { jest } from '@jest/globals';
import {
  AccessDeniedError,
  AwsUnavailableError,
  CanaryFailedError,
  CertificateTimeoutError,
  CertificateValidationFailedError,
  ClusterCertificateMismatchError,
  ClusterNotFoundError,
  DnsChangeTimeoutError,
  ERROR_CLASSES,
  HostedZoneNotFoundError,
  InvalidRequestError,
  InvalidSecretError,
  LoadBalancerTimeoutError,
  ObjectOwnedByAnotherError,
  RecordOwnedByAnotherError,
  TERMINAL_ERROR_NAMES,
  ThrottledError,
  type AutomationError,
  type ErrorName,
} from '../../shared/errors';
import { silentLogger } from '../../shared/log';
import { parseProvisionRequest } from '../../shared/request';
import { runCanaryStep, type RunCanaryStepInput } from '../../shared/steps/runCanary';
import { loadDefinition } from '../../local/definition';
import { parseErrorCause, type TaskHandler } from '../../local/lambda';
import { formatDuration, formatStateEvent } from '../../local/progress';
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

const definition = loadDefinition();
const TASKS = Object.entries(definition.States)
  .filter(([, s]) => s.Type === 'Task')
  .map(([name]) => name);
const FORWARD_TASKS = TASKS.filter((t) => t !== 'NotifyFailure');

// ------------------------------------------------------------------ fixtures

const REQUEST = {
  domain: 'platform.example.com',
  cluster: { name: 'kubeflow', region: 'us-west-2' },
  namespaces: ['kubeflow-user-example-com'],
  auth: { provider: 'cognito', headerValuesSecretId: 'kserve-edge/api-keys' },
};
const CERTIFICATES = {
  certificates: [
    { arn: 'arn:aws:acm:us-west-2:123456789012:certificate/abc', names: ['*.kubeflow-user-example-com.platform.example.com'] },
  ],
};
const CLUSTER = { ingress: { namespace: 'istio-system', name: 'istio-ingress-api' }, applied: 4 };
const LOAD_BALANCER_ADDRESS = 'k8s-istiosys-istioing-0123456789-1234567890.us-west-2.elb.amazonaws.com';
const DNS = { changeId: '/change/C2682N5HXP0BZ4', records: ['*.kubeflow-user-example-com.platform.example.com'] };
const CANARY_HOST = 'sklearn-irisv2.kubeflow-user-example-com.platform.example.com';
const CANARY = {
  ok: true,
  model: 'sklearn-irisv2',
  namespaces: [{ namespace: 'kubeflow-user-example-com', host: CANARY_HOST, status: 200, latencyMs: 42, prediction: [1, 1] }],
};
/** A red canary attempt RunCanary returns while it still waits. */
const CANARY_RED = {
  ok: false,
  model: 'sklearn-irisv2',
  namespaces: [{ namespace: 'kubeflow-user-example-com', host: CANARY_HOST, latencyMs: 3, failureKind: 'dns', reason: 'no record' }],
};

/** A wait-loop check: not ready `pending` times, then ready. */
function poll(pending: number, ready: Record<string, unknown> = {}): Mock {
  let calls = 0;
  return jest.fn(async () => {
    calls += 1;
    return calls <= pending
      ? { ready: false, waitSeconds: 5 * calls, elapsedSeconds: 5 * (calls - 1) }
      : { ready: true, waitSeconds: 0, elapsedSeconds: 5 * (calls - 1), ...ready };
  });
}

/** A wait-loop check that stays pending `pending` times and then hits its deadline. */
function pollUntilDeadline(pending: number, deadline: () => Error): Mock {
  let calls = 0;
  return jest.fn(async () => {
    calls += 1;
    if (calls > pending) throw deadline();
    return { ready: false, waitSeconds: 60, elapsedSeconds: 60 * (calls - 1) };
  });
}

/** RunCanary: red (and waiting) `red` times, then green, as the step returns them. */
function canaryPoll(red: number): Mock {
  let calls = 0;
  return jest.fn(async (input: unknown) => {
    calls += 1;
    const previous = (input as { previous?: { firstAttemptAt?: string } }).previous;
    const timing = { firstAttemptAt: previous?.firstAttemptAt ?? '2026-01-01T00:00:00.000Z', attempts: calls, deadlineSeconds: 900 };
    return calls <= red
      ? { ...CANARY_RED, ready: false, waitSeconds: 5, elapsedSeconds: 5 * (calls - 1), ...timing }
      : { ...CANARY, ready: true, waitSeconds: 0, elapsedSeconds: 5 * (calls - 1), ...timing };
  });
}

/** Throws `error()` the first `times` calls, then returns `value`. */
function failThenSucceed(times: number, error: () => unknown, value: unknown): Mock {
  let calls = 0;
  return jest.fn(async () => {
    calls += 1;
    if (calls <= times) throw error();
    return value;
  });
}

/** Handlers for the happy path: every wait loop goes round once. */
function happyHandlers(): Record<string, Mock> {
  return {
    ValidateRequest: jest.fn(async (input: unknown) => {
      const { request, runId } = input as { request: Record<string, unknown>; runId: string };
      return { request: { ...request, certificateMode: 'per-namespace' }, runId };
    }),
    EnsureCertificates: jest.fn(async () => CERTIFICATES),
    PublishValidationRecords: jest.fn(async () => ({ changeId: '/change/VALIDATION', upserted: 1 })),
    CheckCertificates: poll(1),
    ConfigureCluster: jest.fn(async () => CLUSTER),
    GetLoadBalancerAddress: poll(1, { hostname: LOAD_BALANCER_ADDRESS }),
    UpsertDnsRecords: jest.fn(async () => DNS),
    CheckDnsChange: poll(1, { status: 'INSYNC' }),
    RunCanary: canaryPoll(1),
    NotifyFailure: jest.fn(async () => ({ messageId: 'm-1' })),
  };
}

async function run(
  overrides: Partial<Record<string, Mock>> = {},
  executionName = 'test-run',
): Promise<{ result: RunResult; handlers: Record<string, Mock> }> {
  const handlers = { ...happyHandlers(), ...overrides } as Record<string, Mock>;
  const result = await runStateMachine({
    definition,
    handlers: handlers as Record<string, TaskHandler>,
    input: REQUEST,
    executionName,
    waitSeconds: 0,
    retryIntervalMs: 0,
  });
  return { result, handlers };
}

const HAPPY_PATH = [
  'ValidateRequest',
  'EnsureCertificates',
  'PublishValidationRecords',
  'CheckCertificates',
  'CertificatesIssued',
  'WaitForCertificates',
  'CheckCertificates',
  'CertificatesIssued',
  'ConfigureCluster',
  'GetLoadBalancerAddress',
  'LoadBalancerReady',
  'WaitForLoadBalancer',
  'GetLoadBalancerAddress',
  'LoadBalancerReady',
  'BundleSwapDone',
  'UpsertDnsRecords',
  'CheckDnsChange',
  'DnsInSync',
  'WaitForDnsChange',
  'CheckDnsChange',
  'DnsInSync',
  'StartCanary',
  'RunCanary',
  'CanaryGreen',
  'WaitForCanary',
  'RunCanary',
  'CanaryGreen',
  'Provisioned',
];

// ------------------------------------------------------------------ tests

describe('provision.asl.json', () => {
  describe('bundle swap (certificates.mode "bundled")', () => {
    it('goes back to ConfigureCluster while a swap is under way, then on to DNS', async () => {
      // Prepare: pass 1 holds the old bundle beside the new one, pass 2 takes it off (the ALB must drop it), pass 3 deletes it.
      let pass = 0;
      const configure = jest.fn(async () => {
        pass += 1;
        return pass < 3 ? { ...CLUSTER, swapping: true } : { ...CLUSTER, swapping: false };
      });

      // Act
      const { result, handlers } = await run({ ConfigureCluster: configure }, 'bundle-swap');

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(handlers.ConfigureCluster).toHaveBeenCalledTimes(3);
      const path = visited(result);
      const swap = path.slice(path.indexOf('ConfigureCluster'), path.indexOf('UpsertDnsRecords'));
      expect(swap.filter((s) => s === 'BundleSwapDone')).toHaveLength(3);
      expect(swap.at(-1)).toBe('BundleSwapDone');
      // Every pass is followed by GetLoadBalancerAddress before the next.
      expect(swap.filter((s) => s === 'ConfigureCluster')).toHaveLength(3);
      expect(result.output).toMatchObject({ cluster: { swapping: false } });
    });
  });

  describe('happy path', () => {
    it('visits every step, goes round each wait loop once, and outputs what each step produced', async () => {
      // Act
      const { result, handlers } = await run({}, 'happy-1');

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(visited(result)).toEqual(HAPPY_PATH);
      expect(result.states.every((s) => s.status === 'SUCCEEDED' && s.retries === 0)).toBe(true);
      expect(result.output).toMatchObject({
        request: { ...REQUEST, certificateMode: 'per-namespace' },
        runId: 'happy-1',
        certificates: CERTIFICATES,
        validation: { upserted: 1 },
        certificatePoll: { ready: true },
        cluster: CLUSTER,
        loadBalancer: { ready: true, hostname: LOAD_BALANCER_ADDRESS },
        dns: DNS,
        dnsPoll: { ready: true, status: 'INSYNC' },
        canary: CANARY,
      });
      expect(result.output).not.toHaveProperty('error');
      expect(handlers.NotifyFailure).not.toHaveBeenCalled();
    });

    it('passes $$.Execution.Name to ValidateRequest as runId and the request untouched', async () => {
      const { handlers } = await run({}, 'exec-name-42');

      expect(handlers.ValidateRequest).toHaveBeenCalledWith({ request: REQUEST, runId: 'exec-name-42' });
    });

    it('gives each step only the parts of the state it declares', async () => {
      const { handlers } = await run();

      const request = { ...REQUEST, certificateMode: 'per-namespace' };
      expect(handlers.EnsureCertificates).toHaveBeenCalledWith({ request, runId: 'test-run' });
      expect(handlers.ConfigureCluster).toHaveBeenCalledWith({ request, certificates: CERTIFICATES });
      expect(handlers.UpsertDnsRecords).toHaveBeenCalledWith({
        request,
        loadBalancer: expect.objectContaining({ hostname: LOAD_BALANCER_ADDRESS }),
      });
      // The first attempt has no previous one; the next gets the attempt before it (where the wait started).
      expect(handlers.RunCanary).toHaveBeenNthCalledWith(1, { request, previous: {} });
      expect(handlers.RunCanary).toHaveBeenNthCalledWith(2, {
        request,
        previous: expect.objectContaining({ ready: false, firstAttemptAt: '2026-01-01T00:00:00.000Z', attempts: 1 }),
      });
    });

    it('emits events the CLI can print', async () => {
      const lines: string[] = [];
      await runStateMachine({
        definition,
        handlers: happyHandlers() as Record<string, TaskHandler>,
        input: REQUEST,
        waitSeconds: 0,
        onEvent: (e) => {
          const line = formatStateEvent(e);
          if (line) lines.push(line);
        },
      });

      expect(lines).toContain('▶ CheckCertificates');
      expect(lines).toContain('⏸ WaitForCertificates 5s');
      expect(lines.some((l) => /^✔ CheckCertificates \d+ms$/.test(l))).toBe(true);
      expect(lines.some((l) => l.startsWith('✔ execution succeeded'))).toBe(true);
      expect(lines.some((l) => l.includes('CertificatesIssued'))).toBe(false);
    });
  });

  describe('each Task catches a terminal error into NotifyFailure and the Fail state of that name', () => {
    const TERMINAL_BY_TASK: Record<string, () => AutomationError> = {
      ValidateRequest: () => new InvalidRequestError('domain: must be lowercase', { path: 'domain' }),
      EnsureCertificates: () => new AccessDeniedError('acm:RequestCertificate was denied'),
      PublishValidationRecords: () => new HostedZoneNotFoundError('no public zone serves platform.example.com'),
      CheckCertificates: () => new CertificateValidationFailedError('certificate abc is FAILED: CAA_ERROR'),
      ConfigureCluster: () => new ObjectOwnedByAnotherError('Ingress istio-system/istio-ingress-api is managed by helm'),
      GetLoadBalancerAddress: () => new ClusterNotFoundError('cluster kubeflow does not exist in us-west-2'),
      UpsertDnsRecords: () => new RecordOwnedByAnotherError('*.kubeflow-user-example-com.platform.example.com CNAME has no owner record'),
      CheckDnsChange: () => new AccessDeniedError('route53:GetChange was denied'),
      RunCanary: () => new InvalidSecretError('kserve-edge/api-keys holds no headerValues'),
    };

    it('covers every forward Task of the definition', () => {
      expect(Object.keys(TERMINAL_BY_TASK).sort()).toEqual([...FORWARD_TASKS].sort());
    });

    it.each(FORWARD_TASKS)('%s', async (task) => {
      // Prepare
      const error = TERMINAL_BY_TASK[task]!();

      // Act
      const { result, handlers } = await run({ [task]: always(() => TERMINAL_BY_TASK[task]!()) });

      // Assess
      expectEndedIn(result, error.name);
      const path = visited(result);
      expect(path.slice(-4)).toEqual([task, 'NotifyFailure', 'RouteFailure', error.name]);
      expect(path.indexOf(task)).toBe(HAPPY_PATH.indexOf(task)); // nothing ran past the failing step
      expect(result.states.find((s) => s.name === task)).toMatchObject({ status: 'CAUGHT', retries: 0, error: { name: error.name } });
      expect(handlers[task]).toHaveBeenCalledTimes(1);

      const notified = notifyInput(handlers);
      expect(notified.error.Error).toBe(error.name);
      expect(parseErrorCause(notified.error.Cause)).toEqual({ errorType: error.name, errorMessage: error.message });
      expect(notified.executionId).toMatch(/:execution:[^:]+:test-run$/);
      expect(notified.state.error).toEqual(notified.error);
      // The Fail state keeps the original Cause (CausePath), so describe-execution says what happened.
      expect(result.error?.cause).toBe(notified.error.Cause);
    });
  });

  describe('every terminal error name ends in its own Fail state', () => {
    it.each([...TERMINAL_ERROR_NAMES])('%s', async (name: ErrorName) => {
      // Thrown from EnsureCertificates; retryable names are retried there first, then caught.
      const Cls = ERROR_CLASSES[name] as unknown as new (...args: unknown[]) => Error;
      const make = (): Error => (name === 'CanaryFailed' ? new CanaryFailedError('http', '503') : new Cls(`${name} for the test`));

      const { result, handlers } = await run({ EnsureCertificates: always(make) });

      expectEndedIn(result, name);
      expect(notifyInput(handlers).error.Error).toBe(name);
      expect(parseErrorCause(result.error?.cause)).toEqual({ errorType: name, errorMessage: make().message });
    });
  });

  describe('retries', () => {
    it('retries a throttled step with backoff and goes on', async () => {
      // Prepare
      const ensure = failThenSucceed(2, () => new ThrottledError('ACM: Rate exceeded'), CERTIFICATES);

      // Act
      const { result, handlers } = await run({ EnsureCertificates: ensure });

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(visited(result)).toEqual(HAPPY_PATH);
      expect(ensure).toHaveBeenCalledTimes(3);
      expect(result.states.find((s) => s.name === 'EnsureCertificates')).toMatchObject({ status: 'SUCCEEDED', retries: 2 });
      const retried = result.events.filter((e) => e.type === 'StateRetrying');
      expect(retried).toHaveLength(2);
      expect(retried.map((e) => e.type === 'StateRetrying' && e.error.name)).toEqual(['Throttled', 'Throttled']);
      expect(formatStateEvent(retried[0]!)).toBe('  ↻ retry EnsureCertificates after Throttled: ACM: Rate exceeded (attempt 1)');
      expect(handlers.NotifyFailure).not.toHaveBeenCalled();
    });

    it('gives up on throttling after the retrier’s MaxAttempts and fails as Throttled', async () => {
      const maxAttempts = definition.States.EnsureCertificates!.Retry!.find((r) => r.ErrorEquals.includes('Throttled'))!.MaxAttempts!;
      const ensure = always(() => new ThrottledError('ACM: Rate exceeded'));

      const { result } = await run({ EnsureCertificates: ensure });

      expectEndedIn(result, 'Throttled');
      expect(ensure).toHaveBeenCalledTimes(1 + maxAttempts);
      expect(result.states.find((s) => s.name === 'EnsureCertificates')).toMatchObject({ status: 'CAUGHT', retries: maxAttempts });
    });

    it.each(FORWARD_TASKS)('%s retries a transient Lambda service error', async (task) => {
      const happy = happyHandlers()[task]!;
      let calls = 0;
      const flaky = jest.fn(async (input: unknown) => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error('Lambda is unavailable'), { name: 'Lambda.ServiceException' });
        return happy(input);
      });

      const { result } = await run({ [task]: flaky });

      expect(result.status).toBe('SUCCEEDED');
      expect(result.states.find((s) => s.name === task)).toMatchObject({ status: 'SUCCEEDED', retries: 1 });
    });

    const NAMED_RETRIERS = FORWARD_TASKS.flatMap((task) =>
      (definition.States[task]!.Retry ?? []).flatMap((r) =>
        r.ErrorEquals.filter((n) => !n.startsWith('Lambda.')).map((name) => [task, name as ErrorName, r.MaxAttempts ?? 3] as const),
      ),
    );

    it('finds a retrier for the named errors of every forward Task', () => {
      expect(new Set(NAMED_RETRIERS.map(([task]) => task))).toEqual(new Set(FORWARD_TASKS));
    });

    it.each(NAMED_RETRIERS)('%s retries %s once and goes on', async (task, name) => {
      const happy = happyHandlers()[task]!;
      let calls = 0;
      const flaky = jest.fn(async (input: unknown) => {
        calls += 1;
        if (calls === 1) throw instantiate(name);
        return happy(input);
      });

      const { result, handlers } = await run({ [task]: flaky });

      expect(result.status).toBe('SUCCEEDED');
      expect(result.states.find((s) => s.name === task)).toMatchObject({ status: 'SUCCEEDED', retries: 1 });
      expect(handlers.NotifyFailure).not.toHaveBeenCalled();
    });

    it.each(NAMED_RETRIERS)('%s gives up on %s after MaxAttempts (%i) and ends in its Fail state', async (task, name, maxAttempts) => {
      const failing = always(() => instantiate(name));

      const { result } = await run({ [task]: failing });

      expectEndedIn(result, name);
      expect(failing).toHaveBeenCalledTimes(1 + maxAttempts);
      expect(result.states.find((s) => s.name === task)).toMatchObject({ status: 'CAUGHT', retries: maxAttempts });
    });

    it('does not retry a cluster CA mismatch: ConfigureCluster ends in ClusterCertificateMismatch at once', async () => {
      const configure = always(
        () => new ClusterCertificateMismatchError('TLS verification of the API server failed (SELF_SIGNED_CERT_IN_CHAIN)'),
      );

      const { result } = await run({ ConfigureCluster: configure });

      expectEndedIn(result, 'ClusterCertificateMismatch');
      expect(configure).toHaveBeenCalledTimes(1);
    });

    it('never retries CanaryFailed: RunCanary waits in its own loop and throws only when it gives up', async () => {
      const canary = always(() => new CanaryFailedError('prediction', 'expected [1,1], got [0,2]'));

      const { result, handlers } = await run({ RunCanary: canary });

      expectEndedIn(result, 'CanaryFailed');
      expect(canary).toHaveBeenCalledTimes(1);
      expect(visited(result).slice(-5)).toEqual(['StartCanary', 'RunCanary', 'NotifyFailure', 'RouteFailure', 'CanaryFailed']);
      expect(parseErrorCause(notifyInput(handlers).error.Cause).errorMessage).toBe('prediction: expected [1,1], got [0,2]');
    });
  });

  describe('wait loops reaching their deadline', () => {
    it.each([
      ['CheckCertificates', 'WaitForCertificates', () => new CertificateTimeoutError('still PENDING_VALIDATION after 72h')],
      ['GetLoadBalancerAddress', 'WaitForLoadBalancer', () => new LoadBalancerTimeoutError('no address after 20m')],
      ['CheckDnsChange', 'WaitForDnsChange', () => new DnsChangeTimeoutError('change still PENDING after 30m')],
      [
        'RunCanary',
        'WaitForCanary',
        () => new CanaryFailedError('dns', 'no record; still failing after 901s and 14 attempts (deadline 900s)'),
      ],
    ] as const)('%s → %s loop ends in the timeout error', async (check, wait, deadline) => {
      // Prepare
      const polls = 3;
      const checkHandler = pollUntilDeadline(polls, deadline);
      const name = deadline().name;

      // Act
      const { result, handlers } = await run({ [check]: checkHandler });

      // Assess
      expectEndedIn(result, name);
      expect(checkHandler).toHaveBeenCalledTimes(polls + 1);
      expect(visited(result).filter((s) => s === wait)).toHaveLength(polls);
      expect(visited(result).slice(-4)).toEqual([check, 'NotifyFailure', 'RouteFailure', name]);
      expect(notifyInput(handlers).error.Error).toBe(name);
    });

    it('rejects a waitSeconds that Step Functions would reject, even with waits skipped', async () => {
      const { result, handlers } = await run({ CheckCertificates: jest.fn(async () => ({ ready: false, waitSeconds: 2.5 })) });

      expect(result.status).toBe('FAILED');
      expect(result.error?.name).toBe('States.Runtime');
      expect(visited(result).slice(-1)).toEqual(['WaitForCertificates']);
      expect(handlers.NotifyFailure).not.toHaveBeenCalled();
    });
  });

  describe('the first canary after provisioning (RunCanary ⟲ WaitForCanary)', () => {
    it('waits through red attempts and ends Provisioned at the first green one', async () => {
      // Prepare: red three times (a new ALB's name not in DNS yet), then green.
      const canary = canaryPoll(3);

      // Act
      const { result, handlers } = await run({ RunCanary: canary });

      // Assess
      expect(result.status).toBe('SUCCEEDED');
      expect(canary).toHaveBeenCalledTimes(4);
      expect(visited(result).filter((s) => s === 'WaitForCanary')).toHaveLength(3);
      expect(visited(result).slice(-3)).toEqual(['RunCanary', 'CanaryGreen', 'Provisioned']);
      expect(result.output).toMatchObject({ canary: { ...CANARY, ready: true, attempts: 4 } });
      expect(handlers.NotifyFailure).not.toHaveBeenCalled();
    });

    it('with the real step: red at dns until the deadline ends in CanaryFailed, the layer first in the Cause', async () => {
      // Prepare: the model host never resolves; a clock moved by each Wait the step asks for.
      const deadline = 120;
      const request = parseProvisionRequest({ ...REQUEST, deadlines: { canarySeconds: deadline } });
      const start = Date.parse('2026-01-01T00:00:00.000Z');
      let clock = start;
      const resolver = {
        resolve: jest.fn(async (host: string): Promise<never> => {
          throw new CanaryFailedError('dns', `no record for ${host} in zone platform.example.com`);
        }),
      };
      const secrets = { getSecretString: async () => JSON.stringify({ headerValues: ['tok-3b9f1c2d-statemachine-secret'] }) };
      const canary = jest.fn(async (input: unknown) => {
        const { previous } = input as { previous: RunCanaryStepInput['previous'] };
        const out = await runCanaryStep({ request, previous }, { secrets, resolver, now: () => new Date(clock), log: silentLogger });
        clock += out.waitSeconds * 1000;
        return out;
      });

      // Act
      const { result, handlers } = await run({ RunCanary: canary });

      // Assess: attempts at 0, 5, 10, 15, 20, 25, 31, 39, 49, 61, 76, 95, 119 s (red, waiting), 121 s (past the deadline).
      expectEndedIn(result, 'CanaryFailed');
      expect(canary).toHaveBeenCalledTimes(14);
      expect((clock - start) / 1000).toBe(121);
      expect(visited(result).filter((s) => s === 'WaitForCanary')).toHaveLength(13);
      expect(visited(result).slice(-4)).toEqual(['RunCanary', 'NotifyFailure', 'RouteFailure', 'CanaryFailed']);
      const cause = parseErrorCause(result.error?.cause);
      expect(cause.errorType).toBe('CanaryFailed');
      expect(cause.errorMessage).toMatch(
        /^dns: namespace kubeflow-user-example-com \(sklearn-irisv2\.kubeflow-user-example-com\.platform\.example\.com\): /,
      );
      expect(cause.errorMessage).toContain('still failing after 121s and 14 attempts (deadline 120s)');
      // Every attempt after the first carried where the wait started.
      const previous = canary.mock.calls
        .slice(1)
        .map(([input]) => (input as { previous: { firstAttemptAt: string } }).previous.firstAttemptAt);
      expect(new Set(previous)).toEqual(new Set(['2026-01-01T00:00:00.000Z']));
      expect(JSON.stringify(notifyInput(handlers))).not.toContain('tok-3b9f1c2d-statemachine-secret');
    });

    it('with the real step and canarySeconds 0: the first red attempt ends the run, no wait', async () => {
      const request = parseProvisionRequest({ ...REQUEST, deadlines: { canarySeconds: 0 } });
      const resolver = {
        resolve: async (host: string): Promise<never> => {
          throw new CanaryFailedError('dns', `no record for ${host}`);
        },
      };
      const secrets = { getSecretString: async () => JSON.stringify({ headerValues: ['tok-3b9f1c2d-statemachine-secret'] }) };
      const canary = jest.fn(async (input: unknown) =>
        runCanaryStep(
          { request, previous: (input as RunCanaryStepInput).previous },
          { secrets, resolver, now: () => new Date(), log: silentLogger },
        ),
      );

      const { result } = await run({ RunCanary: canary });

      expectEndedIn(result, 'CanaryFailed');
      expect(canary).toHaveBeenCalledTimes(1);
      expect(visited(result)).not.toContain('WaitForCanary');
      expect(parseErrorCause(result.error?.cause).errorMessage).toContain('(deadline 0s)');
    });

    it('a failure that does not heal (prediction) ends the run at once, without a wait', async () => {
      const canary = always(
        () => new CanaryFailedError('prediction', 'namespace kubeflow-user-example-com: expected [1,1], got [0,2]; not waited for'),
      );

      const { result } = await run({ RunCanary: canary });

      expectEndedIn(result, 'CanaryFailed');
      expect(canary).toHaveBeenCalledTimes(1);
      expect(visited(result)).not.toContain('WaitForCanary');
      expect(parseErrorCause(result.error?.cause).errorMessage).toMatch(/^prediction: /);
    });
  });

  describe('failure handling', () => {
    it('still ends in the named Fail state when NotifyFailure itself fails', async () => {
      // Prepare
      const notifyRetries = definition.States.NotifyFailure!.Retry![0]!.MaxAttempts!;
      const notify = always(() => new AwsUnavailableError('SNS: 503'));

      // Act
      const { result } = await run({
        CheckCertificates: always(() => new CertificateValidationFailedError('VALIDATION_TIMED_OUT')),
        NotifyFailure: notify,
      });

      // Assess
      expectEndedIn(result, 'CertificateValidationFailed');
      expectNotifyFailureCaught(result, notify, notifyRetries, 'CertificateValidationFailed');
    });

    it('ends an unknown error in ProvisioningFailed', async () => {
      const { result, handlers } = await run({
        ConfigureCluster: always(() => new TypeError("Cannot read properties of undefined (reading 'items')")),
      });

      expectEndedIn(result, 'ProvisioningFailed');
      expect(notifyInput(handlers).error.Error).toBe('TypeError');
      expect(visited(result).slice(-3)).toEqual(['NotifyFailure', 'RouteFailure', 'ProvisioningFailed']);
      expect(parseErrorCause(result.error?.cause)).toEqual({
        errorType: 'TypeError',
        errorMessage: "Cannot read properties of undefined (reading 'items')",
      });
    });

    it.each([
      ['a States.* error without a Cause', { Error: 'States.Timeout' }, 'ProvisioningFailed'],
      ['a named error whose Cause is null', { Error: 'AccessDenied', Cause: null }, 'AccessDenied'],
    ])('gives %s a Cause (NoteMissingCause) before the Fail state reads it', async (_label, error, failState) => {
      // Prepare: a copy that starts with the error already caught, as a Catch without a Cause would leave it.
      const injected = startingWithCaughtError(definition, error, { variable: '$.domain', start: 'ValidateRequest' });
      const handlers = happyHandlers();

      // Act
      const result = await runStateMachine({
        definition: injected,
        handlers: handlers as Record<string, TaskHandler>,
        input: REQUEST,
        waitSeconds: 0,
        retryIntervalMs: 0,
      });

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
    });

    it('ends a non-Error throw in ProvisioningFailed, named as Lambda names it', async () => {
      const { result, handlers } = await run({ UpsertDnsRecords: always(() => 'just a string') });

      expectEndedIn(result, 'ProvisioningFailed');
      expect(notifyInput(handlers).error).toEqual({
        Error: 'string',
        Cause: JSON.stringify({ errorType: 'string', errorMessage: 'just a string', trace: [] }),
      });
    });

    it('cannot catch a result over the 256 KiB payload limit (States.DataLimitExceeded)', async () => {
      const { result, handlers } = await run({ EnsureCertificates: jest.fn(async () => ({ blob: 'x'.repeat(300_000) })) });

      expect(result.status).toBe('FAILED');
      expect(result.error?.name).toBe('States.DataLimitExceeded');
      expect(result.failState).toBeUndefined();
      expect(handlers.NotifyFailure).not.toHaveBeenCalled();
    });
  });

  describe('local runner', () => {
    it('scales waits by waitSeconds (5 s × 0.002 = 10 ms)', async () => {
      const result = await runStateMachine({
        definition,
        handlers: happyHandlers() as Record<string, TaskHandler>,
        input: REQUEST,
        waitSeconds: 0.002,
        retryIntervalMs: 0,
      });

      expect(result.status).toBe('SUCCEEDED');
      const waits = result.states.filter((s) => s.type === 'Wait');
      expect(waits).toHaveLength(4);
      for (const w of waits) expect(w.durationMs).toBeGreaterThanOrEqual(8);
    });

    it('refuses to run a Task without a local handler (it would invoke real Lambda)', async () => {
      const { RunCanary: _omitted, ...handlers } = happyHandlers();

      await expect(runStateMachine({ definition, handlers: handlers as Record<string, TaskHandler>, input: REQUEST })).rejects.toThrow(
        'no local handler for Task state(s): RunCanary',
      );
    });

    it('refuses an execution name Step Functions would refuse', async () => {
      await expect(
        runStateMachine({ definition, handlers: happyHandlers() as Record<string, TaskHandler>, input: REQUEST, executionName: 'a b' }),
      ).rejects.toThrow('invalid execution name');
    });

    it('formats durations for the CLI', () => {
      expect([850, 1200, 125_000, 3_720_000].map(formatDuration)).toEqual(['850ms', '1.2s', '2m05s', '1h02m']);
    });
  });
});

describe('provision.asl.json with ALB shards (issue 11)', () => {
  const SHARDS = [
    { index: 0, ingress: { namespace: 'istio-system', name: 'istio-ingress-api' }, namespaces: ['a'] },
    { index: 1, ingress: { namespace: 'istio-system', name: 'istio-ingress-api-shard-1' }, namespaces: ['b'] },
  ];
  const TARGETS = [
    { shard: 0, hostname: 'alb-0.us-west-2.elb.amazonaws.com', namespaces: ['a'] },
    { shard: 1, hostname: 'alb-1.us-west-2.elb.amazonaws.com', namespaces: ['b'] },
  ];

  it('GetLoadBalancerAddress gets every shard and waits until all are ready; UpsertDnsRecords gets each shard’s ALB', async () => {
    const { result, handlers } = await run({
      ConfigureCluster: jest.fn(async () => ({ ...CLUSTER, shards: SHARDS })),
      GetLoadBalancerAddress: poll(2, { hostname: TARGETS[0]!.hostname, targets: TARGETS }),
    });
    expect(result.status).toBe('SUCCEEDED');
    expect(visited(result).filter((s) => s === 'GetLoadBalancerAddress')).toHaveLength(3);
    for (const [input] of handlers.GetLoadBalancerAddress!.mock.calls) {
      expect((input as { cluster: { shards: unknown } }).cluster.shards).toEqual(SHARDS);
    }
    const dnsInput = handlers.UpsertDnsRecords!.mock.calls[0]![0] as { loadBalancer: { targets: unknown } };
    expect(dnsInput.loadBalancer.targets).toEqual(TARGETS);
  });
});
