/**
 * The state machines as data: static checks that tie statemachine/provision.asl.json
 * and statemachine/deprovision.asl.json to shared/errors.ts, to functions/ and
 * to serverless.yml.
 *
 * - every error name either ASL matches exists in the code, and every terminal
 *   error of the code ends in its own Fail state, in both (style anchor §6);
 * - each Fail state keeps the original Cause;
 * - every Task retries the transient Lambda errors and is caught into NotifyFailure (§10);
 * - every wait loop waits as long as its check says (§9);
 * - one name per unit: state `EnsureCertificates` ↔ function key `ensureCertificates`
 *   ↔ `functions/ensure-certificates/handler.ts` (§12).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import {
  CanaryFailedError,
  ERROR_CLASSES,
  ERROR_NAMES,
  TERMINAL_ERROR_NAMES,
  type AutomationError,
  type ErrorName,
} from '../../shared/errors';
import { readRawDefinition, taskFunctionKeys, type AslDefinition, type AslRetrier, type AslState } from '../../local/definition';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Machine {
  file: string;
  /** The Fail state for anything that is not a named error. */
  fallback: string;
  asl: AslDefinition;
}
const MACHINES: Machine[] = [
  { file: 'provision.asl.json', fallback: 'ProvisioningFailed', asl: readRawDefinition(join(ROOT, 'statemachine/provision.asl.json')) },
  {
    file: 'deprovision.asl.json',
    fallback: 'DeprovisioningFailed',
    asl: readRawDefinition(join(ROOT, 'statemachine/deprovision.asl.json')),
  },
];
const asl = MACHINES[0]!.asl;
const states = Object.entries(asl.States);

