/**
 * Runs `statemachine/provision.asl.json` on this machine with
 * `aws-local-stepfunctions`: the CLI, the state-machine tests and the demo all
 * go through {@link runStateMachine}, so they exercise the very definition that
 * is deployed.
 *
 * What the local run keeps faithful to Step Functions + Lambda:
 *
 * | Lambda / Step Functions in AWS                       | here                                                     |
 * |------------------------------------------------------|----------------------------------------------------------|
 * | `Resource` is a Lambda ARN (`Fn::GetAtt` in the file) | a fake ARN per function key; the handler runs in-process |
 * | the payload crosses the wire as JSON                 | arguments and results are JSON round-tripped             |
 * | a thrown error becomes `{Error: errorType, Cause}`   | `Error` = `error.name`; `Cause` = the Lambda runtime's   |
 * |   with Cause = `{"errorType","errorMessage","trace"}` |   JSON string (see {@link lambdaErrorCause})             |
 * | a result over 256 KiB: `States.DataLimitExceeded`    | same, and `States.ALL` does not catch it                 |
 * | `$$.Execution.Name` / `.Id`                          | set from `executionName` (default: a UUID)               |
 * | Wait `SecondsPath` must be an integer ≥ 0            | checked even when waits are skipped or scaled            |
 *
 * Not covered (library limits, see reference/tooling-facts.md §2): JSONata,
 * HeartbeatSeconds, `Assign`, distributed Map. The definition is JSONPath only.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';

// ------------------------------------------------------------------ definition

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '123456789012';
export const LOCAL_FUNCTION_PREFIX = 'kserve-edge-';
export const LOCAL_STATE_MACHINE_NAME = 'kserve-edge-provision-local';
/** Step Functions' payload quota (input, output, task result). */
export const MAX_PAYLOAD_BYTES = 262_144;
/** Where the provisioning workflow lives, relative to the repository root. */
export const DEFAULT_DEFINITION_PATH = 'statemachine/provision.asl.json';

export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: 'FULL' | 'NONE';
}

export interface AslCatcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

export interface AslChoiceRule {
  Variable?: string;
  Next: string;
  [operator: string]: unknown;
}

/** One state of a JSONPath definition, loosely typed so tests can read any field. */
export interface AslState {
  Type: 'Task' | 'Choice' | 'Wait' | 'Succeed' | 'Fail' | 'Pass' | 'Parallel' | 'Map';
  Comment?: string;
  Resource?: unknown;
  Parameters?: Record<string, unknown>;
  ResultPath?: string | null;
  TimeoutSeconds?: number;
  Retry?: AslRetrier[];
  Catch?: AslCatcher[];
  Choices?: AslChoiceRule[];
  Default?: string;
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
  Error?: string;
  Cause?: string;
  Next?: string;
  End?: boolean;
  [field: string]: unknown;
}

export interface AslDefinition {
  Comment?: string;
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
  [field: string]: unknown;
}

/** The fake Lambda ARN a function key gets in a local definition. */
export function localFunctionArn(functionKey: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${LOCAL_FUNCTION_PREFIX}${functionKey}`;
}

function getAttArnKey(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'Fn::GetAtt') return undefined;
  const att = (value as Record<string, unknown>)['Fn::GetAtt'];
  if (Array.isArray(att) && att.length === 2 && typeof att[0] === 'string' && att[1] === 'Arn') return att[0];
  if (typeof att === 'string' && att.endsWith('.Arn')) return att.slice(0, -'.Arn'.length);
  return undefined;
}

function isIntrinsic(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'));
}

/**
 * Replaces every `{"Fn::GetAtt": ["<functionKey>", "Arn"]}` with
 * {@link localFunctionArn}. Any other CloudFormation intrinsic is an error:
 * nothing could resolve it locally.
 *
 * @example
 *   toLocalDefinition({ StartAt: 'A', States: { A: { Type: 'Task', Resource: { 'Fn::GetAtt': ['doA', 'Arn'] }, End: true } } })
 *   // Resource: 'arn:aws:lambda:us-east-1:123456789012:function:kserve-edge-doA'
 */
export function toLocalDefinition(raw: unknown): AslDefinition {
  const walk = (value: unknown, path: string): unknown => {
    const key = getAttArnKey(value);
    if (key !== undefined) return localFunctionArn(key);
    if (isIntrinsic(value)) {
      throw new TypeError(`cannot resolve the CloudFormation intrinsic at ${path} locally: ${JSON.stringify(value)}`);
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${path}[${i}]`));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, `${path}.${k}`)]));
    }
    return value;
  };
  const out = walk(raw, '$');
  if (out === null || typeof out !== 'object' || !('States' in out) || !('StartAt' in out)) {
    throw new TypeError('not a state machine definition: StartAt and States are required');
  }
  return out as AslDefinition;
}

