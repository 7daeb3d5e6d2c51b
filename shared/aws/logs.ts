/**
 * CloudWatch Logs, read-only: the subscription filters of a log group, for the
 * preflight (scripts/preflight.ts). No function of the stack calls it.
 */
import { type CloudWatchLogsClient, DescribeSubscriptionFiltersCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { SubscriptionFilterInfo } from '../plan/auditSubscription';
import { withAws } from './errors';

/**
 * Every subscription filter of `logGroupName` (all pages).
 *
 * @throws AccessDeniedError, ThrottledError, … (shared/aws/errors.ts); a missing
 *   group is AWS's ResourceNotFoundException, mapped like any other rejection.
 */
export async function subscriptionFilters(client: CloudWatchLogsClient, logGroupName: string): Promise<SubscriptionFilterInfo[]> {
  const out: SubscriptionFilterInfo[] = [];
  let nextToken: string | undefined;
  do {
    const page = await withAws('logs:DescribeSubscriptionFilters', () =>
      client.send(new DescribeSubscriptionFiltersCommand({ logGroupName, ...(nextToken ? { nextToken } : {}) })),
    );
    for (const f of page.subscriptionFilters ?? []) out.push({ filterName: f.filterName ?? '', destinationArn: f.destinationArn ?? '' });
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}
