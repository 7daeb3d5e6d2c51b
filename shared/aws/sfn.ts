/**
 * Step Functions adapter: start a run by name, read a run's status by name.
 *
 * The name is the deduplication: Step Functions answers
 * `ExecutionAlreadyExists` for a name it has seen in the last 90 days (unless
 * the same input is still running, which it answers with the same run), and
 * that is the expected outcome for a duplicate trigger, not an error.
 */
import { DescribeExecutionCommand, ListExecutionsCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionHistoryPort, ExecutionStatusName, ExecutionSummary, ExecutionsPort, StartOutcome } from '../ports';
import { isAwsError, mapAwsError, withAws } from './errors';

/** `arn:…:stateMachine:<name>` + execution name → `arn:…:execution:<name>:<execution>`. */
export function executionArn(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[5] !== 'stateMachine') throw new TypeError(`not a state machine ARN: ${stateMachineArn}`);
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}

/**
 * {@link ExecutionsPort} for one state machine.
 *
 * @example
 *   const runs = new SfnExecutions(new SFNClient({ region: 'us-west-2' }), 'arn:aws:states:us-west-2:123456789012:stateMachine:provision');
 *   await runs.start('ns-team-a-0123456789', request); // 'started' or 'exists'
 */
export class SfnExecutions implements ExecutionsPort, ExecutionHistoryPort {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {
    executionArn(stateMachineArn, 'check');
  }

  async start(name: string, input: unknown): Promise<StartOutcome> {
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }));
      return 'started';
    } catch (err) {
      // The duplicate this naming scheme exists to refuse.
      if (isAwsError(err, 'ExecutionAlreadyExists')) return 'exists';
      throw mapAwsError(err, 'states:StartExecution');
    }
  }

  /**
   * ListExecutions, newest first (Step Functions sorts by start time, most
   * recent first), page after page until `limit` runs are read.
   */
  async listRecent(limit: number): Promise<ExecutionSummary[]> {
    const out: ExecutionSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await withAws('states:ListExecutions', () =>
        this.client.send(
          new ListExecutionsCommand({ stateMachineArn: this.stateMachineArn, maxResults: Math.min(1000, limit - out.length), nextToken }),
        ),
      );
      for (const e of page.executions ?? []) {
        if (!e.name || !e.status) continue;
        out.push({
          name: e.name,
          status: e.status as ExecutionStatusName,
          ...(e.startDate ? { startDate: new Date(e.startDate).toISOString() } : {}),
          ...(e.stopDate ? { stopDate: new Date(e.stopDate).toISOString() } : {}),
        });
      }
      nextToken = page.nextToken;
    } while (nextToken && out.length < limit);
    return out.slice(0, limit);
  }

  async status(name: string): Promise<ExecutionStatusName | undefined> {
    try {
      const out = await withAws('states:DescribeExecution', () =>
        this.client.send(new DescribeExecutionCommand({ executionArn: executionArn(this.stateMachineArn, name) })),
      );
      return out.status as ExecutionStatusName | undefined;
    } catch (err) {
      if (isAwsError(err, 'ExecutionDoesNotExist')) return undefined;
      throw err;
    }
  }
}
