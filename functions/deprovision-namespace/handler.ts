import { acmClient, route53Client } from '../../shared/aws/clients';
import { AcmAdapter } from '../../shared/aws/acm';
import { Route53Adapter } from '../../shared/aws/route53';
import { InvalidRequestError } from '../../shared/errors';
import { lambdaHandler } from '../../shared/handler';
import { kubeFor } from '../../shared/k8s/connect';
import { parseProvisionRequest } from '../../shared/request';
import { DNS_LABEL } from '../../shared/request';
import { deprovisionNamespace } from '../../shared/steps/deprovisionNamespace';

/**
 * DeprovisionNamespace: removes a gone namespace's records, its certificate
 * from the Ingress, and the certificate once nothing uses it (polled by the
 * deprovision state machine while the load balancer lets go of it).
 */
export const handler = lambdaHandler('DeprovisionNamespace', async (event, { log, now }) => {
  const e = (event ?? {}) as { request?: unknown; namespace?: unknown; deprovision?: { startedAt?: string } };
  const request = parseProvisionRequest(e.request);
  if (typeof e.namespace !== 'string' || !DNS_LABEL.test(e.namespace)) {
    throw new InvalidRequestError('step input "namespace" must be a namespace name', { path: 'namespace' });
  }
  return deprovisionNamespace(
    { request, namespace: e.namespace, ...(e.deprovision?.startedAt ? { startedAt: e.deprovision.startedAt } : {}) },
    {
      route53: new Route53Adapter(route53Client()),
      acm: new AcmAdapter(acmClient(request.cluster.region)),
      kube: await kubeFor(request.cluster),
      log,
      now,
    },
  );
});
