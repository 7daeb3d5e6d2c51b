import { edgeHandler } from '../../wiring/handler';
import { elbv2Client } from '../../wiring/clients';
import { Elbv2Adapter } from '../../shared/aws/elbv2';
import { fieldOf, requestOf } from '../../shared/input';
import { kubeFor } from '../../wiring/cluster';
import { getLoadBalancerAddress } from '../../shared/steps/getLoadBalancerAddress';
import type { ConfigureClusterOutput } from '../../shared/steps/configureCluster';

/** GetLoadBalancerAddress: the ALB hostname, once the ALB it names serves what ConfigureCluster wrote. */
export const handler = edgeHandler('GetLoadBalancerAddress', async (event, { config, now }) => {
  const request = requestOf(event);
  const cluster = fieldOf<Pick<ConfigureClusterOutput, 'configuredAt' | 'ingress' | 'expected' | 'shards'>>(event, 'cluster');
  const input = {
    request,
    ingress: cluster.ingress,
    configuredAt: cluster.configuredAt,
    ...(cluster.expected ? { expected: cluster.expected } : {}),
    ...(cluster.shards ? { shards: cluster.shards } : {}),
  };
  return getLoadBalancerAddress(input, {
    kube: await kubeFor(config, request.cluster),
    loadBalancers: new Elbv2Adapter(elbv2Client(config, request.cluster.region)),
    now,
  });
});