/**
 * State name → serverless function key, read from the `Fn::GetAtt` of every
 * Task of a raw (undeployed) definition.
 */
export function taskFunctionKeys(raw: AslDefinition): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, state] of Object.entries(raw.States)) {
    if (state.Type !== 'Task') continue;
    const key = getAttArnKey(state.Resource);
    if (key === undefined) throw new TypeError(`Task ${name}: Resource is not {"Fn::GetAtt": [<functionKey>, "Arn"]}`);
    out[name] = key;
  }
  return out;
}

/** Walks up from this module's folder to the first folder holding `relative`. */
function findUpwards(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const fromCwd = resolve(relative);
  if (existsSync(fromCwd)) return fromCwd;
  throw new Error(`cannot find ${relative} above ${dirname(fileURLToPath(import.meta.url))} or in ${process.cwd()}`);
}

/** Reads an ASL file as written (with its `Fn::GetAtt` Resources). */
export function readRawDefinition(path: string = DEFAULT_DEFINITION_PATH): AslDefinition {
  const file = isAbsolute(path) ? path : path === DEFAULT_DEFINITION_PATH ? findUpwards(path) : resolve(path);
  return JSON.parse(readFileSync(file, 'utf8')) as AslDefinition;
}

/**
 * Loads the state machine ready for a local run: the file's Task Resources
 * become fake Lambda ARNs (`arn:aws:lambda:us-east-1:123456789012:function:kserve-edge-<key>`).
 * The default path is found from this module upwards, so it works from the
 * sources, the tests and the bundled CLI alike.
 */
export function loadDefinition(path: string = DEFAULT_DEFINITION_PATH): AslDefinition {
  return toLocalDefinition(readRawDefinition(path));
}

// ------------------------------------------------------------------ errors

/** What the Lambda Node.js runtime reports for a thrown value (aws-lambda-nodejs-runtime-interface-client `Errors`). */
export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/**
 * The `Cause` Step Functions records when a Lambda task throws: the runtime's
 * error payload as a JSON string. `Error` (what `ErrorEquals` matches) is
 * `errorType`, i.e. `error.name`.
 */
export function lambdaErrorCause(thrown: unknown): LambdaErrorPayload {
  if (thrown instanceof Error) {
    return { errorType: thrown.name, errorMessage: thrown.message, trace: (thrown.stack ?? '').split('\n') };
  }
  return { errorType: typeof thrown, errorMessage: String(thrown), trace: [] };
}

/**
 * Reads `{errorType, errorMessage}` back out of a Lambda task's `Cause`;
 * anything else comes back as the message.
 *
 * @example
 *   parseErrorCause('{"errorType":"CanaryFailed","errorMessage":"http: 503"}') // { errorType: 'CanaryFailed', errorMessage: 'http: 503' }
 */
export function parseErrorCause(cause: unknown): { errorType?: string; errorMessage: string } {
  if (typeof cause !== 'string') return { errorMessage: cause === undefined ? '' : JSON.stringify(cause) };
  try {
    const parsed = JSON.parse(cause) as unknown;
    if (parsed !== null && typeof parsed === 'object' && 'errorMessage' in parsed) {
      const p = parsed as { errorType?: unknown; errorMessage?: unknown };
      return {
        ...(typeof p.errorType === 'string' ? { errorType: p.errorType } : {}),
        errorMessage: String(p.errorMessage),
      };
    }
  } catch {
    // Not JSON: a Fail state's Cause or a runtime message, shown as it is.
  }
  return { errorMessage: cause };
}

/**
 * An error the local runner raises the way Step Functions would. The library
 * reads `isRetryable` / `isCatchable` (its RuntimeError contract), so
 * `States.DataLimitExceeded` escapes `States.ALL` as it does in AWS.
 */
class StatesError extends Error {
  constructor(
    name: string,
    message: string,
    readonly isRetryable: boolean,
    readonly isCatchable: boolean,
  ) {
    super(message);
    this.name = name;
  }
}

