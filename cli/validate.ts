/** Runs ValidateRequest in-process (reads only) for the commands that need the resolved request. */
import { clusterAccessFromEnv } from '../shared/aws/eks';
import { route53Client, secretsClient } from '../shared/aws/clients';
import { Route53Adapter } from '../shared/aws/route53';
import { SecretsAdapter } from '../shared/aws/secrets';
import type { ValidatedRequest } from '../shared/input';
import { silentLogger } from '../shared/log';
import { parseProvisionRequest } from '../shared/request';
import { validateRequest } from '../shared/steps/validateRequest';

export async function validatedRequest(raw: unknown): Promise<ValidatedRequest> {
  const region = parseProvisionRequest(raw).cluster.region;
  const out = await validateRequest(
    { request: raw, runId: `cli-${Date.now()}` },
    {
      route53: new Route53Adapter(route53Client()),
      secrets: new SecretsAdapter(secretsClient(region)),
      cluster: clusterAccessFromEnv(process.env),
      log: silentLogger,
      now: () => new Date(),
    },
  );
  return out.request;
}
