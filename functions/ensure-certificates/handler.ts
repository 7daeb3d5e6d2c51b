import { edgeHandler } from '../../wiring/handler';
import { AcmAdapter } from '../../shared/aws/acm';
import { acmClient, elbv2Client, serviceQuotasClient, taggingClient } from '../../wiring/clients';
import { Elbv2Adapter } from '../../shared/aws/elbv2';
import { ServiceQuotasAdapter } from '../../shared/aws/serviceQuotas';
import { requestOf, stringField } from '../../shared/input';
import { ensureCertificates } from '../../shared/steps/ensureCertificates';

export const handler = edgeHandler('EnsureCertificates', async (event, { config, log, now }) => {
  const request = requestOf(event);
  return ensureCertificates(
    { request, runId: stringField(event, 'runId') },
    {
      acm: new AcmAdapter(acmClient(config, request.cluster.region), taggingClient(config, request.cluster.region)),
      // Read only for certificates.mode "bundled" (the bundles' size and count).
      certificateQuotas: new ServiceQuotasAdapter(serviceQuotasClient(config, request.cluster.region)),
      loadBalancers: new Elbv2Adapter(elbv2Client(config, request.cluster.region)),
      log,
      now,
    },
  );
});