interface ServerlessFunction {
  handler: string;
  timeout?: number;
}
interface ServerlessConfig {
  provider: { timeout?: number; runtime?: string };
  functions: Record<string, ServerlessFunction>;
  stepFunctions: { validate?: boolean; stateMachines: Record<string, { definition: unknown }> };
}
const serverless = load(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as ServerlessConfig;

const LAMBDA_TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
const isBuiltIn = (name: string): boolean => name.startsWith('States.') || name.startsWith('Lambda.');

const statesOf = (def: AslDefinition): Array<[string, AslState]> => Object.entries(def.States);
const tasksOf = (def: AslDefinition): Array<[string, AslState]> => statesOf(def).filter(([, s]) => s.Type === 'Task');
const forwardTasksOf = (def: AslDefinition): string[] =>
  tasksOf(def)
    .map(([n]) => n)
    .filter((n) => n !== 'NotifyFailure');

function retriers(def: AslDefinition): Array<[string, AslRetrier]> {
  return statesOf(def).flatMap(([name, s]) => (s.Retry ?? []).map((r): [string, AslRetrier] => [name, r]));
}

/** Every Choice rule that compares `$.error.Error`, with its state. */
function errorChoices(def: AslDefinition): Array<{ state: string; equals: string; next: string }> {
  return statesOf(def).flatMap(([name, s]) =>
    (s.Choices ?? [])
      .filter((c) => c.Variable === '$.error.Error' && typeof c.StringEquals === 'string')
      .map((c) => ({ state: name, equals: c.StringEquals as string, next: c.Next })),
  );
}

/** Tasks whose TimeoutSeconds is not a positive whole number of seconds (a missing one means "no limit" to Step Functions). */
function timeoutProblems(def: AslDefinition): string[] {
  return tasksOf(def)
    .filter(([, s]) => !(typeof s.TimeoutSeconds === 'number' && Number.isInteger(s.TimeoutSeconds) && s.TimeoutSeconds > 0))
    .map(([name]) => name);
}

/**
 * Retriers without exponential backoff, full jitter, attempts or a delay cap.
 * Step Functions' MaxDelaySeconds has no default: without it the backoff grows
 * without bound, so it must be a positive whole number no smaller than the first interval.
 */
function retryProblems(def: AslDefinition): string[] {
  return retriers(def)
    .filter(([, r]) => {
      const cap = r.MaxDelaySeconds;
      const capped = typeof cap === 'number' && Number.isInteger(cap) && cap > 0 && cap >= (r.IntervalSeconds ?? 1);
      return !((r.BackoffRate ?? 2) > 1 && r.JitterStrategy === 'FULL' && (r.MaxAttempts ?? 3) > 0 && capped);
    })
    .map(([state, r]) => `${state} ${r.ErrorEquals.join(',')}`);
}

/** Terminal errors without a route from RouteFailure to a Fail state of that name that keeps the Cause. */
function routingProblems(def: AslDefinition): string[] {
  return TERMINAL_ERROR_NAMES.filter((name) => {
    const route = errorChoices(def).filter((c) => c.state === 'RouteFailure' && c.equals === name && c.next === name);
    const fail = def.States[name];
    return route.length !== 1 || fail?.Type !== 'Fail' || fail.Error !== name || fail.CausePath !== '$.error.Cause';
  });
}

function instantiate(name: ErrorName): AutomationError {
  if (name === 'CanaryFailed') return new CanaryFailedError('http', 'test');
  const Cls = ERROR_CLASSES[name] as unknown as new (message: string) => AutomationError;
  return new Cls('test');
}

const camel = (state: string): string => state.charAt(0).toLowerCase() + state.slice(1);
const kebab = (state: string): string => state.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

describe.each(MACHINES)('$file ↔ shared/errors.ts', ({ asl: def, fallback, file }) => {
  it('matches only error names the code defines (besides States.* and Lambda.*)', () => {
    // Prepare
    const matched = new Set<string>([
      ...statesOf(def).flatMap(([, s]) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals)),
      ...errorChoices(def).map((c) => c.equals),
    ]);

    // Assess
    const unknown = [...matched].filter((n) => !isBuiltIn(n) && !(ERROR_NAMES as string[]).includes(n));
    expect(unknown).toEqual([]);
  });

  it.each([...TERMINAL_ERROR_NAMES])('routes terminal error %s to a Fail state of that name that keeps the original Cause', (name) => {
    const route = errorChoices(def).filter((c) => c.state === 'RouteFailure' && c.equals === name);
    expect(route).toEqual([{ state: 'RouteFailure', equals: name, next: name }]);
    expect(def.States[name]).toMatchObject({ Type: 'Fail', Error: name, CausePath: '$.error.Cause' });
    expect(def.States[name]).not.toHaveProperty('Cause');
  });

  it('the routing check fails on a copy that lost a Fail state, a route, or the CausePath', () => {
    expect(routingProblems(def)).toEqual([]);
    const noFail = structuredClone(def);
    delete noFail.States.AccessDenied;
    const noRoute = structuredClone(def);
    noRoute.States.RouteFailure!.Choices = noRoute.States.RouteFailure!.Choices!.filter((c) => c.StringEquals !== 'PatchConflict');
    const fixedCause = structuredClone(def);
    fixedCause.States.AwsRejected = { Type: 'Fail', Error: 'AwsRejected', Cause: 'see the history' };
    expect([routingProblems(noFail), routingProblems(noRoute), routingProblems(fixedCause)]).toEqual([
      ['AccessDenied'],
      ['PatchConflict'],
      ['AwsRejected'],
    ]);
  });

  it(`routes every Choice on the error to the Fail state it names, and anything else to ${fallback}`, () => {
    const route = def.States.RouteFailure!;
    for (const rule of errorChoices(def)) {
      expect(def.States[rule.next]).toMatchObject({ Type: 'Fail', Error: rule.equals });
    }
    expect(route.Default).toBe(fallback);
    expect(def.States[fallback]).toMatchObject({ Type: 'Fail', Error: fallback, CausePath: '$.error.Cause' });
  });

  it('gives an error that came without a string Cause one before any Fail state reads it', () => {
    const [absent, notString, ...rest] = def.States.RouteFailure!.Choices!;
    expect(absent).toEqual({ Not: { Variable: '$.error.Cause', IsPresent: true }, Next: 'NoteMissingCause' });
    expect(notString).toEqual({ Not: { Variable: '$.error.Cause', IsString: true }, Next: 'NoteMissingCause' });
    expect(rest.every((c) => c.Variable === '$.error.Error')).toBe(true);
    expect(def.States.NoteMissingCause).toMatchObject({ Type: 'Pass', ResultPath: '$.error.Cause', Next: 'RouteFailure' });
    expect(typeof def.States.NoteMissingCause!.Result).toBe('string');
  });

  it('names every Fail state after the error it reports, and reaches each one from RouteFailure', () => {
    const reachable = new Set([...errorChoices(def).map((c) => c.next), def.States.RouteFailure!.Default]);
    for (const [name, state] of statesOf(def).filter(([, s]) => s.Type === 'Fail')) {
      expect({ name, error: state.Error }).toEqual({ name, error: name });
      expect(reachable.has(name)).toBe(true);
    }
  });

  if (file === 'provision.asl.json') {
    it.each([...ERROR_NAMES])('retries %s only if the code says it is retryable', (name) => {
      const retried = retriers(def).some(([, r]) => r.ErrorEquals.includes(name));
      expect({ name, retried }).toEqual({ name, retried: instantiate(name).retryable });
    });
  } else {
    // Deprovisioning never meets CanaryFailed or ValidationRecordsNotReady: it retries the retryable names it can meet, and nothing else.
    it('retries only names the code says are retryable, among them every one a deprovisioning pass can raise', () => {
      const retried = [...new Set(retriers(def).flatMap(([, r]) => r.ErrorEquals))].filter((n): n is ErrorName => !isBuiltIn(n));
      expect(retried.filter((n) => !instantiate(n).retryable)).toEqual([]);
      expect([...retried].sort()).toEqual(['AwsUnavailable', 'ClusterUnreachable', 'PatchConflict', 'Throttled']);
    });
  }

  it('gives every error class a name equal to its key (what ErrorEquals matches)', () => {
    for (const name of ERROR_NAMES) expect(instantiate(name).name).toBe(name);
  });
});

