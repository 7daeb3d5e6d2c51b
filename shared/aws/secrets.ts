/**
 * Secrets Manager adapter. Every value is registered with the log redactor
 * the moment it is read, before any caller can log or return it.
 */
import { type SecretsManagerClient, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { InvalidSecretError } from '../errors';
import { registerSecret } from '../log';
import type { SecretsPort } from '../ports';
import { isAwsError, mapAwsError } from './errors';

/** Registers every string leaf of a JSON value (e.g. each token of `{"headerValues":[…]}`). */
function registerLeaves(value: unknown): void {
  if (typeof value === 'string') registerSecret(value);
  else if (Array.isArray(value)) value.forEach(registerLeaves);
  else if (value !== null && typeof value === 'object') Object.values(value).forEach(registerLeaves);
}

/**
 * {@link SecretsPort} over the AWS SDK.
 *
 * @example
 *   const secrets = new SecretsAdapter(secretsClient('us-west-2'));
 *   const json = JSON.parse(await secrets.getSecretString('kserve-edge/api-tokens'));
 */
export class SecretsAdapter implements SecretsPort {
  constructor(private readonly client: SecretsManagerClient) {}

  /** The SecretString; a missing secret is {@link InvalidSecretError} (the request names it). */
  async getSecretString(secretId: string): Promise<string> {
    let value: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      value = out.SecretString;
    } catch (err) {
      if (isAwsError(err, 'ResourceNotFoundException')) {
        throw new InvalidSecretError(`secret ${secretId} not found`, { cause: err });
      }
      throw mapAwsError(err, 'secretsmanager:GetSecretValue');
    }
    if (value === undefined) throw new InvalidSecretError(`secret ${secretId} has no string value (binary secrets are not supported)`);
    registerSecret(value);
    try {
      registerLeaves(JSON.parse(value));
    } catch {
      // Not JSON: the whole string, registered above, is the secret.
    }
    return value;
  }
}
