/**
 * In-memory Secrets Manager. Like the adapter, it registers every value (and
 * every string leaf of a JSON value) for log redaction when read.
 */
import { InvalidSecretError } from '../../shared/errors';
import { registerSecret } from '../../shared/log';
import type { SecretsPort } from '../../shared/ports';
import { FailureQueue } from './awsError';

function registerLeaves(value: unknown): void {
  if (typeof value === 'string') registerSecret(value);
  else if (Array.isArray(value)) value.forEach(registerLeaves);
  else if (value !== null && typeof value === 'object') Object.values(value).forEach(registerLeaves);
}

/** In-memory {@link SecretsPort}. */
export class FakeSecrets implements SecretsPort {
  /** Secret ids read, in order. */
  readonly reads: string[] = [];
  readonly failures = new FailureQueue();
  private readonly values = new Map<string, string>();

  constructor(initial: Record<string, string | object> = {}) {
    for (const [id, v] of Object.entries(initial)) this.set(id, v);
  }

  /** Creates or replaces a secret; objects are stored as JSON. */
  set(id: string, value: string | object): void {
    this.values.set(id, typeof value === 'string' ? value : JSON.stringify(value));
  }

  delete(id: string): void {
    this.values.delete(id);
  }

  async getSecretString(secretId: string): Promise<string> {
    this.reads.push(secretId);
    this.failures.check('getSecretString');
    const v = this.values.get(secretId);
    if (v === undefined) throw new InvalidSecretError(`secret ${secretId} not found`);
    registerSecret(v);
    try {
      registerLeaves(JSON.parse(v));
    } catch {
      // Plain-text secret: registered whole above.
    }
    return v;
  }
}
