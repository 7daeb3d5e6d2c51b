/**
 * Secrets and configuration through Powertools for AWS Lambda (Parameters),
 * with an in-memory cache that lives as long as the Lambda container.
 *
 * The scheduled functions run every few minutes; without a cache each run
 * would call Secrets Manager once per secret. Powertools keeps each value for
 * `maxAge` seconds (default {@link DEFAULT_SECRETS_MAX_AGE_SECONDS}; the edge
 * passes `KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS`), so a rotated token is picked up within that
 * time, and a value the canary finds refused is re-read at once
 * (`forceFetch`) by {@link PowertoolsSecrets.refresh}.
 *
 * Every value is registered with the log redactor as it is read, exactly as
 * {@link SecretsAdapter} does.
 */
import { GetParameterError } from '@aws-lambda-powertools/parameters';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { InvalidRequestError, InvalidSecretError } from '../errors';
import { registerSecret } from '../log';
import type { SecretsPort } from '../ports';
import { isAwsError, mapAwsError } from './errors';

export const DEFAULT_SECRETS_MAX_AGE_SECONDS = 300;

function registerLeaves(value: unknown): void {
  if (typeof value === 'string') registerSecret(value);
  else if (Array.isArray(value)) value.forEach(registerLeaves);
  else if (value !== null && typeof value === 'object') Object.values(value).forEach(registerLeaves);
}

/**
 * {@link SecretsPort} over Powertools' `SecretsProvider` (cached).
 *
 * @example
 *   const secrets = new PowertoolsSecrets(secretsClient('us-west-2'), { maxAgeSeconds: 300 });
 *   const raw = await secrets.getSecretString('kserve-edge/api-tokens');
 */
export class PowertoolsSecrets implements SecretsPort {
  private readonly provider: SecretsProvider;
  private readonly maxAge: number;

  constructor(client: SecretsManagerClient, options: { maxAgeSeconds?: number } = {}) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
    this.maxAge = options.maxAgeSeconds ?? DEFAULT_SECRETS_MAX_AGE_SECONDS;
  }

  async getSecretString(secretId: string): Promise<string> {
    return this.read(secretId, { forceFetch: false, register: true });
  }

  /** Reads past the cache (e.g. after a token was refused). */
  async refresh(secretId: string): Promise<string> {
    return this.read(secretId, { forceFetch: true, register: true });
  }

  /**
   * A configuration document kept in Secrets Manager (e.g. the request
   * template). Cached like a secret but not registered for redaction: it
   * names domains and namespaces, which logs must keep showing. It must not
   * hold secrets itself (requests only name secrets).
   */
  async getConfigString(secretId: string): Promise<string> {
    return this.read(secretId, { forceFetch: false, register: false });
  }

  private async read(secretId: string, opts: { forceFetch: boolean; register: boolean }): Promise<string> {
    const forceFetch = opts.forceFetch;
    let value: unknown;
    try {
      value = await this.provider.get(secretId, { maxAge: this.maxAge, forceFetch: forceFetch || this.maxAge === 0 });
    } catch (err) {
      const cause = err instanceof GetParameterError ? err.cause : err;
      if (isAwsError(cause, 'ResourceNotFoundException')) throw new InvalidSecretError(`secret ${secretId} not found`, { cause });
      throw mapAwsError(cause, 'secretsmanager:GetSecretValue');
    }
    if (typeof value !== 'string') {
      throw new InvalidSecretError(`secret ${secretId} has no string value (binary secrets are not supported)`);
    }
    if (!opts.register) return value;
    registerSecret(value);
    try {
      registerLeaves(JSON.parse(value));
    } catch {
      // Not JSON: the whole string, registered above, is the secret.
    }
    return value;
  }
}

/**
 * A JSON configuration value from an environment variable: the JSON itself
 * (starts with `{` or `[`), or the name/ARN of a Secrets Manager secret that
 * holds it, read with `read` (normally {@link PowertoolsSecrets.getConfigString}).
 * `key` names the variable in errors; `value` is its (configured) value.
 *
 * @example
 *   const requests = await readJsonConfig('KSERVE_EDGE_CANARY_REQUESTS', config.canary.requests, (id) => secrets.getConfigString(id));
 */
export async function readJsonConfig(key: string, raw: string | undefined, read: (secretId: string) => Promise<string>): Promise<unknown> {
  const value = raw?.trim();
  if (!value)
    throw new InvalidRequestError(`Environment variable ${key} is required (JSON, or a Secrets Manager secret id holding it)`, {
      path: key,
    });
  const text = value.startsWith('{') || value.startsWith('[') ? value : await read(value);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidRequestError(
      `${key}: ${value.startsWith('{') || value.startsWith('[') ? 'the value' : `secret ${value}`} is not JSON`,
      {
        path: key,
      },
    );
  }
}
