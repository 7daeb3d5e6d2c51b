/**
 * The state machine as data: static checks that tie statemachine/provision.asl.json
 * to shared/errors.ts, to functions/ and to serverless.yml.
 *
 * - every error name the ASL matches exists in the code, and every terminal
 *   error of the code ends in its own Fail state (style anchor §6);
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
import { readRawDefinition, taskFunctionKeys, type AslRetrier, type AslState } from '../../local/definition';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const asl = readRawDefinition(join(ROOT, 'statemachine/provision.asl.json'));
const states = Object.entries(asl.States);
const tasks = states.filter(([, s]) => s.Type === 'Task');
const forwardTasks = tasks.filter(([name]) => name !== 'NotifyFailure');

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

function retriers(): Array<[string, AslRetrier]> {
  return states.flatMap(([name, s]) => (s.Retry ?? []).map((r): [string, AslRetrier] => [name, r]));
}

/** Every Choice rule that compares `$.error.Error`, with its state. */
function errorChoices(): Array<{ state: string; equals: string; next: string }> {
  return states.flatMap(([name, s]) =>
    (s.Choices ?? [])
      .filter((c) => c.Variable === '$.error.Error' && typeof c.StringEquals === 'string')
      .map((c) => ({ state: name, equals: c.StringEquals as string, next: c.Next })),
  );
}

function instantiate(name: ErrorName): AutomationError {
  if (name === 'CanaryFailed') return new CanaryFailedError('http', 'test');
  const Cls = ERROR_CLASSES[name] as unknown as new (message: string) => AutomationError;
  return new Cls('test');
}

const camel = (state: string): string => state.charAt(0).toLowerCase() + state.slice(1);
const kebab = (state: string): string => state.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

describe('provision.asl.json ↔ shared/errors.ts', () => {
  it('matches only error names the code defines (besides States.* and Lambda.*)', () => {
    // Prepare
    const matched = new Set<string>([
      ...states.flatMap(([, s]) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals)),
      ...errorChoices().map((c) => c.equals),
    ]);

    // Assess
    const unknown = [...matched].filter((n) => !isBuiltIn(n) && !(ERROR_NAMES as string[]).includes(n));
    expect(unknown).toEqual([]);
  });

  it.each([...TERMINAL_ERROR_NAMES])('routes terminal error %s to a Fail state of that name', (name) => {
    const route = errorChoices().filter((c) => c.state === 'RouteFailure' && c.equals === name);
    expect(route).toEqual([{ state: 'RouteFailure', equals: name, next: name }]);
    expect(asl.States[name]).toMatchObject({ Type: 'Fail', Error: name });
  });

  it('routes every Choice on the error to the Fail state it names, and anything else to ProvisioningFailed', () => {
    const route = asl.States.RouteFailure!;
    for (const rule of errorChoices()) {
      expect(asl.States[rule.next]).toMatchObject({ Type: 'Fail', Error: rule.equals });
    }
    expect(route.Default).toBe('ProvisioningFailed');
    expect(asl.States.ProvisioningFailed).toMatchObject({ Type: 'Fail', Error: 'ProvisioningFailed' });
  });

  it('names every Fail state after the error it reports, and reaches each one from RouteFailure', () => {
    const reachable = new Set([...errorChoices().map((c) => c.next), asl.States.RouteFailure!.Default]);
    for (const [name, state] of states.filter(([, s]) => s.Type === 'Fail')) {
      expect({ name, error: state.Error }).toEqual({ name, error: name });
      expect(reachable.has(name)).toBe(true);
    }
  });

  it.each([...ERROR_NAMES])('retries %s only if the code says it is retryable', (name) => {
    const retried = retriers().some(([, r]) => r.ErrorEquals.includes(name));
    expect({ name, retried }).toEqual({ name, retried: instantiate(name).retryable });
  });

  it('gives every error class a name equal to its key (what ErrorEquals matches)', () => {
    for (const name of ERROR_NAMES) expect(instantiate(name).name).toBe(name);
  });
});

