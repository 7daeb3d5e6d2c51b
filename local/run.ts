/**
 * Runs `statemachine/provision.asl.json` (or any JSONPath definition) on this
 * machine with `aws-local-stepfunctions`: the CLI, the state-machine tests
 * and the demo all go through {@link runStateMachine}, so they exercise the
 * very definition that is deployed.
 *
 * What the local run keeps faithful to Step Functions + Lambda:
 *
 * | Lambda / Step Functions in AWS                       | here                                                     |
 * |------------------------------------------------------|----------------------------------------------------------|
 * | `Resource` is a Lambda ARN (`Fn::GetAtt` in the file) | a fake ARN per function key; the handler runs in-process |
 * |                                                      |   (`tasks.ts`), or from its packaged zip in a process    |
 * |                                                      |   of its own (`packaged.ts`, the end-to-end tests)       |
 * | the payload crosses the wire as JSON                 | arguments and results are JSON round-tripped             |
 * | a thrown error becomes `{Error: errorType, Cause}`   | `Error` = `error.name`; `Cause` = the Lambda runtime's   |
 * |   with Cause = `{"errorType","errorMessage","trace"}` |   JSON string (see `lambdaErrorCause` in `lambda.ts`)    |
 * | a result over 256 KiB: `States.DataLimitExceeded`    | same, and `States.ALL` does not catch it                 |
 * | `$$.Execution.Name` / `.Id`                          | set from `executionName` (default: a UUID)               |
 * | Wait `SecondsPath` must be an integer ≥ 0            | checked even when waits are skipped or scaled            |
 *
 * Not covered (limits of the library): JSONata, HeartbeatSeconds, `Assign`,
 * distributed Map. The definition is JSONPath only.
 *
 * The parts live beside this module: `definition.ts` (loading the file),
 * `lambda.ts` (a Task call as Lambda shapes it), `waits.ts` (Wait overrides
 * and `SecondsPath` checks), `library.ts` (everything that touches the
 * library, and why its version is pinned), `events.ts` (what a run reports),
 * `progress.ts` (the CLI's lines), `tasks.ts` (the project's handlers,
 * in-process), `packaged.ts` (the packaged functions, each in its own process).
 */
import { randomUUID } from 'node:crypto';
import type { AslDefinition } from './definition';
import { ExecutionRecorder, type RunError, type RunEvent, type StateRecord } from './events';
import { asLambdaTask, type TaskHandler } from './lambda';
import { assertLibraryRuntime, settle, startExecution, type ExecutionStatus, type LibraryExecution } from './library';
import { waitTimeOverrides, type WaitMode } from './waits';

/** What {@link runStateMachine} runs, and how. */
export interface RunStateMachineOptions {
  /** A local definition (`loadDefinition` in `definition.ts`); Resources must be ARNs. */
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
  waitSeconds?: WaitMode;
  /** Overrides every Retry interval (ms; 0 = retry at once). Default: the definition's backoff with jitter. */
  retryIntervalMs?: number;
  /** Called for every event as it happens (the CLI prints them with `formatStateEvent` from `progress.ts`). */
  onEvent?: (event: RunEvent) => void;
  /** Aborts the execution (Ctrl-C in the CLI). */
  signal?: AbortSignal;
}

/** How a run ended and what happened on the way. */
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

function assertWaitMode(mode: WaitMode): void {
  if (mode !== 'real' && (!Number.isFinite(mode) || mode < 0)) {
    throw new TypeError(`waitSeconds must be 'real' or a number >= 0, got ${String(mode)}`);
  }
}

