import { edgeHandler } from '../../wiring/handler';
import { AcmAdapter } from '../../shared/aws/acm';
import { acmClient, taggingClient } from '../../wiring/clients';
import { requestOf, stringField } from '../../shared/input';
import { ensureCertificates } from '../../shared/steps/ensureCertificates';

export const handler = edgeHandler('EnsureCertificates', async (event, { config, log, now }) => {
  const request = requestOf(event);
  return ensureCertificates(
    { request, runId: stringField(event, 'runId') },
    { acm: new AcmAdapter(acmClient(config, request.cluster.region), taggingClient(config, request.cluster.region)), log, now },
  );
});
