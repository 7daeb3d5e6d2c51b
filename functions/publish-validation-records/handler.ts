import { edgeHandler } from '../../wiring/handler';
import { AcmAdapter } from '../../shared/aws/acm';
import { acmClient, route53Client } from '../../wiring/clients';
import { Route53Adapter } from '../../shared/aws/route53';
import { fieldOf, requestOf } from '../../shared/input';
import type { EnsureCertificatesOutput } from '../../shared/steps/ensureCertificates';
import { publishValidationRecords } from '../../shared/steps/publishValidationRecords';

export const handler = edgeHandler('PublishValidationRecords', async (event, { config, log }) => {
  const request = requestOf(event);
  return publishValidationRecords(
    { request, certificates: fieldOf<EnsureCertificatesOutput>(event, 'certificates') },
    { acm: new AcmAdapter(acmClient(config, request.cluster.region)), route53: new Route53Adapter(route53Client(config)), log },
  );
});
