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
 * It is the SDK's own `fromEnv` (`@aws-sdk/credential-provider-env`): a
 * missing key is a `CredentialsProviderError` (see `shared/aws/eks.ts`,
 * which maps it to AccessDenied).
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** `defaultProvider(init)` as the SDK clients' runtime config calls it: the SDK's own environment provider. */
export function defaultProvider(init?: Parameters<typeof fromEnv>[0]): AwsCredentialIdentityProvider {
  return fromEnv(init);
}

/** The rest of `@aws-sdk/credential-provider-node`'s exports, with its semantics. */
export const credentialsWillNeedRefresh = (credentials?: AwsCredentialIdentity): boolean => credentials?.expiration !== undefined;
export const credentialsTreatedAsExpired = (credentials?: AwsCredentialIdentity): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
