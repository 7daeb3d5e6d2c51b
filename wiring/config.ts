/**
 * The product's configuration: every environment variable kserve-edge reads,
 * parsed and validated once (zod) into a frozen, typed {@link Config}.
 *
 * This is the only module that reads the runtime environment for the product
 * (the Lambda handlers and the CLI go through it); the values are passed down
 * from here, so nothing under `shared/` reads `process.env`. The README's
 * environment table lists the same variables; `test/unit/config-docs.test.ts`
 * keeps the two in step.
 *
 * A bad value throws {@link ConfigError}, naming the variable and the rule,
 * before anything is read or written.
 */
import * as z from 'zod';
import { LOG_LEVELS, registerSecret, type LogLevel } from '../shared/log';
import type { ClusterAccessSettings } from '../shared/aws/eks';
import type { ResolverSettings } from '../shared/canary/resolver';
import { DEFAULT_SECRETS_MAX_AGE_SECONDS } from '../shared/aws/parameters';
import { DEFAULT_RETRY_PERIOD_MINUTES } from '../shared/steps/reconcileNamespaces';

import { ConfigError } from '../shared/errors';

export { ConfigError };

/** Every variable the configuration reads, with what it is for (the README's table says the same, for people). */
export const CONFIG_VARIABLES = [
  'AWS_REGION',
  'LOG_LEVEL',
  'POWERTOOLS_LOGGER_SAMPLE_RATE',
  'POWERTOOLS_METRICS_NAMESPACE',
  'KSERVE_EDGE_AWS_MAX_ATTEMPTS',
  'KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS',
  'KSERVE_EDGE_KUBECONFIG',
  'KSERVE_EDGE_CLUSTER_ENDPOINT',
  'KSERVE_EDGE_CLUSTER_CA_FILE',
  'KSERVE_EDGE_CLUSTER_TOKEN_FILE',
  'KSERVE_EDGE_CLUSTER_TOKEN',
  'KSERVE_EDGE_DNS_MODE',
  'KSERVE_EDGE_HOST_MAP_FILE',
  'KSERVE_EDGE_EXTRA_CA_FILE',
  'KSERVE_EDGE_SNS_TOPIC_ARN',
  'KSERVE_EDGE_CANARY_REQUESTS',
  'KSERVE_EDGE_REQUEST_TEMPLATE',
  'KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN',
  'KSERVE_EDGE_DEPROVISION_STATE_MACHINE_ARN',
  'KSERVE_EDGE_RETRY_PERIOD_MINUTES',
  'KSERVE_EDGE_IN_VPC',
] as const;

export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];

/** Variables whose value is a secret: never echoed in an error. */
const SECRET_VARIABLES: ReadonlySet<ConfigVariable> = new Set(['KSERVE_EDGE_CLUSTER_TOKEN']);

export const DEFAULT_MAX_ATTEMPTS = 3;

/** The validated configuration (deeply frozen). */
export interface Config {
  /** `AWS_REGION`: the Lambda's region; picks Route 53's partition and the default region for configuration secrets. */
  readonly region: string | undefined;
  readonly log: {
    /** `LOG_LEVEL`; default `info`. Lambda's `AWS_LAMBDA_LOG_LEVEL`, when set, wins (Powertools reads it). */
    readonly level: LogLevel;
    /** `POWERTOOLS_LOGGER_SAMPLE_RATE`: share of invocations logged at debug (0 to 1); default 0. */
    readonly sampleRate: number;
  };
  readonly aws: {
    /** `KSERVE_EDGE_AWS_MAX_ATTEMPTS`: the SDK's `maxAttempts` (first try included); default 3. */
    readonly maxAttempts: number;
  };
  /** `KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS`: Powertools Parameters cache lifetime; 0 turns caching off. */
  readonly secretsMaxAgeSeconds: number;
  /** `KSERVE_EDGE_KUBECONFIG` / `KSERVE_EDGE_CLUSTER_*`: how the cluster is reached. */
  readonly cluster: Readonly<ClusterAccessSettings>;
  readonly canary: {
    /** `KSERVE_EDGE_DNS_MODE`, `KSERVE_EDGE_HOST_MAP_FILE`. */
    readonly dns: Readonly<ResolverSettings>;
    /** `KSERVE_EDGE_EXTRA_CA_FILE`: a PEM trusted in addition to the system roots. */
    readonly extraCaFile: string | undefined;
    /** `KSERVE_EDGE_CANARY_REQUESTS`: JSON or a secret id (the scheduled canary). */
    readonly requests: string | undefined;
    /** `POWERTOOLS_METRICS_NAMESPACE`: the canary's CloudWatch namespace. */
    readonly metricsNamespace: string | undefined;
  };
  readonly lifecycle: {
    /** `KSERVE_EDGE_REQUEST_TEMPLATE`: JSON or a secret id. */
    readonly requestTemplate: string | undefined;
    /** `KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN`. */
    readonly provisionStateMachineArn: string | undefined;
    /** `KSERVE_EDGE_DEPROVISION_STATE_MACHINE_ARN`. */
    readonly deprovisionStateMachineArn: string | undefined;
    /** `KSERVE_EDGE_RETRY_PERIOD_MINUTES`: the sweep retries a failed run at most once per period; default 360. */
    readonly retryPeriodMinutes: number;
  };
  /** `KSERVE_EDGE_SNS_TOPIC_ARN`: where NotifyFailure publishes; unset: failures are only logged. */
  readonly snsTopicArn: string | undefined;
  readonly network: {
    /**
     * `KSERVE_EDGE_IN_VPC` (`true` / `false`, default false): the functions run in the cluster's VPC
     * (the stack sets it from its subnetIds / securityGroupIds parameters). False: ValidateRequest
     * refuses internal ALBs and private-only cluster endpoints (VpcRequired).
     */
    readonly inVpc: boolean;
  };
}