/** The Task states, each with a local handler and an ARN Resource; else a TypeError naming what is wrong. */
function localTaskNames(definition: AslDefinition, handlers: Record<string, TaskHandler>): string[] {
  const taskNames = Object.entries(definition.States)
    .filter(([, s]) => s.Type === 'Task')
    .map(([n]) => n);
  const missing = taskNames.filter((n) => typeof handlers[n] !== 'function');
  if (missing.length > 0) {
    // Without a handler the library would invoke the ARN in real AWS.
    throw new TypeError(`no local handler for Task state(s): ${missing.join(', ')}`);
  }
  for (const name of taskNames) {
    if (typeof definition.States[name]!.Resource !== 'string') {
      throw new TypeError(`Task ${name}: Resource is not an ARN; load the definition with loadDefinition()/toLocalDefinition()`);
    }
  }
  return taskNames;
}

function retryIntervalOverrides(definition: AslDefinition, retryIntervalMs: number | undefined): Record<string, number> {
  const overrides: Record<string, number> = {};
  if (retryIntervalMs === undefined) return overrides;
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Retry && state.Retry.length > 0) overrides[name] = retryIntervalMs;
  }
  return overrides;
}

/** Starts the execution with every local override in place. */
function start(options: RunStateMachineOptions, taskNames: string[], executionName: string, waitMode: WaitMode): LibraryExecution {
  const { definition, handlers } = options;
  // Each Task's latest result, read by the Wait overrides that check SecondsPath.
  const lastResult = new Map<string, unknown>();
  const taskResourceLocalHandlers = Object.fromEntries(
    taskNames.map((name) => [name, asLambdaTask(name, handlers[name]!, (json) => lastResult.set(name, json))]),
  );
  return startExecution(definition, options.input, executionName, {
    taskResourceLocalHandlers,
    waitTimeOverrides: waitTimeOverrides(definition, waitMode, lastResult),
    retryIntervalOverrides: retryIntervalOverrides(definition, options.retryIntervalMs),
  });
}

/** The result once the execution has ended and its log has been read. */
function toResult(
  definition: AslDefinition,
  executionName: string,
  recorder: ExecutionRecorder,
  ended: { status: ExecutionStatus; output?: unknown },
): RunResult {
  const { status } = ended;
  const durationMs = Date.now() - recorder.startedAt;
  recorder.closeOpenVisits();
  const result: RunResult = { status, executionName, states: recorder.states, events: recorder.events, durationMs };
  if (status === 'SUCCEEDED') result.output = ended.output;
  if (status === 'FAILED') {
    result.error = recorder.executionError ?? { name: 'Error', cause: 'execution failed' };
    if (recorder.failState) result.failState = recorder.failState;
  }
  if (status === 'TIMED_OUT')
    result.error = { name: 'States.Timeout', cause: `execution exceeded TimeoutSeconds (${definition.TimeoutSeconds ?? '?'} s)` };
  if (status === 'ABORTED') result.error = { name: 'ExecutionAborted', cause: 'the execution was aborted' };
  return result;
}

/**
 * Runs a definition with the given Task handlers (in-process from `tasks.ts`,
 * or packaged functions from `packaged.ts`) and collects what happened.
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
  assertLibraryRuntime();
  const executionName = options.executionName ?? randomUUID();
  assertExecutionName(executionName);
  const waitMode = options.waitSeconds ?? 'real';
  assertWaitMode(waitMode);
  const taskNames = localTaskNames(options.definition, options.handlers);

  const execution = start(options, taskNames, executionName, waitMode);
  const onAbort = (): void => execution.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) execution.abort();

  let listenerError: unknown;
  const recorder = new ExecutionRecorder(options.definition, executionName, (event) => {
    try {
      options.onEvent?.(event);
    } catch (err) {
      // A broken printer must not leave the execution running unseen: stop it, report after.
      listenerError ??= err;
      execution.abort();
    }
  });
  const consumed = recorder.consume(execution.eventLogs);

  let ended: Awaited<ReturnType<typeof settle>>;
  try {
    ended = await settle(execution.result);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  await consumed;
  if (listenerError !== undefined) throw listenerError;
  return toResult(options.definition, executionName, recorder, ended);
}
