/**
 * Canary dependencies from the environment, shared by the RunCanary step, the
 * scheduled canary and the CLI.
 *
 * | variable                     | effect                                                        |
 * |------------------------------|---------------------------------------------------------------|
 * | `KSERVE_EDGE_DNS_MODE`       | `route53`: resolve through the hosted zone (testbeds)          |
 * | `KSERVE_EDGE_HOST_MAP_FILE`  | JSON `{ "<ALB hostname>": "127.0.0.1:PORT" }` for route53 mode  |
 * | `KSERVE_EDGE_EXTRA_CA_FILE`  | PEM of a CA trusted in addition to the system roots            |
 *
 * TLS verification is never turned off; an extra CA only adds trust.
 */
import { readFileSync } from 'node:fs';
import { route53Client, secretsClient } from '../aws/clients';
import { Route53Adapter } from '../aws/route53';
import { SecretsAdapter } from '../aws/secrets';
import type { Logger } from '../log';
import type { ValidatedRequest } from '../input';
import type { LoginCacheEntry, RunCanaryDeps } from './probe';
import { resolverFromEnv } from './resolver';

/** Dex sessions survive between invocations of a warm Lambda. */
const loginCache = new Map<string, LoginCacheEntry>();

export function canaryDepsFromEnv(request: ValidatedRequest, log: Logger, env: NodeJS.ProcessEnv = process.env): RunCanaryDeps {
  const caFile = env.KSERVE_EDGE_EXTRA_CA_FILE;
  return {
    secrets: new SecretsAdapter(secretsClient(request.cluster.region)),
    resolver: resolverFromEnv(env, { route53: new Route53Adapter(route53Client()), zoneId: request.hostedZoneId }),
    ...(caFile ? { extraCa: readFileSync(caFile, 'utf8') } : {}),
    now: () => new Date(),
    log,
    loginCache,
  };
}