// ------------------------------------------------------------------ schema

/** An unset or blank variable is absent; values are trimmed. */
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

function integer(min: number, max: number, fallback: number) {
  return optionalText.pipe(
    z
      .string()
      .optional()
      .refine((v) => v === undefined || (/^-?\d+$/.test(v) && Number(v) >= min && Number(v) <= max), {
        message: `must be an integer from ${min} to ${max}`,
      })
      .transform((v) => (v === undefined ? fallback : Number(v))),
  );
}

const ARN = /^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12}):(.+)$/;

function arn(service: string, resource: RegExp, example: string) {
  return optionalText.pipe(
    z
      .string()
      .optional()
      .refine(
        (v) => {
          if (v === undefined) return true;
          const m = ARN.exec(v);
          return m !== null && m[1] === service && resource.test(m[4] ?? '');
        },
        { message: `must be ${example}` },
      ),
  );
}

const schema = z
  .object({
    AWS_REGION: optionalText.pipe(
      z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be a region name such as us-west-2')
        .optional(),
    ),
    LOG_LEVEL: optionalText.pipe(
      z
        .string()
        .optional()
        .transform((v) => v?.toLowerCase())
        .refine((v) => v === undefined || (LOG_LEVELS as readonly string[]).includes(v), {
          message: `must be one of ${LOG_LEVELS.join(', ')}`,
        })
        .transform((v) => (v ?? 'info') as LogLevel),
    ),
    POWERTOOLS_LOGGER_SAMPLE_RATE: optionalText.pipe(
      z
        .string()
        .optional()
        .refine((v) => v === undefined || (/^\d*\.?\d+$/.test(v) && Number(v) <= 1), { message: 'must be a number from 0 to 1' })
        .transform((v) => (v === undefined ? 0 : Number(v))),
    ),
    POWERTOOLS_METRICS_NAMESPACE: optionalText,
    KSERVE_EDGE_AWS_MAX_ATTEMPTS: integer(1, 20, DEFAULT_MAX_ATTEMPTS),
    KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS: integer(0, 86_400, DEFAULT_SECRETS_MAX_AGE_SECONDS),
    KSERVE_EDGE_KUBECONFIG: optionalText,
    KSERVE_EDGE_CLUSTER_ENDPOINT: optionalText.pipe(
      z
        .string()
        .regex(/^https:\/\//, 'must be an https:// URL')
        .optional(),
    ),
    KSERVE_EDGE_CLUSTER_CA_FILE: optionalText,
    KSERVE_EDGE_CLUSTER_TOKEN_FILE: optionalText,
    KSERVE_EDGE_CLUSTER_TOKEN: optionalText,
    KSERVE_EDGE_DNS_MODE: optionalText.pipe(
      z
        .string()
        .optional()
        .transform((v) => v?.toLowerCase())
        .refine((v) => v === undefined || v === 'system' || v === 'route53', { message: 'must be system or route53' }),
    ),
    KSERVE_EDGE_HOST_MAP_FILE: optionalText,
    KSERVE_EDGE_EXTRA_CA_FILE: optionalText,
    KSERVE_EDGE_SNS_TOPIC_ARN: arn('sns', /^[A-Za-z0-9_-]{1,256}(\.fifo)?$/, 'an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)'),
    KSERVE_EDGE_CANARY_REQUESTS: optionalText,
    KSERVE_EDGE_REQUEST_TEMPLATE: optionalText,
    KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN: arn(
      'states',
      /^stateMachine:[A-Za-z0-9_-]+$/,
      'a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)',
    ),
    KSERVE_EDGE_DEPROVISION_STATE_MACHINE_ARN: arn(
      'states',
      /^stateMachine:[A-Za-z0-9_-]+$/,
      'a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)',
    ),
    KSERVE_EDGE_RETRY_PERIOD_MINUTES: integer(1, 525_600, DEFAULT_RETRY_PERIOD_MINUTES),
    KSERVE_EDGE_IN_VPC: optionalText.pipe(
      z
        .string()
        .optional()
        .transform((v) => v?.toLowerCase())
        .refine((v) => v === undefined || v === 'true' || v === 'false', { message: 'must be true or false' })
        .transform((v) => v === 'true'),
    ),
  } satisfies Record<ConfigVariable, z.ZodType>)
  .superRefine((env, ctx) => {
    const issue = (variable: ConfigVariable, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });
    if (env.KSERVE_EDGE_CLUSTER_ENDPOINT && env.KSERVE_EDGE_KUBECONFIG) {
      issue('KSERVE_EDGE_KUBECONFIG', 'must not be set together with KSERVE_EDGE_CLUSTER_ENDPOINT: set only one of them');
    }
    if (env.KSERVE_EDGE_CLUSTER_ENDPOINT && !env.KSERVE_EDGE_CLUSTER_CA_FILE) {
      issue('KSERVE_EDGE_CLUSTER_CA_FILE', 'is required with KSERVE_EDGE_CLUSTER_ENDPOINT');
    }
    if (env.KSERVE_EDGE_DNS_MODE === 'route53' && !env.KSERVE_EDGE_HOST_MAP_FILE) {
      issue('KSERVE_EDGE_HOST_MAP_FILE', 'is required when KSERVE_EDGE_DNS_MODE=route53');
    }
  });

