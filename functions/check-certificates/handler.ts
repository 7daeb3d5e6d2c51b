import { AcmAdapter } from '../../shared/aws/acm';
import { acmClient } from '../../shared/aws/clients';
import { lambdaHandler } from '../../shared/handler';
import { fieldOf, requestOf } from '../../shared/input';
import { checkCertificates } from '../../shared/steps/checkCertificates';
import type { EnsureCertificatesOutput } from '../../shared/steps/ensureCertificates';

export const handler = lambdaHandler('CheckCertificates', async (event, { log, now }) => {
  const request = requestOf(event);
  return checkCertificates(
    { request, certificates: fieldOf<EnsureCertificatesOutput>(event, 'certificates') },
    { acm: new AcmAdapter(acmClient(request.cluster.region)), log, now },
  );
});
