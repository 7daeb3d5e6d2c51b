/**
 * `npm run preflight -- --region us-west-2 --cluster kubeflow [--stage prod] [--log-group NAME]`
 *
 * Before a deploy: counts the subscription filters of the cluster's audit log
 * group (CloudWatch Logs DescribeSubscriptionFilters; a group takes at most
 * two) and says which `auditEvents` parameter to deploy with
 * (shared/plan/auditSubscription.ts; README "The audit-log subscription").
 * Reads only, with the caller's credentials. Exit code 0 with the advice on
 * stdout (`--json` for scripts), 2 for a usage error, 1 when AWS refused.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { subscriptionFilters } from '../shared/aws/logs';
import { adviseAuditEvents, MAX_SUBSCRIPTION_FILTERS } from '../shared/plan/auditSubscription';

const USAGE = 'usage: npm run preflight -- --region <region> --cluster <name> [--stage <stage>] [--log-group <name>] [--json]';

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') out.json = 'true';
    else if (/^--(region|cluster|stage|log-group)$/.test(a) && argv[i + 1]) out[a.slice(2)] = argv[++i]!;
    else throw new Error(`unknown or incomplete argument ${a}`);
  }
  return out;
}

async function main(): Promise<number> {
  let args: Record<string, string>;
  try {
    args = parseArgs(process.argv.slice(2));
    if (!args.region || !args.cluster) throw new Error('--region and --cluster are required');
  } catch (err) {
    process.stderr.write(`preflight: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const logGroup = args['log-group'] ?? `/aws/eks/${args.cluster}/cluster`;
  const functionName = `kserve-edge-${args.stage ?? 'dev'}-namespaceEvents`;
  let filters;
  try {
    filters = await subscriptionFilters(new CloudWatchLogsClient({ region: args.region }), logGroup);
  } catch (err) {
    process.stderr.write(`preflight: cannot read the subscription filters of ${logGroup}: ${(err as Error).message}\n`);
    return 1;
  }
  const advice = adviseAuditEvents(filters, functionName);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ logGroup, limit: MAX_SUBSCRIPTION_FILTERS, ...advice }, null, 2)}\n`);
    return 0;
  }
  process.stderr.write(`audit log group ${logGroup}: ${filters.length} subscription filter(s), limit ${MAX_SUBSCRIPTION_FILTERS}\n`);
  for (const f of filters) process.stderr.write(`  ${f.filterName} -> ${f.destinationArn}${f === advice.ours ? ' (this stack)' : ''}\n`);
  process.stdout.write(`--param "auditEvents=${advice.auditEvents}"  # ${advice.reason}\n`);
  return 0;
}

process.exitCode = await main();
