/**
 * The credential provider the Lambda bundles get in place of
 * `@aws-sdk/credential-provider-node` (swapped at bundle time by
 * `scripts/esbuild-plugins.cjs`; local runs, the CLI and the tests keep the
 * SDK's full default chain).
 *
 * Lambda hands a function its role's credentials in `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. That is the first link of
 * the SDK's default chain and the one that always answers in Lambda; the other
 * links (SSO, shared ini files, credential_process, web identity, container
 * and instance metadata) and the STS/SSO/sign-in clients they bring cannot
 * run there, and cost ~95 KB in every bundle (`npm run bench`).
 *
 * Same contract as the SDK's `fromEnv`: a missing key is a
 * `CredentialsProviderError` (see `shared/aws/eks.ts`, which maps it to AccessDenied).
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

class CredentialsProviderError extends Error {
  override readonly name = 'CredentialsProviderError';
  /** Read by the SDK's provider chains: there is no next link here. */
  readonly tryNextLink = false;
}

/** `defaultProvider(init)` as the SDK clients' runtime config calls it; `init` is ignored. */
export function defaultProvider(_init?: unknown): AwsCredentialIdentityProvider {
  return async () => {
    // process.env on purpose: this module stands in for the SDK's own credential provider (the
    // credentials Lambda puts in the environment), so it reads what the SDK would; not configuration.
    const env = process.env;
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new CredentialsProviderError('Unable to find environment variable credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).');
    }
    return {
      accessKeyId,
      secretAccessKey,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      ...(env.AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(env.AWS_CREDENTIAL_EXPIRATION) } : {}),
      ...(env.AWS_ACCOUNT_ID ? { accountId: env.AWS_ACCOUNT_ID } : {}),
    };
  };
}

/** The rest of `@aws-sdk/credential-provider-node`'s exports, with its semantics. */
export const credentialsWillNeedRefresh = (credentials?: AwsCredentialIdentity): boolean => credentials?.expiration !== undefined;
export const credentialsTreatedAsExpired = (credentials?: AwsCredentialIdentity): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
