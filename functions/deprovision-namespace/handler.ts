import { edgeHandler } from '../../wiring/handler';
import { acmClient, route53Client, taggingClient } from '../../wiring/clients';
import { AcmAdapter } from '../../shared/aws/acm';
import { Route53Adapter } from '../../shared/aws/route53';
import { InvalidRequestError } from '../../shared/errors';
import { kubeFor } from '../../wiring/cluster';
import { parseProvisionRequest } from '../../shared/request';
import { DNS_LABEL } from '../../shared/request';
import { deprovisionNamespace } from '../../shared/steps/deprovisionNamespace';

/**
 * DeprovisionNamespace: removes a gone namespace's records, its certificate
 * from the Ingress, and the certificate once nothing uses it (polled by the
 * deprovision state machine while the load balancer lets go of it).
 */
export const handler = edgeHandler('DeprovisionNamespace', async (event, { config, log, now }) => {
  const e = (event ?? {}) as { request?: unknown; namespace?: unknown; deprovision?: { startedAt?: string; shard?: number } };
  const request = parseProvisionRequest(e.request);
  if (typeof e.namespace !== 'string' || !DNS_LABEL.test(e.namespace)) {
    throw new InvalidRequestError('step input "namespace" must be a namespace name', { path: 'namespace' });
  }
  return deprovisionNamespace(
    {
      request,
      namespace: e.namespace,
      ...(e.deprovision?.startedAt ? { startedAt: e.deprovision.startedAt } : {}),
      ...(typeof e.deprovision?.shard === 'number' ? { shard: e.deprovision.shard } : {}),
    },
    {
      route53: new Route53Adapter(route53Client(config)),
      acm: new AcmAdapter(acmClient(config, request.cluster.region), taggingClient(config, request.cluster.region)),
      kube: await kubeFor(config, request.cluster),
      log,
      now,
    },
  );
});
