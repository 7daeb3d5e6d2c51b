/**
 * How the steps reach a cluster's API server.
 *
 * Production: EKS DescribeCluster gives endpoint and CA; the bearer token is
 * the one `aws eks get-token` / aws-iam-authenticator makes:
 *
 *   k8s-aws-v1.<base64url, no padding, of a presigned STS GetCallerIdentity URL>
 *
 * The URL is signed (SigV4, query-string form) with the extra header
 * `x-k8s-aws-id: <cluster name>` in X-Amz-SignedHeaders, so the token is only
 * good for that cluster, and `X-Amz-Expires=60` as aws-iam-authenticator sets
 * it (the server accepts a token for 15 minutes from X-Amz-Date regardless).
 *
 * Overrides ({@link clusterAccess}, chosen by `wiring/config.ts` from the
 * environment) keep DescribeCluster as the first call,
 * so a missing cluster fails as ClusterNotFound exactly as in production, but
 * take endpoint/CA/token from elsewhere: moto's DescribeCluster returns a
 * random endpoint and a CA that is not PEM, so the testbed needs this seam.
 */
import { readFile } from 'node:fs/promises';
import { Sha256 } from '@smithy/core/checksum';
import { type EKSClient, DescribeClusterCommand } from '@aws-sdk/client-eks';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { AccessDeniedError, ClusterNotFoundError, ClusterUnreachableError } from '../errors';
import { registerSecret } from '../log';
import type { ClusterAccessPort, ClusterConnection, ClusterRef } from '../ports';
import { isAwsError, mapAwsError } from './errors';

/** Prefix of an EKS bearer token. */
export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** Header that binds the token to one cluster. */
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** Presigned URL lifetime aws-iam-authenticator uses. */
export const TOKEN_URL_EXPIRES_SECONDS = 60;

/** Statuses in which the API server answers. UPDATING (e.g. a version upgrade) keeps serving. */
const SERVING_STATUSES = new Set(['ACTIVE', 'UPDATING']);

/** `sts.<region>.amazonaws.com`, or `.amazonaws.com.cn` in the China partition. */
export function stsHostname(region: string): string {
  return region.startsWith('cn-') ? `sts.${region}.amazonaws.com.cn` : `sts.${region}.amazonaws.com`;
}

/** RFC 3986 encoding, as SigV4 canonicalises query strings (encodeURIComponent leaves `!'()*`). */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface EksTokenInput {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Signing time; default now (tests pin it). */
  signingDate?: Date;
}

/**
 * Makes an EKS bearer token (see the module comment for the format).
 *
 * @example
 *   const token = await eksToken({ clusterName: 'kf', region: 'us-west-2', credentials: defaultProvider() });
 */
export async function eksToken(input: EksTokenInput): Promise<string> {
  const hostname = stsHostname(input.region);
  const signer = new SignatureV4({
    service: 'sts',
    region: input.region,
    credentials: input.credentials,
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: hostname, [CLUSTER_ID_HEADER]: input.clusterName },
  });
  const signed = await signer.presign(request, {
    expiresIn: TOKEN_URL_EXPIRES_SECONDS,
    ...(input.signingDate ? { signingDate: input.signingDate } : {}),
  });
  const query = Object.entries(signed.query ?? {})
    .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x] as const) : v == null ? [] : [[k, v] as const]))
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

/** Where the API server is, before a token is attached. */
export interface ClusterEndpoint {
  server: string;
  /** PEM as decoded from `certificateAuthority.data`; may be junk under moto. */
  caData: string;
  /** `resourcesVpcConfig.endpointPublicAccess` (false: a private-only endpoint); undefined if not given. */
  endpointPublicAccess?: boolean;
}

/** The endpoint-access part of {@link ClusterEndpoint}, for the connection every mode returns. */
function accessOf(endpoint: ClusterEndpoint): Pick<ClusterConnection, 'endpointPublicAccess'> {
  return endpoint.endpointPublicAccess === undefined ? {} : { endpointPublicAccess: endpoint.endpointPublicAccess };
}

export interface EksClusterAccessOptions {
  /** EKS client per region (`wiring/clients.ts` caches one per region). */
  eksClientFor: (region: string) => EKSClient;
  /** Credentials that sign the token; default the SDK's default provider chain. */
  credentials?: AwsCredentialIdentityProvider;
  /** Clock for signing (tests). */
  now?: () => Date;
}

function isPem(text: string): boolean {
  return text.includes('-----BEGIN CERTIFICATE-----');
}

/**
 * {@link ClusterAccessPort} over EKS and STS presigning.
 *
 * @example
 *   const conn = await new EksClusterAccess({ eksClientFor: (r) => new EKSClient({ region: r }) }).connect({ name: 'kubeflow', region: 'us-west-2' });
 */
