/**
 * Canary dependencies from the configuration, for the RunCanary step, the
 * scheduled canary and the CLI: the resolver (`KSERVE_EDGE_DNS_MODE`,
 * `KSERVE_EDGE_HOST_MAP_FILE`), an extra trusted CA (`KSERVE_EDGE_EXTRA_CA_FILE`;
 * TLS verification is never turned off, an extra CA only adds trust), and for
 * the scheduled canary its requests (`KSERVE_EDGE_CANARY_REQUESTS`) with secrets
 * read through Powertools Parameters (cached per container,
 * `KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS`) and Dex sessions kept between invocations.
 */
import { readFileSync } from 'node:fs';
import { PowertoolsSecrets, readJsonConfig } from '../shared/aws/parameters';
import { RateLimiter } from '../shared/aws/rateLimit';
import { Route53Adapter } from '../shared/aws/route53';
import { SecretsAdapter } from '../shared/aws/secrets';
import type { LoginCacheEntry, RunCanaryDeps } from '../shared/canary/probe';
import type { CachedToken } from '../shared/canary/token';
import { resolverFor } from '../shared/canary/resolver';
import { HttpsGetAdapter } from '../shared/canary/httpGet';
import { CANARY_REQUESTS_ENV, parseCanaryRequests } from '../shared/canary/scheduled';
import type { ValidatedRequest } from '../shared/input';
import type { Logger } from '../shared/log';
import type { ProvisionRequest } from '../shared/request';
import { route53Client, secretsClient } from './clients';
import type { Config } from './config';

/** Dex sessions survive between invocations of a warm Lambda (RunCanary's, and the scheduled canary's own). */
const loginCache = new Map<string, LoginCacheEntry>();
const scheduledLoginCache = new Map<string, LoginCacheEntry>();
/** JWT access tokens survive between invocations too, until shortly before they expire (shared/canary/token.ts). */
const tokenCache = new Map<string, CachedToken>();
const scheduledTokenCache = new Map<string, CachedToken>();
/** One cached Powertools provider per region and cache lifetime, for the life of the container. */
const secretsByRegion = new Map<string, PowertoolsSecrets>();

/**
 * The canary's Route 53 resolver (testbeds: `KSERVE_EDGE_DNS_MODE=route53`)
 * stands in for DNS, which costs no API calls in AWS: it is not paced, or a
 * canary of 24 namespaces would wait on Route 53's 4 calls a second past its
 * request timeouts.
 */
const UNPACED = new RateLimiter({ perSecond: {} });

function extraCa(config: Config): { extraCa?: string } {
  const file = config.canary.extraCaFile;
  return file ? { extraCa: readFileSync(file, 'utf8') } : {};
}

/** RunCanary's and the CLI's dependencies: secrets read directly (a run reads each once). */
export function canaryDeps(config: Config, request: ValidatedRequest, log: Logger): RunCanaryDeps {
  return {
    secrets: new SecretsAdapter(secretsClient(config, request.cluster.region)),
    resolver: resolverFor(config.canary.dns, { route53: new Route53Adapter(route53Client(config), UNPACED), zoneId: request.hostedZoneId }),
    ...extraCa(config),
    now: () => new Date(),
    log,
    loginCache,
    tokenCache,
  };
}

/**
 * HTTPS reads of an issuer's public documents (ValidateRequest): the canary's
 * resolver and extra CA, since the issuer is reached the way the canary reaches it.
 */
export function issuerHttp(config: Config): HttpsGetAdapter {
  return new HttpsGetAdapter({
    resolver: resolverFor(config.canary.dns, { route53: new Route53Adapter(route53Client(config), UNPACED) }),
    ...extraCa(config),
  });
}

/** The cached secrets reader for a region. */
export function cachedSecrets(config: Config, region: string): PowertoolsSecrets {
  const key = `${region}:${config.secretsMaxAgeSeconds}`;
  let s = secretsByRegion.get(key);
  if (!s) {
    s = new PowertoolsSecrets(secretsClient(config, region), { maxAgeSeconds: config.secretsMaxAgeSeconds });
    secretsByRegion.set(key, s);
  }
  return s;
}

/** Forgets cached providers and Dex sessions (tests that change secrets between rounds). */
export function resetScheduledCanaryCaches(): void {
  secretsByRegion.clear();
  scheduledLoginCache.clear();
  scheduledTokenCache.clear();
}

/** Reads and parses the configured requests (config cached like secrets). */
export async function canaryRequests(config: Config): Promise<ProvisionRequest[]> {
  const region = config.region ?? 'us-east-1';
  return parseCanaryRequests(
    await readJsonConfig(CANARY_REQUESTS_ENV, config.canary.requests, (id) => cachedSecrets(config, region).getConfigString(id)),
  );
}

/** Canary dependencies for one scheduled request, secrets through Powertools (cached). */
export function scheduledCanaryDeps(config: Config, request: ProvisionRequest, log: Logger): RunCanaryDeps {
  return {
    secrets: cachedSecrets(config, request.cluster.region),
    resolver: resolverFor(config.canary.dns, {
      route53: new Route53Adapter(route53Client(config), UNPACED),
      ...(request.hostedZoneId ? { zoneId: request.hostedZoneId } : {}),
    }),
    ...extraCa(config),
    now: () => new Date(),
    log,
    loginCache: scheduledLoginCache,
    tokenCache: scheduledTokenCache,
  };
}
