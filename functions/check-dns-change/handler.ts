import { route53Client } from '../../shared/aws/clients';
import { Route53Adapter } from '../../shared/aws/route53';
import { lambdaHandler } from '../../shared/handler';
import { fieldOf, requestOf } from '../../shared/input';
import { checkDnsChange } from '../../shared/steps/checkDnsChange';
import type { UpsertDnsRecordsOutput } from '../../shared/steps/upsertDnsRecords';

export const handler = lambdaHandler('CheckDnsChange', async (event, { log, now }) => {
  const request = requestOf(event);
  return checkDnsChange({ request, dns: fieldOf<UpsertDnsRecordsOutput>(event, 'dns') }, { route53: new Route53Adapter(route53Client()), log, now });
});
