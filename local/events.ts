/**
 * What a local run reports: the library's event log turned into one record
 * per state visit and a stream of normalised events (the CLI prints them,
 * the tests assert on them).
 */
import type { AslDefinition, AslState } from './definition';
import type { LibraryEvent } from './library';
import { requestedWaitSeconds } from './waits';

/** How one visit of a state ended, or `RUNNING` while it lasts. */
export type StateStatus = 'RUNNING' | 'SUCCEEDED' | 'CAUGHT' | 'FAILED';

/** An error as Step Functions records it. */
export interface RunError {
  /** What `ErrorEquals` matches: the thrown `error.name`, a Fail state's `Error`, or `States.*`. */
  name: string;
  /** Step Functions' `Cause`: for a Lambda error the runtime's JSON payload, see `parseErrorCause` in `lambda.ts`. */
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

/** One thing that happened during a run, in the order it happened. */
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

function stringifyCause(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return cause === undefined ? '' : JSON.stringify(cause);
}

/**
 * Turns the library's event log into {@link StateRecord}s and
 * {@link RunEvent}s. Every event is kept in {@link events} and handed to the
 * listener as it happens.
 */
export class ExecutionRecorder {
  /** Every event so far. */
  readonly events: RunEvent[] = [];
  /** Every state visit so far, in the order entered. */
  readonly states: StateRecord[] = [];
  /** Epoch ms of `ExecutionStarted` (until then, when the recorder was made). */
  startedAt = Date.now();
  /** The Fail state the run ended in, if it did. */
  failState: string | undefined;
  /** The error that failed the execution, if it failed. */
  executionError: RunError | undefined;
  private readonly open = new Map<string, StateRecord>();

  constructor(
    private readonly definition: AslDefinition,
    private readonly executionName: string,
    private readonly listener: (event: RunEvent) => void,
  ) {}

  /** Records the whole log; resolves when the library closes it. */
  async consume(eventLogs: AsyncIterable<LibraryEvent>): Promise<void> {
    for await (const raw of eventLogs) this.record(raw);
  }

  /** Records one library event. */
  record(raw: LibraryEvent): void {
    const at = raw.timestamp;
    const name = raw.state?.name ?? '';
    const visit = this.open.get(name);
    switch (raw.type) {
      case 'ExecutionStarted':
        this.startedAt = at;
        this.emit({ type: 'ExecutionStarted', at, executionName: this.executionName, input: raw.input });
        break;
      case 'StateEntered':
        this.entered(raw, at, name);
        break;
      case 'StateFailed':
        if (visit) visit.error = { name: raw.Error ?? 'Error', cause: stringifyCause(raw.Cause) };
        break;
      case 'StateRetried':
        if (visit) this.retried(visit, raw, at);
        break;
      case 'StateCaught':
        if (visit) this.caught(visit, raw, at);
        break;
      case 'StateExited':
        if (visit) this.exited(visit, raw, at);
        break;
      case 'ExecutionFailed':
        this.executionFailed(raw, at);
        break;
      case 'ExecutionSucceeded':
        this.emit({ type: 'ExecutionSucceeded', at, durationMs: at - this.startedAt, output: raw.output });
        break;
      case 'ExecutionTimeout':
        this.emit({ type: 'ExecutionTimedOut', at, durationMs: at - this.startedAt });
        break;
      case 'ExecutionAborted':
        this.emit({ type: 'ExecutionAborted', at, durationMs: at - this.startedAt });
        break;
      default:
        // Map/Parallel iteration events: this workflow has none; kept out of the record.
        break;
    }
  }

  /** Ends every visit still running (the run stopped under it) as `FAILED` now. */
  closeOpenVisits(): void {
    for (const visit of this.states) {
      if (visit.status === 'RUNNING') {
        visit.durationMs = Date.now() - Date.parse(visit.startedAt);
        visit.status = 'FAILED';
      }
    }
  }

  private emit(event: RunEvent): void {
    this.events.push(event);
    this.listener(event);
  }

  private entered(raw: LibraryEvent, at: number, name: string): void {
    const visit: StateRecord = {
      name,
      type: raw.state!.type,
      startedAt: new Date(at).toISOString(),
      durationMs: 0,
      status: 'RUNNING',
      retries: 0,
    };
    this.states.push(visit);
    this.open.set(name, visit);
    const waitSeconds = requestedWaitSeconds(this.definition.States[name], raw.state!.input);
    this.emit({
      type: 'StateEntered',
      at,
      state: name,
      stateType: visit.type,
      input: raw.state!.input,
      ...(waitSeconds === undefined ? {} : { waitSeconds }),
    });
  }

  private retried(visit: StateRecord, raw: LibraryEvent, at: number): void {
    visit.retries += 1;
    this.emit({
      type: 'StateRetrying',
      at,
      state: visit.name,
      error: visit.error ?? { name: 'Error', cause: '' },
      attempt: raw.retry?.attempt ?? visit.retries,
    });
  }

  private caught(visit: StateRecord, raw: LibraryEvent, at: number): void {
    visit.status = 'CAUGHT';
    visit.durationMs = at - Date.parse(visit.startedAt);
    this.emit({
      type: 'StateCaught',
      at,
      state: visit.name,
      error: visit.error ?? { name: 'Error', cause: '' },
      next: raw.catch?.catcher.Next ?? '',
      durationMs: visit.durationMs,
    });
  }

  private exited(visit: StateRecord, raw: LibraryEvent, at: number): void {
    visit.durationMs = at - Date.parse(visit.startedAt);
    if (visit.status === 'RUNNING') {
      visit.status = 'SUCCEEDED';
      if (visit.retries === 0) delete visit.error;
      this.emit({
        type: 'StateSucceeded',
        at,
        state: visit.name,
        stateType: visit.type,
        durationMs: visit.durationMs,
        output: raw.state?.output,
      });
    }
    this.open.delete(visit.name);
  }

  private executionFailed(raw: LibraryEvent, at: number): void {
    const error: RunError = { name: raw.Error ?? 'Error', cause: stringifyCause(raw.Cause) };
    this.executionError = error;
    const last = this.states[this.states.length - 1];
    if (last && last.status === 'RUNNING') {
      last.status = 'FAILED';
      last.durationMs = at - Date.parse(last.startedAt);
      last.error = error;
      if (last.type === 'Fail') this.failState = last.name;
      this.emit({ type: 'StateFailed', at, state: last.name, stateType: last.type, error, durationMs: last.durationMs });
    }
    const failState = this.failState;
    this.emit({ type: 'ExecutionFailed', at, durationMs: at - this.startedAt, error, ...(failState ? { failState } : {}) });
  }
}