export class EksClusterAccess implements ClusterAccessPort {
  private readonly eksClientFor: (region: string) => EKSClient;
  private readonly credentials: AwsCredentialIdentityProvider;
  private readonly now: () => Date;

  constructor(options: EksClusterAccessOptions) {
    this.eksClientFor = options.eksClientFor;
    this.credentials = options.credentials ?? defaultProvider();
    this.now = options.now ?? (() => new Date());
  }

  async connect(cluster: ClusterRef): Promise<ClusterConnection> {
    const endpoint = await this.describe(cluster);
    if (!isPem(endpoint.caData)) {
      throw new ClusterUnreachableError(`EKS cluster ${cluster.name} returned no PEM certificate authority`);
    }
    return { server: endpoint.server, caData: endpoint.caData, ...accessOf(endpoint), token: await this.token(cluster) };
  }

  /**
   * DescribeCluster: endpoint and CA of a cluster that is serving.
   * Throws {@link ClusterNotFoundError} or {@link ClusterUnreachableError}.
   */
  async describe(cluster: ClusterRef): Promise<ClusterEndpoint> {
    let out;
    try {
      out = await this.eksClientFor(cluster.region).send(new DescribeClusterCommand({ name: cluster.name }));
    } catch (err) {
      if (isAwsError(err, 'ResourceNotFoundException')) {
        throw new ClusterNotFoundError(`EKS cluster ${cluster.name} not found in ${cluster.region}`, { cause: err });
      }
      throw mapAwsError(err, 'eks:DescribeCluster');
    }
    const c = out.cluster;
    if (!c) throw new ClusterNotFoundError(`EKS cluster ${cluster.name} not found in ${cluster.region}`);
    const status = c.status ?? 'UNKNOWN';
    if (!SERVING_STATUSES.has(status)) {
      throw new ClusterUnreachableError(`EKS cluster ${cluster.name} is ${status}, not ACTIVE`);
    }
    if (!c.endpoint) throw new ClusterUnreachableError(`EKS cluster ${cluster.name} has no endpoint yet`);
    const caData = Buffer.from(c.certificateAuthority?.data ?? '', 'base64').toString('utf8');
    const publicAccess = c.resourcesVpcConfig?.endpointPublicAccess;
    return { server: c.endpoint, caData, ...(typeof publicAccess === 'boolean' ? { endpointPublicAccess: publicAccess } : {}) };
  }

  /** A fresh bearer token for the cluster, registered for redaction. */
  async token(cluster: ClusterRef): Promise<string> {
    let token: string;
    try {
      token = await eksToken({
        clusterName: cluster.name,
        region: cluster.region,
        credentials: this.credentials,
        signingDate: this.now(),
      });
    } catch (err) {
      // No credentials at all is a deployment problem the user must fix, not a transient one.
      if (isAwsError(err, 'CredentialsProviderError')) {
        throw new AccessDeniedError('not allowed to sts:GetCallerIdentity: no AWS credentials to sign the EKS token', {
          cause: err,
        });
      }
      throw mapAwsError(err, 'sts:GetCallerIdentity');
    }
    registerSecret(token);
    return token;
  }
}

// ------------------------------------------------------------------ overrides

/**
 * Where the cluster's endpoint, CA and token come from (validated by
 * `wiring/config.ts` from the `KSERVE_EDGE_CLUSTER_*` / `KSERVE_EDGE_KUBECONFIG` variables):
 *
 * | mode         | endpoint / CA               | token                                   |
 * |--------------|-----------------------------|-----------------------------------------|
 * | `eks`        | EKS DescribeCluster         | presigned STS (EKS)                     |
 * | `endpoint`   | `endpoint` + `caFile`       | `tokenFile`, `token`, else EKS          |
 * | `kubeconfig` | its current context         | its static token, else EKS              |
 */
export type ClusterAccessSettings =
  | { mode: 'eks' }
  | { mode: 'endpoint'; endpoint: string; caFile: string; tokenFile?: string; token?: string }
  | { mode: 'kubeconfig'; path: string };

/** Reads a text file; injectable for tests. */
export type ReadText = (path: string) => Promise<string>;

/** The part of `@kubernetes/client-node` the kubeconfig mode needs. */
export type KubeConfigModule = { KubeConfig: typeof KubeConfig };

export interface ClusterAccessOptions extends EksClusterAccessOptions {
  readText?: ReadText;
  /**
   * Loads the Kubernetes client for the kubeconfig mode. Injected by the edge
   * (`wiring/cluster.ts`) rather than imported here: an `import()` anywhere in a
   * Lambda bundle makes esbuild keep every module of `@kubernetes/client-node`
   * (+3 MB per function), and the bundles leave this local-run feature out.
   * Without it the kubeconfig mode fails with ClusterUnreachable.
   */
  loadKubeConfig?: () => Promise<KubeConfigModule>;
}