// ------------------------------------------------------------------ run

/** A Task handler as the runner calls it: JSON in, JSON out, throw to fail. */
export type TaskHandler = (input: unknown) => Promise<unknown> | unknown;

export interface RunStateMachineOptions {
  /** A local definition ({@link loadDefinition}); Resources must be ARNs. */
  definition: AslDefinition;
  /** One handler per Task state, by state name. A Task without one is an error (it would call real Lambda). */
  handlers: Record<string, TaskHandler>;
  input: unknown;
  /** `$$.Execution.Name`; default a UUID, as the console does. */
  executionName?: string;
  /**
   * `'real'` (default) waits as the definition says; `0` skips every Wait;
   * another number scales it (0.1 = ten times faster). `SecondsPath` values
   * are validated in every mode.
   */
  waitSeconds?: 'real' | number;
  /** Overrides every Retry interval (ms; 0 = retry at once). Default: the definition's backoff with jitter. */
  retryIntervalMs?: number;
  /** Called for every event as it happens (the CLI prints them with {@link formatStateEvent}). */
  onEvent?: (event: RunEvent) => void;
  /** Aborts the execution (Ctrl-C in the CLI). */
  signal?: AbortSignal;
}

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
export type StateStatus = 'RUNNING' | 'SUCCEEDED' | 'CAUGHT' | 'FAILED';

export interface RunError {
  /** What `ErrorEquals` matches: the thrown `error.name`, a Fail state's `Error`, or `States.*`. */
  name: string;
  /** Step Functions' `Cause`: for a Lambda error the runtime's JSON payload, see {@link parseErrorCause}. */
  cause: string;
}

/** One visit of one state. A state entered three times appears three times. */
export interface StateRecord {
  name: string;
  type: AslState['Type'];
  /** ISO timestamp. */
  startedAt: string;
  durationMs: number;
  status: StateStatus;
  /** Retries of this visit (all retriers together). */
  retries: number;
  /** The last error of this visit: the caught one, the one that failed the run, or the last retried one. */
  error?: RunError;
}

interface EventBase {
  /** Epoch ms. */
  at: number;
}

export type RunEvent =
  | (EventBase & { type: 'ExecutionStarted'; executionName: string; input: unknown })
  | (EventBase & {
      type: 'StateEntered';
      state: string;
      stateType: AslState['Type'];
      input: unknown;
      /** Wait states: the seconds the definition asks for (before any override). */
      waitSeconds?: number;
    })
  | (EventBase & { type: 'StateSucceeded'; state: string; stateType: AslState['Type']; durationMs: number; output: unknown })
  | (EventBase & { type: 'StateRetrying'; state: string; error: RunError; attempt: number })
  | (EventBase & { type: 'StateCaught'; state: string; error: RunError; next: string; durationMs: number })
  | (EventBase & { type: 'StateFailed'; state: string; stateType: AslState['Type']; error: RunError; durationMs: number })
  | (EventBase & { type: 'ExecutionSucceeded'; durationMs: number; output: unknown })
  | (EventBase & { type: 'ExecutionFailed'; durationMs: number; error: RunError; failState?: string })
  | (EventBase & { type: 'ExecutionTimedOut'; durationMs: number })
  | (EventBase & { type: 'ExecutionAborted'; durationMs: number });

export interface RunResult {
  status: ExecutionStatus;
  executionName: string;
  output?: unknown;
  error?: RunError;
  /** The Fail state the run ended in, if it ended in one. */
  failState?: string;
  states: StateRecord[];
  events: RunEvent[];
  durationMs: number;
}

/** What the library emits (its EventLog type is not exported). */
interface LibraryEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: AslState['Type']; input?: unknown; output?: unknown };
  Error?: string;
  Cause?: unknown;
  retry?: { attempt: number };
  catch?: { catcher: AslCatcher };
  input?: unknown;
  output?: unknown;
  index?: number;
}

const EXECUTION_NAME_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;
const isControlCharacter = (c: string): boolean => {
  const code = c.charCodeAt(0);
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
};

/** AWS rules for execution names: 1-80 characters, none of whitespace, brackets, wildcards, control characters or `"#%\^|~`$&,;:/`. */
export function assertExecutionName(name: string): void {
  if (name.length < 1 || name.length > 80 || EXECUTION_NAME_FORBIDDEN.test(name) || [...name].some(isControlCharacter)) {
    throw new TypeError(`invalid execution name "${name}": 1-80 characters, no whitespace, brackets, wildcards or "#%\\^|~\`$&,;:/`);
  }
}

