import { edgeHandler } from '../../wiring/handler';
import { route53Client } from '../../wiring/clients';
import { Route53Adapter } from '../../shared/aws/route53';
import { fieldOf, requestOf } from '../../shared/input';
import { checkDnsChange } from '../../shared/steps/checkDnsChange';
import type { UpsertDnsRecordsOutput } from '../../shared/steps/upsertDnsRecords';

export const handler = edgeHandler('CheckDnsChange', async (event, { config, log, now }) => {
  const request = requestOf(event);
  return checkDnsChange(
    { request, dns: fieldOf<UpsertDnsRecordsOutput>(event, 'dns') },
    { route53: new Route53Adapter(route53Client(config)), log, now },
  );
});
