import { edgeHandler } from '../../wiring/handler';
import { elbv2Client, route53Client, secretsClient, serviceQuotasClient } from '../../wiring/clients';
import { ServiceQuotasAdapter } from '../../shared/aws/serviceQuotas';
import { Elbv2Adapter } from '../../shared/aws/elbv2';
import { Route53Adapter } from '../../shared/aws/route53';
import { SecretsAdapter } from '../../shared/aws/secrets';
import { validateRequest } from '../../shared/steps/validateRequest';
import { clusterAccessFor } from '../../wiring/cluster';
import { KubeAdapter } from '../../shared/k8s/client';
import { issuerHttp } from '../../wiring/canary';

/** ValidateRequest: input is the raw request plus `runId` (the execution name). */
export const handler = edgeHandler('ValidateRequest', async (event, { config, log, now }) => {
  const { request, runId } = (event ?? {}) as { request?: unknown; runId?: string };
  const region = regionOf(request);
  return validateRequest(runId === undefined ? { request } : { request, runId }, {
    route53: new Route53Adapter(route53Client(config)),
    secrets: new SecretsAdapter(secretsClient(config, region)),
    cluster: clusterAccessFor(config),
    loadBalancers: new Elbv2Adapter(elbv2Client(config, region)),
    certificateQuotas: new ServiceQuotasAdapter(serviceQuotasClient(config, region)),
    kubeOf: (connection) => KubeAdapter.fromConnection(connection),
    http: issuerHttp(config),
    log,
    now,
    inVpc: config.network.inVpc,
  });
});

/** The region the request names, for the regional clients (schema validation comes next). */
function regionOf(request: unknown): string {
  const region = (request as { cluster?: { region?: unknown } } | undefined)?.cluster?.region;
  return typeof region === 'string' && /^[a-z0-9-]{1,32}$/.test(region) ? region : 'us-east-1';
}
