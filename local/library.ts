/**
 * The one module that drives aws-local-stepfunctions.
 *
 * The package is pinned to an exact version in package.json because the
 * runner relies on internals of that version, not on its documented API:
 *
 * - `StateExecutor#executeWaitState` reads `overrides.waitTimeOverrides[stateName]`
 *   afresh on every visit of a Wait, so a getter there can compute the wait
 *   from the latest Task result (see `waits.ts`);
 * - `StateExecutor#shouldRetry` / `#catchError` read `isRetryable` /
 *   `isCatchable` off any thrown error (the contract of its internal
 *   `RuntimeError`), which {@link StatesError} uses so
 *   `States.DataLimitExceeded` escapes `States.ALL`;
 * - `processResultPath` treats `"ResultPath": "$"` as a field named `$`,
 *   which {@link forLibrary} works around by dropping the field;
 * - the entries of `eventLogs` have the shape of its unexported `EventLog`
 *   type, mirrored by {@link LibraryEvent}.
 *
 * Upgrading means re-reading those four places in the new build and running
 * the state-machine tests.
 */
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, LOCAL_STATE_MACHINE_NAME, type AslCatcher, type AslDefinition, type AslState } from './definition';

/** How an execution ended. */
export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** What the library emits (its EventLog type is not exported). */
export interface LibraryEvent {
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

/**
 * An error the local runner raises the way Step Functions would. The library
 * reads `isRetryable` / `isCatchable` (its RuntimeError contract), so
 * `States.DataLimitExceeded` escapes `States.ALL` as it does in AWS.
 */
export class StatesError extends Error {
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

const NODE_22_HINT =
  'aws-local-stepfunctions needs Node >= 22 (Promise.withResolvers); run through npm scripts or PATH=$PWD/node_modules/.bin:$PATH';

/** Throws a hint to use the project's Node when this one lacks what the library needs. */
export function assertLibraryRuntime(): void {
  if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== 'function') {
    throw new Error(NODE_22_HINT);
  }
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

/** What the runner overrides in the library: Task calls, Wait durations, Retry intervals. */
export interface LibraryOverrides {
  /** By Task state name: the in-process stand-in for the Lambda function. */
  taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>>;
  /** By Wait state name: milliseconds to wait (may be getters, read on every visit). */
  waitTimeOverrides: Record<string, number>;
  /** By state name: milliseconds before every retry. */
  retryIntervalOverrides: Record<string, number>;
}

/** A started execution, as the library hands it back. */
export interface LibraryExecution {
  abort(): void;
  result: Promise<unknown>;
  eventLogs: AsyncGenerator<LibraryEvent>;
}

/** Starts `definition` with `$$.Execution` and `$$.StateMachine` as a deployed run would have them. */
export function startExecution(
  definition: AslDefinition,
  input: unknown,
  executionName: string,
  overrides: LibraryOverrides,
): LibraryExecution {
  const sm = new StateMachine(forLibrary(definition) as unknown as StateMachineDefinition, { validationOptions: { noValidate: true } });
  const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`;
  const execution = sm.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: overrides.taskResourceLocalHandlers as never,
      waitTimeOverrides: overrides.waitTimeOverrides,
      retryIntervalOverrides: overrides.retryIntervalOverrides,
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
  return execution as unknown as LibraryExecution;
}

/**
 * How the execution ended, from the library's result promise: its three
 * error classes become statuses; anything else is a runner bug and is thrown.
 */
export async function settle(result: Promise<unknown>): Promise<{ status: ExecutionStatus; output?: unknown }> {
  try {
    return { status: 'SUCCEEDED', output: await result };
  } catch (err) {
    if (err instanceof ExecutionError) return { status: 'FAILED' };
    if (err instanceof ExecutionTimeoutError) return { status: 'TIMED_OUT' };
    if (err instanceof ExecutionAbortedError) return { status: 'ABORTED' };
    throw err;
  }
}