describe.each(MACHINES)('$file error handling', ({ asl: def }) => {
  it.each(forwardTasksOf(def))('%s is caught into NotifyFailure with the error at $.error', (name) => {
    expect(def.States[name]!.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'NotifyFailure' }]);
  });

  it.each(forwardTasksOf(def))('%s retries the transient Lambda errors', (name) => {
    const retry = def.States[name]!.Retry ?? [];
    for (const error of LAMBDA_TRANSIENT) {
      expect({ error, retried: retry.some((r) => r.ErrorEquals.includes(error)) }).toEqual({ error, retried: true });
    }
  });

  it('retries with exponential backoff, a delay cap and full jitter everywhere', () => {
    expect(retriers(def).length).toBeGreaterThan(0);
    expect(retryProblems(def)).toEqual([]);
  });

  it('the retry check fails on a copy whose retrier has no delay cap, a zero cap, or no jitter', () => {
    const [state, first] = retriers(def)[0]!;
    const label = `${state} ${first.ErrorEquals.join(',')}`;
    const broken = (change: (r: AslRetrier) => void): AslDefinition => {
      const copy = structuredClone(def);
      change(copy.States[state]!.Retry![0]!);
      return copy;
    };
    expect(retryProblems(broken((r) => delete r.MaxDelaySeconds))).toEqual([label]);
    expect(retryProblems(broken((r) => (r.MaxDelaySeconds = 0)))).toEqual([label]);
    expect(retryProblems(broken((r) => delete r.JitterStrategy))).toEqual([label]);
  });

  it('lets only NotifyFailure retry States.ALL', () => {
    const catchAll = retriers(def)
      .filter(([, r]) => r.ErrorEquals.includes('States.ALL'))
      .map(([s]) => s);
    expect([...new Set(catchAll)]).toEqual(['NotifyFailure']);
  });

  it('keeps the original error when NotifyFailure itself fails, and always goes on to RouteFailure', () => {
    const notify = def.States.NotifyFailure!;
    expect(notify.Parameters?.['error.$']).toBe('$.error');
    expect(notify.ResultPath).toBeNull();
    expect(notify.Next).toBe('RouteFailure');
    expect(notify.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.notifyError', Next: 'RouteFailure' }]);
  });

  it('bounds every Task and the whole execution in time', () => {
    expect(def.TimeoutSeconds).toBeGreaterThan(0);
    expect(timeoutProblems(def)).toEqual([]);
  });

  it('the timeout check fails on a copy with a Task that lacks TimeoutSeconds', () => {
    const [name] = tasksOf(def)[0]!;
    const copy = structuredClone(def);
    delete copy.States[name]!.TimeoutSeconds;
    expect(timeoutProblems(copy)).toEqual([name]);
  });

  it('retries PatchConflict on the Tasks that patch, and never retries a CA mismatch', () => {
    const patching = forwardTasksOf(def).filter((t) => ['ConfigureCluster', 'DeprovisionNamespace'].includes(t));
    expect(patching).toHaveLength(1);
    for (const t of patching) expect(def.States[t]!.Retry!.some((r) => r.ErrorEquals.includes('PatchConflict'))).toBe(true);
    expect(retriers(def).filter(([, r]) => r.ErrorEquals.includes('ClusterCertificateMismatch'))).toEqual([]);
  });
});

