import { edgeHandler } from '../../wiring/handler';
import { acmClient, elbv2Client, route53Client, secretsClient, taggingClient } from '../../wiring/clients';
import { Elbv2Adapter } from '../../shared/aws/elbv2';
import { AcmAdapter } from '../../shared/aws/acm';
import { Route53Adapter } from '../../shared/aws/route53';
import { SecretsAdapter } from '../../shared/aws/secrets';
import { fieldOf, requestOf } from '../../shared/input';
import { kubeFor } from '../../wiring/cluster';
import { configureCluster } from '../../shared/steps/configureCluster';
import type { EnsureCertificatesOutput } from '../../shared/steps/ensureCertificates';

/**
 * ConfigureCluster: config-domain, the AuthorizationPolicies and the ALB Ingress (server-side apply).
 * ACM and Route 53 are read (never written) to keep other namespaces' certificates on the listener.
 */
export const handler = edgeHandler('ConfigureCluster', async (event, { config, log, now }) => {
  const request = requestOf(event);
  const certificates = fieldOf<EnsureCertificatesOutput>(event, 'certificates');
  return configureCluster(
    {
      request,
      certificateArns: certificates.items.map((c) => c.arn),
      certificateNames: certificates.items.map((c) => c.names),
      ownedArns: certificates.ownedArns,
    },
    {
      kube: await kubeFor(config, request.cluster),
      secrets: new SecretsAdapter(secretsClient(config, request.cluster.region)),
      acm: new AcmAdapter(acmClient(config, request.cluster.region), taggingClient(config, request.cluster.region)),
      route53: new Route53Adapter(route53Client(config)),
      loadBalancers: new Elbv2Adapter(elbv2Client(config, request.cluster.region)),
      log,
      now,
    },
  );
});