describe('provision.asl.json error handling', () => {
  it.each(forwardTasks.map(([n]) => n))('%s is caught into NotifyFailure with the error at $.error', (name) => {
    expect(asl.States[name]!.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'NotifyFailure' }]);
  });

  it.each(forwardTasks.map(([n]) => n))('%s retries the transient Lambda errors', (name) => {
    const retry = asl.States[name]!.Retry ?? [];
    for (const error of LAMBDA_TRANSIENT) {
      expect({ error, retried: retry.some((r) => r.ErrorEquals.includes(error)) }).toEqual({ error, retried: true });
    }
  });

  it('retries with exponential backoff, a delay cap and full jitter everywhere', () => {
    for (const [state, r] of retriers()) {
      expect({
        state,
        errors: r.ErrorEquals,
        ok: (r.BackoffRate ?? 2) > 1 && r.JitterStrategy === 'FULL' && (r.MaxAttempts ?? 3) > 0,
      }).toEqual({
        state,
        errors: r.ErrorEquals,
        ok: true,
      });
    }
  });

  it('lets only NotifyFailure retry States.ALL', () => {
    const catchAll = retriers()
      .filter(([, r]) => r.ErrorEquals.includes('States.ALL'))
      .map(([s]) => s);
    expect([...new Set(catchAll)]).toEqual(['NotifyFailure']);
  });

  it('keeps the original error when NotifyFailure itself fails, and always goes on to RouteFailure', () => {
    const notify = asl.States.NotifyFailure!;
    expect(notify.Parameters?.['error.$']).toBe('$.error');
    expect(notify.ResultPath).toBeNull();
    expect(notify.Next).toBe('RouteFailure');
    expect(notify.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.notifyError', Next: 'RouteFailure' }]);
  });

  it('bounds every Task and the whole execution in time', () => {
    expect(asl.TimeoutSeconds).toBeGreaterThan(0);
    for (const [name, state] of tasks) expect({ name, timeout: state.TimeoutSeconds ?? 0 }).toEqual({ name, timeout: expect.any(Number) });
  });
});

describe('provision.asl.json wait loops', () => {
  const waits = states.filter(([, s]) => s.Type === 'Wait');

  it('has a wait loop for certificates, the load balancer and DNS', () => {
    expect(waits.map(([n]) => n).sort()).toEqual(['WaitForCertificates', 'WaitForDnsChange', 'WaitForLoadBalancer']);
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

describe('provision.asl.json ↔ functions/ ↔ serverless.yml (one name per unit)', () => {
  const keys = taskFunctionKeys(asl);

  it.each(tasks.map(([n]) => n))('%s is function %s at functions/<kebab>/handler.ts', (state) => {
    const key = keys[state]!;
    expect(key).toBe(camel(state));
    expect(existsSync(join(ROOT, 'functions', kebab(state), 'handler.ts'))).toBe(true);
    expect(serverless.functions[key]?.handler).toBe(`functions/${kebab(state)}/handler.handler`);
  });

  it('deploys exactly the functions the ASLs call, plus the lifecycle triggers', () => {
    const deprovision = taskFunctionKeys(readRawDefinition(join(ROOT, 'statemachine/deprovision.asl.json')));
    const triggers = ['scheduledCanary', 'namespaceEvents', 'sweep'];
    const expected = [...new Set([...Object.values(keys), ...Object.values(deprovision), ...triggers])].sort();
    expect(Object.keys(serverless.functions).sort()).toEqual(expected);
  });

  it.each(tasks.map(([n]) => n))('%s: Lambda times out before the Task does', (state) => {
    const fn = serverless.functions[keys[state]!]!;
    const lambdaTimeout = fn.timeout ?? serverless.provider.timeout ?? 6;
    expect(lambdaTimeout).toBeLessThan((asl.States[state] as AslState).TimeoutSeconds ?? 60);
  });

  it('loads the definition from the file, validated, on nodejs22.x', () => {
    const machines = Object.values(serverless.stepFunctions.stateMachines);
    expect(machines.map((m) => m.definition)).toEqual(['${file(statemachine/provision.asl.json)}', '${file(statemachine/deprovision.asl.json)}']);
    expect(serverless.stepFunctions.validate).toBe(true);
    expect(serverless.provider.runtime).toBe('nodejs22.x');
  });

  it('is JSONPath only (aws-local-stepfunctions silently ignores JSONata)', () => {
    const text = JSON.stringify(asl);
    expect(text).not.toMatch(/"QueryLanguage"\s*:\s*"JSONata"/);
    expect(text).not.toContain('{%');
    for (const [name, state] of tasks) {
      expect({ name, resource: Object.keys(state.Resource as object) }).toEqual({ name, resource: ['Fn::GetAtt'] });
    }
  });
});