function jsonRoundTrip(value: unknown): unknown {
  // Lambda serialises the handler's return value; `undefined` arrives as null.
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as unknown);
}

function stringifyCause(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return cause === undefined ? '' : JSON.stringify(cause);
}

/** Reads `$.a.b.c` (plain dotted paths only) from a value. */
function readDottedPath(path: string, value: unknown): { found: boolean; value?: unknown } {
  if (path === '$') return { found: true, value };
  if (!/^\$(\.[A-Za-z0-9_-]+)+$/.test(path)) return { found: false };
  let cur: unknown = value;
  for (const seg of path.slice(2).split('.')) {
    if (cur === null || typeof cur !== 'object' || !(seg in cur)) return { found: false };
    cur = (cur as Record<string, unknown>)[seg];
  }
  return { found: true, value: cur };
}

/**
 * The Task whose result a Wait's `SecondsPath` reads: the one the Wait loops
 * back to, whose `ResultPath` is a prefix of the `SecondsPath`.
 */
function feedingTask(def: AslDefinition, waitName: string): { task: string; path: string } | undefined {
  const wait = def.States[waitName];
  if (!wait?.SecondsPath) return undefined;
  const candidates = Object.entries(def.States).filter(
    ([, s]) =>
      s.Type === 'Task' &&
      typeof s.ResultPath === 'string' &&
      (wait.SecondsPath === s.ResultPath || wait.SecondsPath!.startsWith(`${s.ResultPath}.`)),
  );
  // The Task the Wait loops back to; else the most specific ResultPath.
  candidates.sort(([, a], [, b]) => (b.ResultPath as string).length - (a.ResultPath as string).length);
  const preferred = candidates.find(([name]) => name === wait.Next) ?? candidates[0];
  if (!preferred) return undefined;
  const resultPath = preferred[1].ResultPath as string;
  const rest = wait.SecondsPath.slice(resultPath.length);
  return { task: preferred[0], path: `$${rest}` };
}

function checkWaitSeconds(waitName: string, path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 99_999_999) {
    throw new StatesError(
      'States.Runtime',
      `Wait ${waitName}: SecondsPath ${path} evaluated to ${JSON.stringify(value)}, but expected an integer 0..99999999`,
      false,
      false,
    );
  }
  return value;
}

const libraryDefinitions = new WeakMap<object, AslDefinition>();
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The definition as the library needs it to behave like Step Functions.
 *
 * aws-local-stepfunctions 3.0.0 treats `"ResultPath": "$"` as a field named
 * `$` (`processResultPath` strips only `"$."`), so the result lands in
 * `input["$"]` instead of replacing the input. In AWS, `"$"` and an absent
 * ResultPath mean the same thing, so the field is dropped here (states and
 * catchers alike). A top-level TimeoutSeconds beyond Node's timer range
 * (~24.8 days) is dropped too rather than firing at once.
 */
function forLibrary(def: AslDefinition): AslDefinition {
  const cached = libraryDefinitions.get(def);
  if (cached) return cached;
  const copy = structuredClone(def);
  // The library arms one setTimeout for the whole run; past 2^31-1 ms Node fires it after 1 ms.
  if (typeof copy.TimeoutSeconds === 'number' && copy.TimeoutSeconds * 1000 > MAX_TIMER_MS) delete copy.TimeoutSeconds;
  for (const state of Object.values(copy.States)) {
    if (state.ResultPath === '$') delete state.ResultPath;
    for (const catcher of state.Catch ?? []) {
      if (catcher.ResultPath === '$') delete catcher.ResultPath;
    }
  }
  // Validated once per definition; later runs skip asl-validator.
  new StateMachine(copy as unknown as StateMachineDefinition);
  libraryDefinitions.set(def, copy);
  return copy;
}

const NODE_22_HINT =
  'aws-local-stepfunctions needs Node >= 22 (Promise.withResolvers); run through npm scripts or PATH=$PWD/node_modules/.bin:$PATH';

