/**
 * TLS verification is on where the product talks HTTPS, proven by connecting:
 * a throw-away CA (openssl, `../canary/pki.ts`) signs the certificate of a
 * local HTTPS server, and
 *
 * - the canary's HTTPS client (`shared/canary/http.ts`) and the Kubernetes
 *   adapter (`shared/k8s/client.ts`, the way the Lambdas connect to EKS) refuse
 *   it with the product's named error while that CA is not trusted;
 * - both succeed once that CA is configured as trusted (the canary's extra CA,
 *   the cluster CA data), and refuse again when the certificate is for another name;
 * - `NODE_TLS_REJECT_UNAUTHORIZED=0` in the environment does not turn it off.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createHttpsClient } from '../../../shared/canary/http';
import { CanaryFailedError, ConfigError, ClusterCertificateMismatchError } from '../../../shared/errors';
import { KubeAdapter } from '../../../shared/k8s/client';
import { fakeResolver, GOOD_NAMES, json, makeLeaf, makePki, startServer, type KeyPair, type Pki, type TestServer } from '../canary/pki';

const HOST = 'model.staging.platform.example.com';
const TOKEN = 'k8s-aws-v1.token-for-the-tls-test';

let pki: Pki;
/** The CA nobody trusts by default: `rogue` of makePki, which signed `pki.untrusted`. */
let rogueCaPem: string;

beforeAll(() => {
  pki = makePki();
  rogueCaPem = readFileSync(join(pki.dir, 'rogue.crt'), 'utf8');
});
afterAll(() => pki.cleanup());

/** Runs `fn` with NODE_TLS_REJECT_UNAUTHORIZED set as given, then restores it. */
async function withRejectUnauthorized<T>(value: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = value;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before;
  }
}

describe('the canary HTTPS client', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(pki.untrusted, (_req, res) => json(res, 200, { ok: true }));
  });
  afterAll(() => server.close());

  const client = (extraCa?: string) =>
    createHttpsClient({ resolver: fakeResolver({ [HOST]: server.port }), timeoutMs: 5_000, ...(extraCa ? { extraCa } : {}) });

  it('refuses a server whose certificate an untrusted CA signed, as CanaryFailed tls, before sending anything', async () => {
    const err = await client()({ url: `https://${HOST}/v2/health/ready` }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(CanaryFailedError);
    expect(err).toMatchObject({ name: 'CanaryFailed', kind: 'tls', phase: 'tls' });
    expect((err as Error).message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify the first certificate/);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses it with another CA configured as the extra CA', async () => {
    await expect(client(pki.caPem)({ url: `https://${HOST}/` })).rejects.toMatchObject({ name: 'CanaryFailed', kind: 'tls' });
    expect(server.requests).toHaveLength(0);
  });

  it('refuses it even with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment', async () => {
    const err = await withRejectUnauthorized('0', () => client()({ url: `https://${HOST}/` }).catch((e: unknown) => e));

    expect(err).toMatchObject({ name: 'CanaryFailed', kind: 'tls' });
    expect(server.requests).toHaveLength(0);
  });

  it('talks to it once that CA is the extra CA', async () => {
    const res = await client(rogueCaPem)({ url: `https://${HOST}/v2/health/ready` });

    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ ok: true });
    expect(res.tls.authorized).toBe(true);
    expect(server.requests.map((r) => r.url)).toEqual(['/v2/health/ready']);
  });

  it('refuses a trusted certificate for another name', async () => {
    const other = await startServer(pki.otherHost, (_req, res) => json(res, 200, { ok: true }));
    try {
      const err = await createHttpsClient({ resolver: fakeResolver({ [HOST]: other.port }), extraCa: pki.caPem, timeoutMs: 5_000 })({
        url: `https://${HOST}/`,
      }).catch((e: unknown) => e);

      expect(err).toMatchObject({ name: 'CanaryFailed', kind: 'tls' });
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});

describe('the Kubernetes adapter (the Lambdas’ connection to the API server)', () => {
  /** A local "API server": HTTPS on 127.0.0.1 with the given certificate, serving one ConfigMap. */
  async function apiServer(pair: KeyPair): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
    const requests: string[] = [];
    const server = https.createServer({ key: pair.key, cert: pair.cert }, (req, res) => {
      requests.push(`${req.method} ${req.url} ${req.headers.authorization === `Bearer ${TOKEN}` ? 'with-token' : 'no-token'}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'config-domain', namespace: 'knative-serving' },
          data: {},
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `https://127.0.0.1:${port}`,
      requests,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'knative-serving', name: 'config-domain' };
  let rogueServer: Awaited<ReturnType<typeof apiServer>>;

  beforeAll(async () => {
    // A certificate for 127.0.0.1 from the CA nobody trusts.
    rogueServer = await apiServer(makeLeaf(pki.dir, 'kube-rogue', 'rogue', ['localhost', 'IP:127.0.0.1'], 2001));
  });
  afterAll(() => rogueServer.close());

  it('refuses an API server whose certificate the cluster CA did not sign: ClusterCertificateMismatch, token not sent', async () => {
    const kube = KubeAdapter.fromConnection({ server: rogueServer.url, caData: pki.caPem, token: TOKEN }, { requestTimeoutMs: 5_000 });

    const err = await kube.get(ref).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ClusterCertificateMismatchError);
    expect(err).toMatchObject({ name: 'ClusterCertificateMismatch', retryable: false });
    expect((err as Error).message).toBe(
      'failed to get ConfigMap knative-serving/config-domain: TLS verification of the API server failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE); check the cluster CA',
    );
    expect(rogueServer.requests).toEqual([]);
  });

  it('talks to it once that CA is the cluster CA', async () => {
    const kube = KubeAdapter.fromConnection({ server: rogueServer.url, caData: rogueCaPem, token: TOKEN }, { requestTimeoutMs: 5_000 });

    const cm = await kube.get(ref);

    expect(cm?.metadata).toEqual({ name: 'config-domain', namespace: 'knative-serving' });
    expect(rogueServer.requests).toEqual(['GET /api/v1/namespaces/knative-serving/configmaps/config-domain with-token']);
  });

  it('refuses a certificate from the cluster CA that is not for the endpoint: ClusterCertificateMismatch', async () => {
    // pki.good is signed by `ca` but names only DNS names, not 127.0.0.1.
    expect(GOOD_NAMES).not.toContain('127.0.0.1');
    const wrongName = await apiServer(pki.good);
    try {
      const kube = KubeAdapter.fromConnection({ server: wrongName.url, caData: pki.caPem, token: TOKEN }, { requestTimeoutMs: 5_000 });

      const err = await kube.get(ref).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(ClusterCertificateMismatchError);
      expect((err as Error).message).toMatch(/\(ERR_TLS_CERT_ALTNAME_INVALID\)/);
      expect(wrongName.requests).toEqual([]);
    } finally {
      await wrongName.close();
    }
  });

  it('will not build a connection while NODE_TLS_REJECT_UNAUTHORIZED=0 would switch verification off', async () => {
    await withRejectUnauthorized('0', async () => {
      const build = () => KubeAdapter.fromConnection({ server: rogueServer.url, caData: rogueCaPem, token: TOKEN });
      expect(build).toThrow(ConfigError);
      expect(build).toThrow('NODE_TLS_REJECT_UNAUTHORIZED is 0, which would disable TLS verification of the cluster: unset it');
    });
  });
});