type Parsed = z.output<typeof schema>;

function toConfig(env: Parsed): Config {
  const cluster: ClusterAccessSettings = env.KSERVE_EDGE_CLUSTER_ENDPOINT
    ? {
        mode: 'endpoint',
        endpoint: env.KSERVE_EDGE_CLUSTER_ENDPOINT,
        caFile: env.KSERVE_EDGE_CLUSTER_CA_FILE as string,
        ...(env.KSERVE_EDGE_CLUSTER_TOKEN_FILE ? { tokenFile: env.KSERVE_EDGE_CLUSTER_TOKEN_FILE } : {}),
        ...(env.KSERVE_EDGE_CLUSTER_TOKEN ? { token: env.KSERVE_EDGE_CLUSTER_TOKEN } : {}),
      }
    : env.KSERVE_EDGE_KUBECONFIG
      ? { mode: 'kubeconfig', path: env.KSERVE_EDGE_KUBECONFIG }
      : { mode: 'eks' };
  const dns: ResolverSettings =
    env.KSERVE_EDGE_DNS_MODE === 'route53' ? { mode: 'route53', hostMapFile: env.KSERVE_EDGE_HOST_MAP_FILE as string } : { mode: 'system' };
  return deepFreeze({
    region: env.AWS_REGION,
    log: { level: env.LOG_LEVEL, sampleRate: env.POWERTOOLS_LOGGER_SAMPLE_RATE },
    aws: { maxAttempts: env.KSERVE_EDGE_AWS_MAX_ATTEMPTS },
    secretsMaxAgeSeconds: env.KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS,
    cluster,
    canary: {
      dns,
      extraCaFile: env.KSERVE_EDGE_EXTRA_CA_FILE,
      requests: env.KSERVE_EDGE_CANARY_REQUESTS,
      metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE,
    },
    lifecycle: {
      requestTemplate: env.KSERVE_EDGE_REQUEST_TEMPLATE,
      provisionStateMachineArn: env.KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN,
      deprovisionStateMachineArn: env.KSERVE_EDGE_DEPROVISION_STATE_MACHINE_ARN,
      retryPeriodMinutes: env.KSERVE_EDGE_RETRY_PERIOD_MINUTES,
    },
    snsTopicArn: env.KSERVE_EDGE_SNS_TOPIC_ARN,
    network: { inVpc: env.KSERVE_EDGE_IN_VPC },
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

// ------------------------------------------------------------------ loading

/**
 * Parses and validates `env` into a {@link Config}. Pure: no caching.
 *
 * @throws ConfigError for the first variable that breaks a rule.
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const raw = Object.fromEntries(CONFIG_VARIABLES.map((k) => [k, env[k]]));
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const variable = String(issue.path[0]) as ConfigVariable;
    const value = env[variable];
    const shown =
      SECRET_VARIABLES.has(variable) || value === undefined ? '' : ` (got "${value.length > 80 ? `${value.slice(0, 80)}…` : value}")`;
    throw new ConfigError(variable, `${issue.message}${shown}`);
  }
  const config = toConfig(result.data);
  // A token given in the environment is a secret from the moment it is read.
  if (config.cluster.mode === 'endpoint') registerSecret(config.cluster.token);
  return config;
}

let last: { key: string; config: Config } | undefined;

/**
 * The configuration of `env` (default: this process's environment), parsed
 * once: the result is kept and reused while the variables it reads keep their
 * values. In Lambda that is the life of the container; local runs and tests
 * that change the environment between runs get a fresh parse.
 *
 * @throws ConfigError naming the variable and the rule.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const key = JSON.stringify(CONFIG_VARIABLES.map((k) => env[k] ?? null));
  if (last?.key === key) return last.config;
  const config = parseConfig(env);
  last = { key, config };
  return config;
}

/** A value a caller needs that the configuration does not have. */
export function required<T>(value: T | undefined, variable: ConfigVariable): T {
  if (value === undefined) throw new ConfigError(variable, 'is required');
  return value;
}
