import { edgeHandler } from '../../wiring/handler';
import { route53Client } from '../../wiring/clients';
import { Route53Adapter } from '../../shared/aws/route53';
import { fieldOf, requestOf } from '../../shared/input';
import { upsertDnsRecords, type LoadBalancerTargets } from '../../shared/steps/upsertDnsRecords';

export const handler = edgeHandler('UpsertDnsRecords', async (event, { config, log, now }) => {
  const request = requestOf(event);
  return upsertDnsRecords(
    { request, loadBalancer: fieldOf<LoadBalancerTargets>(event, 'loadBalancer') },
    { route53: new Route53Adapter(route53Client(config)), log, now },
  );
});
