import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeClusterCommand, EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { EKS_TOKEN_PREFIX, EksClusterAccess, eksToken, type ClusterAccessOptions } from '../../../shared/aws/eks';
import { clusterAccessFor } from '../../../wiring/cluster';
import { parseConfig } from '../../../wiring/config';
import { AccessDeniedError, ConfigError, ClusterNotFoundError, ClusterUnreachableError, ThrottledError } from '../../../shared/errors';
import { clearSecrets, redactString } from '../../../shared/log';
import { sdkError } from '../../fakes/awsError';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'sess/tok+en=' };
const credentials = async () => creds;
const when = new Date('2026-03-04T05:06:07Z');
const cluster = { name: 'kubeflow', region: 'us-west-2' };

/** Decodes a token back into its URL. */
function tokenUrl(token: string): URL {
  expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
  const b64 = token.slice(EKS_TOKEN_PREFIX.length);
  expect(b64).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
  return new URL(Buffer.from(b64, 'base64url').toString('utf8'));
}

const enc = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** Recomputes the SigV4 query signature independently of the code under test. */
function expectedSignature(url: URL, clusterName: string): string {
  const params = [...url.searchParams.entries()].filter(([k]) => k !== 'X-Amz-Signature');
  const canonicalQuery = params
    .map(([k, v]) => [enc(k), enc(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonical = [
    'GET',
    '/',
    canonicalQuery,
    `host:${url.hostname}\nx-k8s-aws-id:${clusterName}\n`,
    'host;x-k8s-aws-id',
    createHash('sha256').update('').digest('hex'),
  ].join('\n');
  const amzDate = url.searchParams.get('X-Amz-Date') ?? '';
  const scope = `${amzDate.slice(0, 8)}/us-west-2/sts/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key = hmac(`AWS4${creds.secretAccessKey}`, amzDate.slice(0, 8));
  key = hmac(key, 'us-west-2');
  key = hmac(key, 'sts');
  key = hmac(key, 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('Function: eksToken', () => {
  it('is k8s-aws-v1. + base64url of a presigned STS GetCallerIdentity URL bound to the cluster', async () => {
    // Act
    const token = await eksToken({ clusterName: 'kubeflow', region: 'us-west-2', credentials, signingDate: when });
    const url = tokenUrl(token);

    // Assess
    expect(url.protocol).toBe('https:');
    expect(url.hostname).toBe('sts.us-west-2.amazonaws.com');
    expect(url.pathname).toBe('/');
    const q = url.searchParams;
    expect(q.get('Action')).toBe('GetCallerIdentity');
    expect(q.get('Version')).toBe('2011-06-15');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Expires')).toBe('60');
    expect(q.get('X-Amz-Date')).toBe('20260304T050607Z');
    expect(q.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20260304/us-west-2/sts/aws4_request');
    expect(q.get('X-Amz-SignedHeaders')?.split(';')).toEqual(['host', 'x-k8s-aws-id']);
    expect(q.get('X-Amz-Security-Token')).toBe('sess/tok+en=');
    expect(q.get('X-Amz-Signature')).toBe(expectedSignature(url, 'kubeflow'));
  });

  it('binds the signature to the cluster name', async () => {
    const a = await eksToken({ clusterName: 'a', region: 'us-west-2', credentials, signingDate: when });
    const b = await eksToken({ clusterName: 'b', region: 'us-west-2', credentials, signingDate: when });
    expect(tokenUrl(a).searchParams.get('X-Amz-Signature')).not.toBe(tokenUrl(b).searchParams.get('X-Amz-Signature'));
    expect(tokenUrl(a).searchParams.get('X-Amz-Signature')).toBe(expectedSignature(tokenUrl(a), 'a'));
  });

  it('uses the China partition host in cn- regions', async () => {
    const token = await eksToken({ clusterName: 'k', region: 'cn-north-1', credentials, signingDate: when });
    expect(tokenUrl(token).hostname).toBe('sts.cn-north-1.amazonaws.com.cn');
  });
});

describe('Class: EksClusterAccess', () => {
  const eks = mockClient(EKSClient);
  const client = new EKSClient({ region: 'us-west-2' });
  const access = new EksClusterAccess({ eksClientFor: () => client, credentials, now: () => when });
  const active = {
    cluster: {
      name: 'kubeflow',
      status: 'ACTIVE' as const,
      endpoint: 'https://ABC.gr7.us-west-2.eks.amazonaws.com',
      certificateAuthority: { data: Buffer.from(PEM).toString('base64') },
    },
  };

  beforeEach(() => {
    eks.reset();
    clearSecrets();
  });

  it('returns endpoint, the decoded PEM and a registered token', async () => {
    eks.on(DescribeClusterCommand, { name: 'kubeflow' }).resolves(active);
    const conn = await access.connect(cluster);
    expect(conn.server).toBe('https://ABC.gr7.us-west-2.eks.amazonaws.com');
    expect(conn.caData).toBe(PEM);
    expect(tokenUrl(conn.token).searchParams.get('X-Amz-Expires')).toBe('60');
    expect(redactString(`Bearer ${conn.token}`)).toBe('Bearer [REDACTED]');
  });

  it("passes on DescribeCluster's endpointPublicAccess (a private-only endpoint is false), and nothing when it is absent", async () => {
    const vpcConfig = (endpointPublicAccess: boolean) => ({
      cluster: { ...active.cluster, resourcesVpcConfig: { endpointPublicAccess, endpointPrivateAccess: true } },
    });
    eks.on(DescribeClusterCommand).resolvesOnce(vpcConfig(false)).resolvesOnce(vpcConfig(true)).resolves(active);
    expect((await access.connect(cluster)).endpointPublicAccess).toBe(false);
    expect((await access.connect(cluster)).endpointPublicAccess).toBe(true);
    expect(await access.connect(cluster)).not.toHaveProperty('endpointPublicAccess');
  });

  it('maps ResourceNotFoundException to ClusterNotFound', async () => {
    eks
      .on(DescribeClusterCommand)
      .rejects(new ResourceNotFoundException({ message: 'No cluster found for name: kubeflow.', $metadata: {} }));
    await expect(access.connect(cluster)).rejects.toBeInstanceOf(ClusterNotFoundError);
  });

  it.each(['CREATING', 'DELETING', 'FAILED', 'PENDING'] as const)('a %s cluster is ClusterUnreachable', async (status) => {
    eks.on(DescribeClusterCommand).resolves({ cluster: { ...active.cluster, status } });
    await expect(access.connect(cluster)).rejects.toThrow(ClusterUnreachableError);
    await expect(access.connect(cluster)).rejects.toThrow(`is ${status}`);
  });

  it('an UPDATING cluster still serves', async () => {
    eks.on(DescribeClusterCommand).resolves({ cluster: { ...active.cluster, status: 'UPDATING' } });
    await expect(access.connect(cluster)).resolves.toMatchObject({ caData: PEM });
  });

  it('a CA that is not PEM (moto) is ClusterUnreachable', async () => {
    eks.on(DescribeClusterCommand).resolves({ cluster: { ...active.cluster, certificateAuthority: { data: 'cmFuZG9tIGp1bms=' } } });
    await expect(access.connect(cluster)).rejects.toBeInstanceOf(ClusterUnreachableError);
  });

  it('maps throttling', async () => {
    eks.on(DescribeClusterCommand).rejects(sdkError('ThrottlingException', 'slow'));
    await expect(access.connect(cluster)).rejects.toBeInstanceOf(ThrottledError);
  });

  it('missing credentials are AccessDenied', async () => {
    eks.on(DescribeClusterCommand).resolves(active);
    const noCreds = new EksClusterAccess({
      eksClientFor: () => client,
      credentials: async () => {
        throw sdkError('CredentialsProviderError', 'Could not load credentials from any providers');
      },
    });
    await expect(noCreds.connect(cluster)).rejects.toBeInstanceOf(AccessDeniedError);
  });
});

/** The cluster access the configuration of `env` chooses (wiring/config.ts validates, wiring/cluster.ts builds). */
function clusterAccessFromEnv(env: Record<string, string>, options: ClusterAccessOptions) {
  return clusterAccessFor(parseConfig(env), options);
}

describe('Function: clusterAccessFor (from the environment)', () => {
  const eks = mockClient(EKSClient);
  const client = new EKSClient({ region: 'us-west-2' });
  const base = { eksClientFor: () => client, credentials, now: () => when };
  const motoCluster = {
    cluster: {
      name: 'kubeflow',
      status: 'ACTIVE' as const,
      endpoint: 'https://random.eks.amazonaws.com/',
      certificateAuthority: { data: 'bm90IHBlbQ==' },
    },
  };
  let dir: string;

  beforeEach(async () => {
    eks.reset();
    clearSecrets();
    dir = await mkdtemp(join(tmpdir(), 'kserve-edge-eks-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('without overrides is plain EKS access', () => {
    expect(clusterAccessFromEnv({}, base)).toBeInstanceOf(EksClusterAccess);
  });

  it('endpoint override: DescribeCluster first, then endpoint, CA file and token file', async () => {
    // Prepare
    await writeFile(join(dir, 'ca.pem'), PEM);
    await writeFile(join(dir, 'token'), 'testbed-token-123\n');
    eks.on(DescribeClusterCommand).resolves(motoCluster);
    const access = clusterAccessFromEnv(
      {
        KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://127.0.0.1:6443',
        KSERVE_EDGE_CLUSTER_CA_FILE: join(dir, 'ca.pem'),
        KSERVE_EDGE_CLUSTER_TOKEN_FILE: join(dir, 'token'),
      },
      base,
    );
    // Act
    const conn = await access.connect(cluster);
    // Assess
    expect(conn).toEqual({ server: 'https://127.0.0.1:6443', caData: PEM, token: 'testbed-token-123' });
    expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(1);
    expect(redactString('testbed-token-123')).toBe('[REDACTED]');
  });

  it('endpoint override keeps the endpoint access of the DescribeCluster it makes first', async () => {
    await writeFile(join(dir, 'ca.pem'), PEM);
    eks.on(DescribeClusterCommand).resolves({
      cluster: { ...motoCluster.cluster, resourcesVpcConfig: { endpointPublicAccess: false, endpointPrivateAccess: true } },
    });
    const access = clusterAccessFromEnv(
      {
        KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://127.0.0.1:6443',
        KSERVE_EDGE_CLUSTER_CA_FILE: join(dir, 'ca.pem'),
        KSERVE_EDGE_CLUSTER_TOKEN: 't-1',
      },
      base,
    );
    expect(await access.connect(cluster)).toMatchObject({ server: 'https://127.0.0.1:6443', endpointPublicAccess: false });
  });

  it('endpoint override still fails with ClusterNotFound for a missing cluster', async () => {
    await writeFile(join(dir, 'ca.pem'), PEM);
    eks.on(DescribeClusterCommand).rejects(new ResourceNotFoundException({ message: 'nope', $metadata: {} }));
    const access = clusterAccessFromEnv(
      {
        KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://127.0.0.1:6443',
        KSERVE_EDGE_CLUSTER_CA_FILE: join(dir, 'ca.pem'),
        KSERVE_EDGE_CLUSTER_TOKEN: 't0ken',
      },
      base,
    );
    await expect(access.connect(cluster)).rejects.toBeInstanceOf(ClusterNotFoundError);
  });

  it('endpoint override without a token setting uses the EKS token', async () => {
    await writeFile(join(dir, 'ca.pem'), PEM);
    eks.on(DescribeClusterCommand).resolves(motoCluster);
    const access = clusterAccessFromEnv(
      { KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://127.0.0.1:6443', KSERVE_EDGE_CLUSTER_CA_FILE: join(dir, 'ca.pem') },
      base,
    );
    const conn = await access.connect(cluster);
    expect(tokenUrl(conn.token).searchParams.get('Action')).toBe('GetCallerIdentity');
  });

  it('endpoint override requires the CA file setting', () => {
    expect(() => clusterAccessFromEnv({ KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://127.0.0.1:6443' }, base)).toThrow(
      /KSERVE_EDGE_CLUSTER_CA_FILE/,
    );
  });

  it('kubeconfig: server, CA and token of the current context', async () => {
    // Prepare
    const kubeconfig = `apiVersion: v1
kind: Config
current-context: testbed
clusters:
- name: other
  cluster: { server: "https://10.0.0.1:443", certificate-authority-data: "${Buffer.from('other').toString('base64')}" }
- name: tb
  cluster: { server: "https://127.0.0.1:7443", certificate-authority-data: "${Buffer.from(PEM).toString('base64')}" }
users:
- name: admin
  user: { token: "kubeconfig-token-xyz" }
contexts:
- name: other
  context: { cluster: other, user: admin }
- name: testbed
  context: { cluster: tb, user: admin }
`;
    await writeFile(join(dir, 'config'), kubeconfig);
    eks.on(DescribeClusterCommand).resolves(motoCluster);
    // Act
    const conn = await clusterAccessFromEnv({ KSERVE_EDGE_KUBECONFIG: join(dir, 'config') }, base).connect(cluster);
    // Assess
    expect(conn).toEqual({ server: 'https://127.0.0.1:7443', caData: PEM, token: 'kubeconfig-token-xyz' });
    expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(1);
    expect(redactString('kubeconfig-token-xyz')).toBe('[REDACTED]');
  });

  it('kubeconfig with exec auth falls back to the EKS token and reads a CA file', async () => {
    await writeFile(join(dir, 'ca.pem'), PEM);
    await writeFile(
      join(dir, 'config'),
      `apiVersion: v1
kind: Config
current-context: c
clusters: [{ name: c, cluster: { server: "https://eks.example", certificate-authority: "${join(dir, 'ca.pem')}" } }]
users: [{ name: u, user: { exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: aws, args: [eks, get-token] } } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
`,
    );
    eks.on(DescribeClusterCommand).resolves(motoCluster);
    const conn = await clusterAccessFromEnv({ KSERVE_EDGE_KUBECONFIG: join(dir, 'config') }, base).connect(cluster);
    expect(conn.caData).toBe(PEM);
    expect(conn.token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
  });

  it('refuses both overrides at once', () => {
    expect(() => clusterAccessFromEnv({ KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://a', KSERVE_EDGE_KUBECONFIG: '/x' }, base)).toThrow(
      ConfigError,
    );
  });
});
