import { edgeHandler } from '../../wiring/handler';
import { fieldOf, requestOf } from '../../shared/input';
import { kubeFor } from '../../wiring/cluster';
import { getLoadBalancerAddress } from '../../shared/steps/getLoadBalancerAddress';

/** GetLoadBalancerAddress: the ALB hostname the load balancer controller wrote on the Ingress. */
export const handler = edgeHandler('GetLoadBalancerAddress', async (event, { config, now }) => {
  const request = requestOf(event);
  const cluster = fieldOf<{ configuredAt: string; ingress: { namespace: string; name: string } }>(event, 'cluster');
  return getLoadBalancerAddress({ request, ingress: cluster.ingress, configuredAt: cluster.configuredAt }, { kube: await kubeFor(config, request.cluster), now });
});
