import { secretsClient } from '../../shared/aws/clients';
import { SecretsAdapter } from '../../shared/aws/secrets';
import { lambdaHandler } from '../../shared/handler';
import { fieldOf, requestOf } from '../../shared/input';
import { kubeFor } from '../../shared/k8s/connect';
import { configureCluster } from '../../shared/steps/configureCluster';
import type { EnsureCertificatesOutput } from '../../shared/steps/ensureCertificates';

/** ConfigureCluster: config-domain, the AuthorizationPolicies and the ALB Ingress (server-side apply). */
export const handler = lambdaHandler('ConfigureCluster', async (event, { log, now }) => {
  const request = requestOf(event);
  const certificates = fieldOf<EnsureCertificatesOutput>(event, 'certificates');
  return configureCluster(
    { request, certificateArns: certificates.items.map((c) => c.arn), ownedArns: certificates.ownedArns },
    { kube: await kubeFor(request.cluster), secrets: new SecretsAdapter(secretsClient(request.cluster.region)), log, now },
  );
});