async function readOrThrow(readText: ReadText, path: string, what: string): Promise<string> {
  try {
    return await readText(path);
  } catch (err) {
    throw new ClusterUnreachableError(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Endpoint, CA and (optionally) token from explicit settings; DescribeCluster
 * still runs first. Without a token setting, the EKS token is used (a testbed
 * apiserver may verify it through a token webhook).
 */
class EndpointOverrideAccess implements ClusterAccessPort {
  constructor(
    private readonly eks: EksClusterAccess,
    private readonly server: string,
    private readonly caFile: string,
    private readonly token: { file?: string; value?: string },
    private readonly readText: ReadText,
  ) {}

  async connect(cluster: ClusterRef): Promise<ClusterConnection> {
    const described = await this.eks.describe(cluster);
    const caData = await readOrThrow(this.readText, this.caFile, 'cluster CA file');
    let token: string;
    // The file is read on every connect so a rotated token is picked up.
    if (this.token.file) token = (await readOrThrow(this.readText, this.token.file, 'cluster token file')).trim();
    else if (this.token.value) token = this.token.value.trim();
    else token = await this.eks.token(cluster);
    registerSecret(token);
    return { server: this.server, caData, token, ...accessOf(described) };
  }
}

/**
 * Server, CA and token of a kubeconfig's current context; DescribeCluster
 * still runs first. A user entry without a static token (the usual
 * `exec: aws eks get-token`) gets the EKS token, which is what exec would print.
 */
class KubeconfigAccess implements ClusterAccessPort {
  constructor(
    private readonly eks: EksClusterAccess,
    private readonly path: string,
    private readonly readText: ReadText,
    private readonly loadKubeConfig: (() => Promise<KubeConfigModule>) | undefined,
  ) {}

  async connect(cluster: ClusterRef): Promise<ClusterConnection> {
    const described = await this.eks.describe(cluster);
    const text = await readOrThrow(this.readText, this.path, 'kubeconfig');
    // Loaded lazily, and only where the edge provides it (see ClusterAccessOptions.loadKubeConfig).
    const { KubeConfig } = this.loadKubeConfig ? await this.loadKubeConfig() : notInLambdaBundles();
    const kc = new KubeConfig();
    try {
      kc.loadFromString(text);
    } catch (err) {
      throw new ClusterUnreachableError(`kubeconfig ${this.path} is not valid: ${(err as Error).message}`, { cause: err });
    }
    const kcCluster = kc.getCurrentCluster();
    if (!kcCluster) throw new ClusterUnreachableError(`kubeconfig ${this.path} has no current cluster`);
    let caData: string;
    if (kcCluster.caData) caData = Buffer.from(kcCluster.caData, 'base64').toString('utf8');
    else if (kcCluster.caFile) caData = await readOrThrow(this.readText, kcCluster.caFile, 'kubeconfig CA file');
    else throw new ClusterUnreachableError(`kubeconfig ${this.path}: cluster ${kcCluster.name} has no certificate-authority`);
    const user = kc.getCurrentUser();
    const token = user?.token ? user.token : await this.eks.token(cluster);
    registerSecret(token);
    return { server: kcCluster.server, caData, token, ...accessOf(described) };
  }
}

function notInLambdaBundles(): never {
  throw new ClusterUnreachableError(
    'KSERVE_EDGE_KUBECONFIG is for local runs; in Lambda the cluster is reached through EKS or KSERVE_EDGE_CLUSTER_ENDPOINT',
  );
}

/**
 * The cluster access the settings ask for (see {@link ClusterAccessSettings});
 * DescribeCluster runs first in every mode. A static token is registered for
 * redaction here.
 *
 * @example
 *   const access = clusterAccess({ mode: 'eks' }, { eksClientFor: (r) => new EKSClient({ region: r }) });
 *   const conn = await access.connect({ name: 'kubeflow', region: 'us-west-2' });
 */
export function clusterAccess(settings: ClusterAccessSettings, options: ClusterAccessOptions): ClusterAccessPort {
  const eks = new EksClusterAccess(options);
  const readText: ReadText = options.readText ?? ((p) => readFile(p, 'utf8'));
  switch (settings.mode) {
    case 'eks':
      return eks;
    case 'kubeconfig':
      return new KubeconfigAccess(eks, settings.path, readText, options.loadKubeConfig);
    case 'endpoint':
      if (settings.token) registerSecret(settings.token);
      return new EndpointOverrideAccess(
        eks,
        settings.endpoint,
        settings.caFile,
        { ...(settings.tokenFile ? { file: settings.tokenFile } : {}), ...(settings.token ? { value: settings.token } : {}) },
        readText,
      );
  }
}
