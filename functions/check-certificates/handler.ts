import { edgeHandler } from '../../wiring/handler';
import { AcmAdapter } from '../../shared/aws/acm';
import { acmClient } from '../../wiring/clients';
import { fieldOf, requestOf } from '../../shared/input';
import { checkCertificates } from '../../shared/steps/checkCertificates';
import type { EnsureCertificatesOutput } from '../../shared/steps/ensureCertificates';

export const handler = edgeHandler('CheckCertificates', async (event, { config, log, now }) => {
  const request = requestOf(event);
  return checkCertificates(
    { request, certificates: fieldOf<EnsureCertificatesOutput>(event, 'certificates') },
    { acm: new AcmAdapter(acmClient(config, request.cluster.region)), log, now },
  );
});
