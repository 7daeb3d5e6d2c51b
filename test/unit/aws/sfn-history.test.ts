/** `kserve-edge status` reads the provisioning runs with ListExecutions (SfnExecutions.listRecent). */
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { SfnExecutions } from '../../../shared/aws/sfn';

describe('SfnExecutions.listRecent', () => {
  const sfn = mockClient(SFNClient);
  const ARN = 'arn:aws:states:us-west-2:123456789012:stateMachine:kserve-edge-provision-prod';
  beforeEach(() => sfn.reset());

  it('reads page after page, newest first as Step Functions lists them, up to the limit', async () => {
    const at = (h: number) => new Date(Date.UTC(2026, 11, 2, h));
    sfn
      .on(ListExecutionsCommand, { nextToken: undefined })
      .resolves({
        executions: [
          { executionArn: 'a', stateMachineArn: ARN, name: 'ns-team-a-1', status: 'FAILED', startDate: at(8), stopDate: at(9) },
          { executionArn: 'b', stateMachineArn: ARN, name: 'ns-team-b-1', status: 'RUNNING', startDate: at(7) },
        ],
        nextToken: 'page-2',
      })
      .on(ListExecutionsCommand, { nextToken: 'page-2' })
      .resolves({
        executions: [
          { executionArn: 'c', stateMachineArn: ARN, name: 'ns-team-a-0', status: 'SUCCEEDED', startDate: at(6), stopDate: at(6) },
        ],
      });
    const runs = new SfnExecutions(new SFNClient({ region: 'us-west-2' }), ARN);
    expect(await runs.listRecent(10)).toEqual([
      { name: 'ns-team-a-1', status: 'FAILED', startDate: '2026-12-02T08:00:00.000Z', stopDate: '2026-12-02T09:00:00.000Z' },
      { name: 'ns-team-b-1', status: 'RUNNING', startDate: '2026-12-02T07:00:00.000Z' },
      { name: 'ns-team-a-0', status: 'SUCCEEDED', startDate: '2026-12-02T06:00:00.000Z', stopDate: '2026-12-02T06:00:00.000Z' },
    ]);
    expect(sfn.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toMatchObject({ stateMachineArn: ARN, maxResults: 10 });
    // The limit stops the paging.
    sfn.resetHistory();
    expect(await runs.listRecent(2)).toHaveLength(2);
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(1);
  });
});
