import { route53Client } from '../../shared/aws/clients';
import { Route53Adapter } from '../../shared/aws/route53';
import { lambdaHandler } from '../../shared/handler';
import { fieldOf, requestOf } from '../../shared/input';
import { upsertDnsRecords } from '../../shared/steps/upsertDnsRecords';

export const handler = lambdaHandler('UpsertDnsRecords', async (event, { log, now }) => {
  const request = requestOf(event);
  return upsertDnsRecords(
    { request, loadBalancer: fieldOf<{ hostname?: string }>(event, 'loadBalancer') },
    { route53: new Route53Adapter(route53Client()), log, now },
  );
});
