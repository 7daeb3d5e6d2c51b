/** Runs ValidateRequest in-process (reads only) for the commands that need the resolved request. */
import { Route53Adapter } from '../shared/aws/route53';
import { SecretsAdapter } from '../shared/aws/secrets';
import type { ValidatedRequest } from '../shared/input';
import { silentLogger } from '../shared/log';
import { parseProvisionRequest } from '../shared/request';
import { validateRequest } from '../shared/steps/validateRequest';
import { route53Client, secretsClient } from '../wiring/clients';
import { clusterAccessFor } from '../wiring/cluster';
import { KubeAdapter } from '../shared/k8s/client';
import { issuerHttp } from '../wiring/canary';
import type { Config } from '../wiring/config';

export async function validatedRequest(raw: unknown, config: Config): Promise<ValidatedRequest> {
  const region = parseProvisionRequest(raw).cluster.region;
  const out = await validateRequest(
    { request: raw, runId: `cli-${Date.now()}` },
    {
      route53: new Route53Adapter(route53Client(config)),
      secrets: new SecretsAdapter(secretsClient(config, region)),
      cluster: clusterAccessFor(config),
      kubeOf: (connection) => KubeAdapter.fromConnection(connection),
      http: issuerHttp(config),
      log: silentLogger,
      now: () => new Date(),
      inVpc: config.network.inVpc,
    },
  );
  return out.request;
}
