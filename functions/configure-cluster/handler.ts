import { edgeHandler } from '../../wiring/handler';
import { secretsClient } from '../../wiring/clients';
import { SecretsAdapter } from '../../shared/aws/secrets';
import { fieldOf, requestOf } from '../../shared/input';
import { kubeFor } from '../../wiring/cluster';
import { configureCluster } from '../../shared/steps/configureCluster';
import type { EnsureCertificatesOutput } from '../../shared/steps/ensureCertificates';

/** ConfigureCluster: config-domain, the AuthorizationPolicies and the ALB Ingress (server-side apply). */
export const handler = edgeHandler('ConfigureCluster', async (event, { config, log, now }) => {
  const request = requestOf(event);
  const certificates = fieldOf<EnsureCertificatesOutput>(event, 'certificates');
  return configureCluster(
    { request, certificateArns: certificates.items.map((c) => c.arn), ownedArns: certificates.ownedArns },
    { kube: await kubeFor(config, request.cluster), secrets: new SecretsAdapter(secretsClient(config, request.cluster.region)), log, now },
  );
});