describe('provision.asl.json wait loops', () => {
  const waits = states.filter(([, s]) => s.Type === 'Wait');

  it('has a wait loop for certificates, the load balancer, DNS and the first green canary', () => {
    expect(waits.map(([n]) => n).sort()).toEqual(['WaitForCanary', 'WaitForCertificates', 'WaitForDnsChange', 'WaitForLoadBalancer']);
  });

  it.each(waits.map(([n]) => n))('%s waits as long as the check before it says', (waitName) => {
    // Prepare: Task → Choice (→ Wait by default) → Wait → the same Task
    const wait = asl.States[waitName]!;
    const check = wait.Next!;
    const checkState = asl.States[check]!;
    const choice = asl.States[checkState.Next!]!;

    // Assess
    expect(wait.Seconds).toBeUndefined();
    expect(checkState.Type).toBe('Task');
    expect(choice.Type).toBe('Choice');
    expect(choice.Default).toBe(waitName);
    const resultPath = checkState.ResultPath as string;
    expect(wait.SecondsPath).toBe(`${resultPath}.waitSeconds`);
    for (const rule of choice.Choices ?? []) expect(rule.Variable).toBe(`${resultPath}.ready`);
  });
});

describe('deprovision.asl.json wait loop', () => {
  it('WaitForCertificateRelease waits as long as DeprovisionNamespace says, until it says done', () => {
    const def = MACHINES[1]!.asl;
    const wait = def.States.WaitForCertificateRelease!;
    const task = def.States[wait.Next!]!;
    const choice = def.States[task.Next!]!;
    expect(wait.Next).toBe('DeprovisionNamespace');
    expect(wait.Seconds).toBeUndefined();
    expect(wait.SecondsPath).toBe(`${task.ResultPath as string}.waitSeconds`);
    expect(choice).toMatchObject({ Type: 'Choice', Default: 'WaitForCertificateRelease' });
    expect(choice.Choices).toEqual([{ Variable: `${task.ResultPath as string}.done`, BooleanEquals: true, Next: 'Deprovisioned' }]);
  });
});

describe.each(MACHINES)('$file ↔ functions/ ↔ serverless.yml (one name per unit)', ({ asl: def }) => {
  const keys = taskFunctionKeys(def);
  const names = tasksOf(def).map(([n]) => n);

  it.each(names)('%s is function %s at functions/<kebab>/handler.ts', (state) => {
    const key = keys[state]!;
    expect(key).toBe(camel(state));
    expect(existsSync(join(ROOT, 'functions', kebab(state), 'handler.ts'))).toBe(true);
    expect(serverless.functions[key]?.handler).toBe(`functions/${kebab(state)}/handler.handler`);
  });

  it.each(names)('%s: Lambda times out before the Task does', (state) => {
    const fn = serverless.functions[keys[state]!]!;
    const lambdaTimeout = fn.timeout ?? serverless.provider.timeout ?? 6;
    expect(lambdaTimeout).toBeLessThan((def.States[state] as AslState).TimeoutSeconds ?? 60);
  });

  it('is JSONPath only (aws-local-stepfunctions silently ignores JSONata)', () => {
    const text = JSON.stringify(def);
    expect(text).not.toMatch(/"QueryLanguage"\s*:\s*"JSONata"/);
    expect(text).not.toContain('{%');
    for (const [name, state] of tasksOf(def)) {
      expect({ name, resource: Object.keys(state.Resource as object) }).toEqual({ name, resource: ['Fn::GetAtt'] });
    }
  });
});

describe('serverless.yml deploys both state machines', () => {
  it('deploys exactly the functions the ASLs call, plus the lifecycle triggers', () => {
    const keys = MACHINES.flatMap((m) => Object.values(taskFunctionKeys(m.asl)));
    const triggers = ['scheduledCanary', 'namespaceEvents', 'sweep'];
    const expected = [...new Set([...keys, ...triggers])].sort();
    expect(Object.keys(serverless.functions).sort()).toEqual(expected);
  });

  it('loads the definition from the file, validated, on nodejs24.x', () => {
    const machines = Object.values(serverless.stepFunctions.stateMachines);
    expect(machines.map((m) => m.definition)).toEqual([
      '${file(statemachine/provision.asl.json)}',
      '${file(statemachine/deprovision.asl.json)}',
    ]);
    expect(serverless.stepFunctions.validate).toBe(true);
    expect(serverless.provider.runtime).toBe('nodejs24.x');
  });
});
