/** shared/plan/auditSubscription.ts and its reader: which auditEvents a log group's filters leave room for. */
import { CloudWatchLogsClient, DescribeSubscriptionFiltersCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { subscriptionFilters } from '../../../shared/aws/logs';
import { adviseAuditEvents, MAX_SUBSCRIPTION_FILTERS } from '../../../shared/plan/auditSubscription';

const OURS = 'kserve-edge-prod-namespaceEvents';
const lambda = (name: string) => `arn:aws:lambda:us-west-2:123456789012:function:${name}`;
const filter = (filterName: string, destinationArn: string) => ({ filterName, destinationArn });
const FIREHOSE = 'arn:aws:firehose:us-west-2:123456789012:deliverystream/central-logs';

describe('adviseAuditEvents', () => {
  it('keeps the subscription while the group has room, or when the filter is already ours', () => {
    expect(adviseAuditEvents([], OURS)).toMatchObject({ auditEvents: 'subscription', others: [] });
    expect(adviseAuditEvents([filter('siem', FIREHOSE)], OURS).auditEvents).toBe('subscription');
    const full = [filter('siem', FIREHOSE), filter('kserve', lambda(OURS))];
    expect(adviseAuditEvents(full, OURS)).toMatchObject({ auditEvents: 'subscription', ours: full[1], others: [full[0]] });
  });

  it('with two other filters, one a Lambda: forwarded, naming the function and the parameters', () => {
    const advice = adviseAuditEvents([filter('siem', FIREHOSE), filter('shipper', lambda('log-shipper'))], OURS);
    expect(advice.auditEvents).toBe('forwarded');
    expect(advice.reason).toContain(`limit is ${MAX_SUBSCRIPTION_FILTERS}`);
    expect(advice.reason).toMatch(/auditEventsInvoker=<the execution role of arn:aws:lambda:.*:function:log-shipper>/);
  });

  it('with two other filters and no Lambda among them: off', () => {
    const advice = adviseAuditEvents([filter('a', FIREHOSE), filter('b', 'arn:aws:kinesis:us-west-2:123456789012:stream/x')], OURS);
    expect(advice).toMatchObject({ auditEvents: 'off' });
    expect(advice.reason).toContain('auditEvents=off');
  });

  it("does not take another stage's function for ours", () => {
    const other = [filter('a', FIREHOSE), filter('b', lambda('kserve-edge-dev-namespaceEvents'))];
    expect(adviseAuditEvents(other, OURS).ours).toBeUndefined();
    expect(adviseAuditEvents(other, OURS).auditEvents).toBe('forwarded');
  });
});

describe('subscriptionFilters', () => {
  const logs = mockClient(CloudWatchLogsClient);
  beforeEach(() => logs.reset());

  it('reads every page', async () => {
    logs
      .on(DescribeSubscriptionFiltersCommand, { logGroupName: '/aws/eks/kubeflow/cluster' })
      .resolvesOnce({ subscriptionFilters: [{ filterName: 'a', destinationArn: FIREHOSE }], nextToken: 't1' })
      .resolvesOnce({ subscriptionFilters: [{ filterName: 'b', destinationArn: lambda('x') }] });
    const filters = await subscriptionFilters(new CloudWatchLogsClient({ region: 'us-west-2' }), '/aws/eks/kubeflow/cluster');
    expect(filters).toEqual([filter('a', FIREHOSE), filter('b', lambda('x'))]);
    expect(logs.commandCalls(DescribeSubscriptionFiltersCommand)[1]!.args[0].input).toMatchObject({ nextToken: 't1' });
  });

  it('maps a refusal to a named error', async () => {
    logs.on(DescribeSubscriptionFiltersCommand).rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));
    await expect(subscriptionFilters(new CloudWatchLogsClient({ region: 'us-west-2' }), 'g')).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('logs:DescribeSubscriptionFilters'),
    });
  });
});
