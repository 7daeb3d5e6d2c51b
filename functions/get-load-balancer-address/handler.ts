import { lambdaHandler } from '../../shared/handler';
import { fieldOf, requestOf } from '../../shared/input';
import { kubeFor } from '../../shared/k8s/connect';
import { getLoadBalancerAddress } from '../../shared/steps/getLoadBalancerAddress';

/** GetLoadBalancerAddress: the ALB hostname the load balancer controller wrote on the Ingress. */
export const handler = lambdaHandler('GetLoadBalancerAddress', async (event, { now }) => {
  const request = requestOf(event);
  const cluster = fieldOf<{ configuredAt: string; ingress: { namespace: string; name: string } }>(event, 'cluster');
  return getLoadBalancerAddress({ request, ingress: cluster.ingress, configuredAt: cluster.configuredAt }, { kube: await kubeFor(request.cluster), now });
});
