import { AcmAdapter } from '../../shared/aws/acm';
import { acmClient } from '../../shared/aws/clients';
import { lambdaHandler } from '../../shared/handler';
import { requestOf, stringField } from '../../shared/input';
import { ensureCertificates } from '../../shared/steps/ensureCertificates';

export const handler = lambdaHandler('EnsureCertificates', async (event, { log, now }) => {
  const request = requestOf(event);
  return ensureCertificates({ request, runId: stringField(event, 'runId') }, { acm: new AcmAdapter(acmClient(request.cluster.region)), log, now });
});
