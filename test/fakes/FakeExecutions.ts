/**
 * An in-memory {@link ExecutionsPort} that behaves as Step Functions does for
 * names: a name is taken forever once used; `start` of a taken name answers
 * `exists`. Tests set the status of a run to move it along.
 */
import type { ExecutionStatusName, ExecutionsPort, StartOutcome } from '../../shared/ports';

export class FakeExecutions implements ExecutionsPort {
  readonly runs = new Map<string, { input: unknown; status: ExecutionStatusName }>();
  /** Names in the order they were started. */
  readonly started: string[] = [];
  /** Called for every new run (e.g. to run the state machine locally). */
  onStart?: (name: string, input: unknown) => Promise<void> | void;

  async start(name: string, input: unknown): Promise<StartOutcome> {
    if (name.length > 80 || !/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`invalid execution name ${name}`);
    if (this.runs.has(name)) return 'exists';
    this.runs.set(name, { input: JSON.parse(JSON.stringify(input)), status: 'RUNNING' });
    this.started.push(name);
    await this.onStart?.(name, input);
    return 'started';
  }

  async status(name: string): Promise<ExecutionStatusName | undefined> {
    return this.runs.get(name)?.status;
  }

  setStatus(name: string, status: ExecutionStatusName): void {
    const run = this.runs.get(name);
    if (!run) throw new Error(`no run ${name}`);
    run.status = status;
  }
}
