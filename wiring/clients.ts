/**
 * SDK v3 clients, created on first use and cached per region (and retry
 * setting) for the life of the Lambda container (Powertools' `clients/*.ts`
 * pattern, but lazy so a function only pays for the clients it touches).
 * `maxAttempts` comes from the configuration (`KSERVE_EDGE_AWS_MAX_ATTEMPTS`),
 * kept small because the state machine retries `Throttled`/`AwsUnavailable`
 * with its own backoff.
 *
 * Endpoints: SDK v3 reads `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_<SERVICE>`)
 * by itself, which is how the testbed points every client at moto; nothing
 * here needs to know about it.
 */
import { ACMClient } from '@aws-sdk/client-acm';
import { EKSClient } from '@aws-sdk/client-eks';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Config } from './config';

/** What the factories need from the configuration. */
export type ClientConfig = Pick<Config, 'aws' | 'region'>;

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
export function acmClient(config: ClientConfig, region: string): ACMClient {
  const maxAttempts = config.aws.maxAttempts;
  return cached(`acm:${region}:${maxAttempts}`, () => new ACMClient({ region, maxAttempts }));
}

/**
 * Resource Groups Tagging API client for `region`: finds our certificates by
 * their owner tag (GetResources), so it is the certificates' region.
 */
export function taggingClient(config: ClientConfig, region: string): ResourceGroupsTaggingAPIClient {
  const maxAttempts = config.aws.maxAttempts;
  return cached(`tagging:${region}:${maxAttempts}`, () => new ResourceGroupsTaggingAPIClient({ region, maxAttempts }));
}

/**
 * Route 53 client. Route 53 is global; its endpoint lives in us-east-1 for the
 * aws partition, so the region is fixed unless `AWS_REGION` points elsewhere in
 * another partition (e.g. `cn-north-1`).
 */
export function route53Client(config: ClientConfig): Route53Client {
  const own = config.region ?? '';
  const region = own.startsWith('cn-') || own.startsWith('us-gov-') ? own : 'us-east-1';
  const maxAttempts = config.aws.maxAttempts;
  return cached(`route53:${region}:${maxAttempts}`, () => new Route53Client({ region, maxAttempts }));
}

/** EKS client for the cluster's region. */
export function eksClient(config: ClientConfig, region: string): EKSClient {
  const maxAttempts = config.aws.maxAttempts;
  return cached(`eks:${region}:${maxAttempts}`, () => new EKSClient({ region, maxAttempts }));
}

/** ELBv2 client for the cluster's region (GetLoadBalancerAddress reads the ALB the controller built). */
export function elbv2Client(config: ClientConfig, region: string): ElasticLoadBalancingV2Client {
  const maxAttempts = config.aws.maxAttempts;
  return cached(`elbv2:${region}:${maxAttempts}`, () => new ElasticLoadBalancingV2Client({ region, maxAttempts }));
}

/** Service Quotas client for `region` (ACM's quotas are regional, as its certificates). */
export function serviceQuotasClient(config: ClientConfig, region: string): ServiceQuotasClient {
  const maxAttempts = config.aws.maxAttempts;
  return cached(`servicequotas:${region}:${maxAttempts}`, () => new ServiceQuotasClient({ region, maxAttempts }));
}

/** Secrets Manager client. */
export function secretsClient(config: ClientConfig, region: string): SecretsManagerClient {
  const maxAttempts = config.aws.maxAttempts;
  return cached(`secrets:${region}:${maxAttempts}`, () => new SecretsManagerClient({ region, maxAttempts }));
}

/** SNS client. */
export function snsClient(config: ClientConfig, region: string): SNSClient {
  const maxAttempts = config.aws.maxAttempts;
  return cached(`sns:${region}:${maxAttempts}`, () => new SNSClient({ region, maxAttempts }));
}

/** Step Functions client (the lifecycle functions start runs). */
export function sfnClient(config: ClientConfig, region: string): SFNClient {
  const maxAttempts = config.aws.maxAttempts;
  return cached(`sfn:${region}:${maxAttempts}`, () => new SFNClient({ region, maxAttempts }));
}

/** Drops every cached client (tests that change env between cases). */
export function resetClients(): void {
  for (const client of cache.values()) (client as { destroy?: () => void }).destroy?.();
  cache.clear();
}