/**
 * Runs a definition with in-process Task handlers and collects what happened.
 * Never throws for a failed execution: the result says how it ended.
 *
 * @example
 *   const result = await runStateMachine({
 *     definition: loadDefinition(),
 *     handlers: { ValidateRequest: async (input) => ({ ...input }) , ... },
 *     input: request,
 *     waitSeconds: 0,
 *     onEvent: (e) => { const line = formatStateEvent(e); if (line) console.log(line); },
 *   });
 *   if (result.status !== 'SUCCEEDED') console.error(result.failState, result.error);
 */
export async function runStateMachine(options: RunStateMachineOptions): Promise<RunResult> {
  const { definition, handlers } = options;
  if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== 'function') {
    throw new Error(NODE_22_HINT);
  }
  const executionName = options.executionName ?? randomUUID();
  assertExecutionName(executionName);
  const waitMode = options.waitSeconds ?? 'real';
  if (waitMode !== 'real' && (!Number.isFinite(waitMode) || waitMode < 0)) {
    throw new TypeError(`waitSeconds must be 'real' or a number >= 0, got ${String(waitMode)}`);
  }

  const taskNames = Object.entries(definition.States)
    .filter(([, s]) => s.Type === 'Task')
    .map(([n]) => n);
  const missing = taskNames.filter((n) => typeof handlers[n] !== 'function');
  if (missing.length > 0) {
    // Without a handler the library would invoke the ARN in real AWS.
    throw new TypeError(`no local handler for Task state(s): ${missing.join(', ')}`);
  }
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task' && typeof state.Resource !== 'string') {
      throw new TypeError(`Task ${name}: Resource is not an ARN; load the definition with loadDefinition()/toLocalDefinition()`);
    }
  }

  // ---- task handlers: JSON in and out, errors shaped as Lambda reports them
  const lastResult = new Map<string, unknown>();
  const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const name of taskNames) {
    const handler = handlers[name]!;
    taskResourceLocalHandlers[name] = async (input: unknown) => {
      let result: unknown;
      try {
        result = await handler(jsonRoundTrip(input));
      } catch (thrown) {
        const payload = lambdaErrorCause(thrown);
        // `name` is what Retry/Catch match; the message becomes the Cause, as in AWS.
        throw Object.assign(new Error(JSON.stringify(payload)), { name: payload.errorType });
      }
      const json = jsonRoundTrip(result);
      const bytes = Buffer.byteLength(JSON.stringify(json), 'utf8');
      if (bytes > MAX_PAYLOAD_BYTES) {
        throw new StatesError(
          'States.DataLimitExceeded',
          `The state/task '${name}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${MAX_PAYLOAD_BYTES}).`,
          false,
          false,
        );
      }
      lastResult.set(name, json);
      return json;
    };
  }

  // ---- waits: skipped or scaled, but SecondsPath still validated
  const waitTimeOverrides: Record<string, number> = {};
  if (waitMode !== 'real') {
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Wait') continue;
      const feed = feedingTask(definition, name);
      Object.defineProperty(waitTimeOverrides, name, {
        enumerable: true,
        get(): number | undefined {
          let seconds: number | undefined;
          if (typeof state.Seconds === 'number') seconds = state.Seconds;
          else if (feed && lastResult.has(feed.task)) {
            const read = readDottedPath(feed.path, lastResult.get(feed.task));
            seconds = checkWaitSeconds(name, state.SecondsPath!, read.found ? read.value : undefined);
          }
          if (waitMode === 0) return 0;
          // Timestamps, or a SecondsPath we cannot trace to a Task: wait for real.
          return seconds === undefined ? undefined : seconds * waitMode * 1000;
        },
      });
    }
  }

  const retryIntervalOverrides: Record<string, number> = {};
  if (options.retryIntervalMs !== undefined) {
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Retry && state.Retry.length > 0) retryIntervalOverrides[name] = options.retryIntervalMs;
    }
  }

  const sm = new StateMachine(forLibrary(definition) as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } });

  const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`;
  const execution = sm.run(options.input as never, {
    overrides: {
      taskResourceLocalHandlers: taskResourceLocalHandlers as never,
      waitTimeOverrides,
      retryIntervalOverrides,
    },
    context: {
      Execution: {
        Id: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:execution:${LOCAL_STATE_MACHINE_NAME}:${executionName}`,
        Name: executionName,
        RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${LOCAL_STATE_MACHINE_NAME}`,
        RedriveCount: 0,
      },
      StateMachine: { Id: stateMachineArn, Name: LOCAL_STATE_MACHINE_NAME },
    },
  });

  const onAbort = (): void => execution.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) execution.abort();

  // ---- events → state records + normalised events
  const events: RunEvent[] = [];
  const states: StateRecord[] = [];
  const open = new Map<string, StateRecord>();
  let startedAt = Date.now();
  let failState: string | undefined;
  let executionError: RunError | undefined;
  let listenerError: unknown;

  const emit = (event: RunEvent): void => {
    events.push(event);
    if (!options.onEvent) return;
    try {
      options.onEvent(event);
    } catch (err) {
      // A broken printer must not leave the execution running unseen: stop it, report after.
      listenerError ??= err;
      execution.abort();
    }
  };

  const consume = (async (): Promise<void> => {
    for await (const raw of execution.eventLogs as AsyncGenerator<LibraryEvent>) {
      const at = raw.timestamp;
      const name = raw.state?.name ?? '';
      const record = open.get(name);
      switch (raw.type) {
        case 'ExecutionStarted':
          startedAt = at;
          emit({ type: 'ExecutionStarted', at, executionName, input: raw.input });
          break;
        case 'StateEntered': {
          const rec: StateRecord = {
            name,
            type: raw.state!.type,
            startedAt: new Date(at).toISOString(),
            durationMs: 0,
            status: 'RUNNING',
            retries: 0,
          };
          states.push(rec);
          open.set(name, rec);
          const state = definition.States[name];
          let waitSeconds: number | undefined;
          if (state?.Type === 'Wait') {
            if (typeof state.Seconds === 'number') waitSeconds = state.Seconds;
            else if (state.SecondsPath) {
              const read = readDottedPath(state.SecondsPath, raw.state!.input);
              if (read.found && typeof read.value === 'number') waitSeconds = read.value;
            }
          }
          emit({
            type: 'StateEntered',
            at,
            state: name,
            stateType: rec.type,
            input: raw.state!.input,
            ...(waitSeconds === undefined ? {} : { waitSeconds }),
          });
          break;
        }
        case 'StateFailed':
          if (record) record.error = { name: raw.Error ?? 'Error', cause: stringifyCause(raw.Cause) };
          break;
        case 'StateRetried':
          if (record) {
            record.retries += 1;
            emit({
              type: 'StateRetrying',
              at,
              state: name,
              error: record.error ?? { name: 'Error', cause: '' },
              attempt: raw.retry?.attempt ?? record.retries,
            });
          }
          break;
        case 'StateCaught':
          if (record) {
            record.status = 'CAUGHT';
            record.durationMs = at - Date.parse(record.startedAt);
            emit({
              type: 'StateCaught',
              at,
              state: name,
              error: record.error ?? { name: 'Error', cause: '' },
              next: raw.catch?.catcher.Next ?? '',
              durationMs: record.durationMs,
            });
          }
          break;
        case 'StateExited':
          if (record) {
            record.durationMs = at - Date.parse(record.startedAt);
            if (record.status === 'RUNNING') {
              record.status = 'SUCCEEDED';
              if (record.retries === 0) delete record.error;
              emit({
                type: 'StateSucceeded',
                at,
                state: name,
                stateType: record.type,
                durationMs: record.durationMs,
                output: raw.state?.output,
              });
            }
            open.delete(name);
          }
          break;
        case 'ExecutionFailed': {
          executionError = { name: raw.Error ?? 'Error', cause: stringifyCause(raw.Cause) };
          const last = states[states.length - 1];
          if (last && last.status === 'RUNNING') {
            last.status = 'FAILED';
            last.durationMs = at - Date.parse(last.startedAt);
            last.error = executionError;
            if (last.type === 'Fail') failState = last.name;
            emit({ type: 'StateFailed', at, state: last.name, stateType: last.type, error: executionError, durationMs: last.durationMs });
          }
          emit({ type: 'ExecutionFailed', at, durationMs: at - startedAt, error: executionError, ...(failState ? { failState } : {}) });
          break;
        }
        case 'ExecutionSucceeded':
          emit({ type: 'ExecutionSucceeded', at, durationMs: at - startedAt, output: raw.output });
          break;
        case 'ExecutionTimeout':
          emit({ type: 'ExecutionTimedOut', at, durationMs: at - startedAt });
          break;
        case 'ExecutionAborted':
          emit({ type: 'ExecutionAborted', at, durationMs: at - startedAt });
          break;
        default:
          // Map/Parallel iteration events: this workflow has none; kept out of the record.
          break;
      }
    }
  })();

  let status: ExecutionStatus;
  let output: unknown;
  try {
    output = await execution.result;
    status = 'SUCCEEDED';
  } catch (err) {
    if (err instanceof ExecutionError) status = 'FAILED';
    else if (err instanceof ExecutionTimeoutError) status = 'TIMED_OUT';
    else if (err instanceof ExecutionAbortedError) status = 'ABORTED';
    else throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  await consume;
  if (listenerError !== undefined) throw listenerError;

  const durationMs = Date.now() - startedAt;
  for (const rec of states) {
    if (rec.status === 'RUNNING') {
      rec.durationMs = Date.now() - Date.parse(rec.startedAt);
      rec.status = 'FAILED';
    }
  }
  const result: RunResult = { status, executionName, states, events, durationMs };
  if (status === 'SUCCEEDED') result.output = output;
  if (status === 'FAILED') {
    result.error = executionError ?? { name: 'Error', cause: 'execution failed' };
    if (failState) result.failState = failState;
  }
  if (status === 'TIMED_OUT')
    result.error = { name: 'States.Timeout', cause: `execution exceeded TimeoutSeconds (${definition.TimeoutSeconds ?? '?'} s)` };
  if (status === 'ABORTED') result.error = { name: 'ExecutionAborted', cause: 'the execution was aborted' };
  return result;
}

// ------------------------------------------------------------------ printing

/** `850ms`, `1.2s`, `2m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(totalSeconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

function describeError(error: RunError): string {
  const { errorMessage } = parseErrorCause(error.cause);
  const firstLine = errorMessage.split('\n')[0] ?? '';
  return firstLine === '' ? error.name : `${error.name}: ${firstLine.length > 200 ? `${firstLine.slice(0, 197)}...` : firstLine}`;
}

export interface FormatOptions {
  /** Also print Choice states (hidden by default: they only route). */
  verbose?: boolean;
}

/**
 * One line for the CLI per event worth showing, or `undefined`.
 *
 * @example
 *   ▶ CheckCertificates
 *   ✔ CheckCertificates 1.2s
 *   ⏸ WaitForCertificates 5s
 *   ↻ retry EnsureCertificates after Throttled: Rate exceeded (attempt 1)
 *   ✖ RunCanary CanaryFailed: http: 503 → NotifyFailure
 *   ✖ CertificateTimeout (Fail)
 */
export function formatStateEvent(event: RunEvent, options: FormatOptions = {}): string | undefined {
  const hidden = (type: AslState['Type']): boolean => type === 'Choice' && !options.verbose;
  switch (event.type) {
    case 'ExecutionStarted':
      return `▶ execution ${event.executionName}`;
    case 'StateEntered':
      if (hidden(event.stateType)) return undefined;
      if (event.stateType === 'Wait') return `⏸ ${event.state}${event.waitSeconds === undefined ? '' : ` ${event.waitSeconds}s`}`;
      if (event.stateType === 'Fail' || event.stateType === 'Succeed') return undefined;
      return `▶ ${event.state}`;
    case 'StateSucceeded':
      if (hidden(event.stateType) || event.stateType === 'Wait') return undefined;
      if (event.stateType === 'Succeed') return `✔ ${event.state}`;
      return `✔ ${event.state} ${formatDuration(event.durationMs)}`;
    case 'StateRetrying':
      return `  ↻ retry ${event.state} after ${describeError(event.error)} (attempt ${event.attempt})`;
    case 'StateCaught':
      return `✖ ${event.state} ${describeError(event.error)} → ${event.next}`;
    case 'StateFailed':
      return event.stateType === 'Fail' ? `✖ ${event.state} (Fail)` : `✖ ${event.state} ${describeError(event.error)}`;
    case 'ExecutionSucceeded':
      return `✔ execution succeeded in ${formatDuration(event.durationMs)}`;
    case 'ExecutionFailed':
      return `✖ execution failed in ${formatDuration(event.durationMs)}: ${event.failState ?? event.error.name}`;
    case 'ExecutionTimedOut':
      return `✖ execution timed out after ${formatDuration(event.durationMs)}`;
    case 'ExecutionAborted':
      return `✖ execution aborted after ${formatDuration(event.durationMs)}`;
  }
}
