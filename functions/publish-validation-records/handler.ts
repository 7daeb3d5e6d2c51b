import { AcmAdapter } from '../../shared/aws/acm';
import { acmClient, route53Client } from '../../shared/aws/clients';
import { Route53Adapter } from '../../shared/aws/route53';
import { lambdaHandler } from '../../shared/handler';
import { fieldOf, requestOf } from '../../shared/input';
import type { EnsureCertificatesOutput } from '../../shared/steps/ensureCertificates';
import { publishValidationRecords } from '../../shared/steps/publishValidationRecords';

export const handler = lambdaHandler('PublishValidationRecords', async (event, { log }) => {
  const request = requestOf(event);
  return publishValidationRecords(
    { request, certificates: fieldOf<EnsureCertificatesOutput>(event, 'certificates') },
    { acm: new AcmAdapter(acmClient(request.cluster.region)), route53: new Route53Adapter(route53Client()), log },
  );
});
