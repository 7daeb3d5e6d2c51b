/**
 * Wiring of the scheduled canary: which requests to probe, and the canary
 * dependencies for each, with secrets read through Powertools Parameters
 * (cached per Lambda container) and Dex sessions kept between invocations.
 *
 * | variable                               | meaning                                                                |
 * |----------------------------------------|------------------------------------------------------------------------|
 * | `KSERVE_EDGE_CANARY_REQUESTS`          | JSON (a request, a list, or `{"requests": [...]}`), or the Secrets Manager secret id holding it |
 * | `KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS`  | cache lifetime of secrets and of that configuration (default 300)      |
 * | `KSERVE_EDGE_DNS_MODE`, `KSERVE_EDGE_HOST_MAP_FILE`, `KSERVE_EDGE_EXTRA_CA_FILE` | as for RunCanary (shared/canary/env.ts) |
 */
import { readFileSync } from 'node:fs';
import { route53Client, secretsClient } from '../aws/clients';
import { PowertoolsSecrets, readJsonConfig } from '../aws/parameters';
import { Route53Adapter } from '../aws/route53';
import { InvalidRequestError } from '../errors';
import type { Logger } from '../log';
import { formatPath, parseProvisionRequest, type ProvisionRequest } from '../request';
import type { LoginCacheEntry, RunCanaryDeps } from './probe';
import { resolverFromEnv } from './resolver';

export const CANARY_REQUESTS_ENV = 'KSERVE_EDGE_CANARY_REQUESTS';

/** Dex sessions survive between invocations of a warm Lambda. */
const loginCache = new Map<string, LoginCacheEntry>();
/** One cached Powertools provider per region, for the life of the container. */
const secretsByRegion = new Map<string, PowertoolsSecrets>();

/** The cached secrets reader for a region. */
export function cachedSecrets(region: string): PowertoolsSecrets {
  let s = secretsByRegion.get(region);
  if (!s) {
    s = new PowertoolsSecrets(secretsClient(region));
    secretsByRegion.set(region, s);
  }
  return s;
}

/** Forgets cached providers and Dex sessions (tests that change secrets between rounds). */
export function resetScheduledCanaryCaches(): void {
  secretsByRegion.clear();
  loginCache.clear();
}

/**
 * The canary's requests from their JSON form: one request, a list, or
 * `{"requests": [...]}`. Each is validated like an execution input
 * (`hostedZoneId` optional: only the Route 53 resolver of testbeds uses it).
 *
 * @throws InvalidRequestError naming the request and field.
 */
export function parseCanaryRequests(raw: unknown): ProvisionRequest[] {
  const list = Array.isArray(raw)
    ? raw
    : raw !== null && typeof raw === 'object' && Array.isArray((raw as { requests?: unknown }).requests)
      ? (raw as { requests: unknown[] }).requests
      : [raw];
  if (list.length === 0) throw new InvalidRequestError(`${CANARY_REQUESTS_ENV} holds no request`, { path: 'requests' });
  return list.map((item, i) => {
    try {
      return parseProvisionRequest(item);
    } catch (err) {
      if (err instanceof InvalidRequestError) {
        throw new InvalidRequestError(`requests[${i}]: ${err.message}`, {
          path: formatPath(['requests', i]) + (err.path ? `.${err.path}` : ''),
        });
      }
      throw err;
    }
  });
}

/** Reads and parses the configured requests (config cached like secrets). */
export async function canaryRequestsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ProvisionRequest[]> {
  const region = env.AWS_REGION || 'us-east-1';
  return parseCanaryRequests(await readJsonConfig(CANARY_REQUESTS_ENV, env, (id) => cachedSecrets(region).getConfigString(id)));
}

/** Canary dependencies for one request, secrets through Powertools (cached). */
export function scheduledCanaryDeps(request: ProvisionRequest, log: Logger, env: NodeJS.ProcessEnv = process.env): RunCanaryDeps {
  const caFile = env.KSERVE_EDGE_EXTRA_CA_FILE;
  return {
    secrets: cachedSecrets(request.cluster.region),
    resolver: resolverFromEnv(env, {
      route53: new Route53Adapter(route53Client()),
      ...(request.hostedZoneId ? { zoneId: request.hostedZoneId } : {}),
    }),
    ...(caFile ? { extraCa: readFileSync(caFile, 'utf8') } : {}),
    now: () => new Date(),
    log,
    loginCache,
  };
}
