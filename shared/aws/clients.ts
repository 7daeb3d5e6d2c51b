/**
 * SDK v3 clients, created on first use and cached per region for the life of
 * the Lambda container (Powertools' `clients/*.ts` pattern, but lazy so a
 * function only pays for the clients it touches).
 *
 * Endpoints: SDK v3 reads `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_<SERVICE>`)
 * by itself, which is how the testbed points every client at moto; nothing
 * here needs to know about it.
 */
import { ACMClient } from '@aws-sdk/client-acm';
import { EKSClient } from '@aws-sdk/client-eks';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';

/** Env var that sets the SDK's `maxAttempts` (first try included). */
export const MAX_ATTEMPTS_ENV = 'KSERVE_EDGE_AWS_MAX_ATTEMPTS';
export const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * `maxAttempts` from {@link MAX_ATTEMPTS_ENV}; default 3. Kept small because the
 * state machine retries `Throttled`/`AwsUnavailable` with its own backoff.
 */
export function maxAttemptsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[MAX_ATTEMPTS_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_MAX_ATTEMPTS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 20) {
    throw new TypeError(`Environment variable ${MAX_ATTEMPTS_ENV} must be an integer from 1 to 20, got "${raw}"`);
  }
  return n;
}

const cache = new Map<string, unknown>();

function cached<T>(key: string, make: () => T): T {
  let client = cache.get(key) as T | undefined;
  if (client === undefined) {
    client = make();
    cache.set(key, client);
  }
  return client;
}

/** ACM client for `region` (certificates for an ALB live in the ALB's region). */
export function acmClient(region: string): ACMClient {
  return cached(`acm:${region}`, () => new ACMClient({ region, maxAttempts: maxAttemptsFromEnv() }));
}

/**
 * Route 53 client. Route 53 is global; its endpoint lives in us-east-1 for the
 * aws partition, so the region is fixed unless `AWS_REGION` points elsewhere in
 * another partition (e.g. `cn-north-1`).
 */
export function route53Client(): Route53Client {
  const envRegion = process.env.AWS_REGION ?? '';
  const region = envRegion.startsWith('cn-') || envRegion.startsWith('us-gov-') ? envRegion : 'us-east-1';
  return cached(`route53:${region}`, () => new Route53Client({ region, maxAttempts: maxAttemptsFromEnv() }));
}

/** EKS client for the cluster's region. */
export function eksClient(region: string): EKSClient {
  return cached(`eks:${region}`, () => new EKSClient({ region, maxAttempts: maxAttemptsFromEnv() }));
}

/** Secrets Manager client. */
export function secretsClient(region: string): SecretsManagerClient {
  return cached(`secrets:${region}`, () => new SecretsManagerClient({ region, maxAttempts: maxAttemptsFromEnv() }));
}

/** SNS client. */
export function snsClient(region: string): SNSClient {
  return cached(`sns:${region}`, () => new SNSClient({ region, maxAttempts: maxAttemptsFromEnv() }));
}

/** Step Functions client (the lifecycle functions start runs). */
export function sfnClient(region: string): SFNClient {
  return cached(`sfn:${region}`, () => new SFNClient({ region, maxAttempts: maxAttemptsFromEnv() }));
}

/** STS client. */
export function stsClient(region: string): STSClient {
  return cached(`sts:${region}`, () => new STSClient({ region, maxAttempts: maxAttemptsFromEnv() }));
}

/** Drops every cached client (tests that change env between cases). */
export function resetClients(): void {
  for (const client of cache.values()) (client as { destroy?: () => void }).destroy?.();
  cache.clear();
}
