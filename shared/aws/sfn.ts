/**
 * Step Functions adapter: start a run by name, read a run's status by name.
 *
 * The name is the deduplication: Step Functions answers
 * `ExecutionAlreadyExists` for a name it has seen in the last 90 days (unless
 * the same input is still running, which it answers with the same run), and
 * that is the expected outcome for a duplicate trigger, not an error.
 */
import { DescribeExecutionCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionStatusName, ExecutionsPort, StartOutcome } from '../ports';
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
export class SfnExecutions implements ExecutionsPort {
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
