/**
 * KubeAdapter against a tiny local API server (node:http on 127.0.0.1, an
 * ephemeral port). client-node refuses plain http unless TLS verification is
 * off, which `fromConnection` never allows; so these tests build the test-only
 * KubeConfig themselves, and one HTTPS test (openssl, skipped without it)
 * exercises `fromConnection` with a real CA.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import {
  AccessDeniedError,
  ClusterCertificateMismatchError,
  ClusterRejectedError,
  ClusterUnreachableError,
  ObjectOwnedByAnotherError,
  PatchConflictError,
  PrerequisiteMissingError,
} from '../../../shared/errors';
import { KubeAdapter, mapKubeError } from '../../../shared/k8s/client';
import type { ObjectRef } from '../../../shared/ports';
import { hasOpenssl, selfSigned } from '../../fixtures/openssl';

const TOKEN = 'k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklkZW50aXR5';

interface Seen {
  method: string;
  url: string;
  contentType?: string;
  authorization?: string;
  body: string;
}

function status(code: number, reason: string, message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, ...extra });
}

/** Routes of the fake API server. */
function handler(seen: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        body,
      });
      const send = (code: number, payload: string, type = 'application/json'): void => {
        res.writeHead(code, { 'content-type': type });
        res.end(payload);
      };
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
      if (path.endsWith('/slow')) return; // never answers
      if (path === '/api/v1/namespaces/ns/configmaps/present' && req.method === 'GET') {
        return send(
          200,
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'present', namespace: 'ns', creationTimestamp: '2024-01-01T00:00:00Z' },
            data: { a: '1' },
            extraField: 'kept',
          }),
        );
      }
      if (path === '/api/v1/namespaces/ns/configmaps/absent') {
        return send(404, status(404, 'NotFound', 'configmaps "absent" not found', { details: { name: 'absent', kind: 'configmaps' } }));
      }
      if (path.startsWith('/apis/security.istio.io/')) return send(404, '404 page not found\n', 'text/plain');
      if (path === '/api/v1/namespaces/knative-serving/configmaps/config-domain') {
        return send(
          403,
          status(
            403,
            'Forbidden',
            'configmaps "config-domain" is forbidden: User "arn:aws:sts::111122223333:assumed-role/kserve-edge/fn" cannot patch resource "configmaps" in API group "" in the namespace "knative-serving"',
          ),
        );
      }
      if (path === '/apis/networking.k8s.io/v1/namespaces/istio-system/ingresses/istio-ingress') {
        return send(
          409,
          status(
            409,
            'Conflict',
            'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using networking.k8s.io/v1: .metadata.annotations.alb.ingress.kubernetes.io/certificate-arn',
            {
              details: {
                causes: [
                  {
                    reason: 'FieldManagerConflict',
                    message: 'conflict with "kubectl-client-side-apply" using networking.k8s.io/v1',
                    field: '.metadata.annotations.alb.ingress.kubernetes.io/certificate-arn',
                  },
                ],
              },
            },
          ),
        );
      }
      if (path === '/apis/networking.k8s.io/v1/namespaces/istio-system/ingresses' && req.method === 'POST') {
        const obj = JSON.parse(body) as { metadata: { name: string } };
        if (obj.metadata.name === 'istio-ingress-api') {
          return send(
            409,
            status(409, 'AlreadyExists', 'ingresses.networking.k8s.io "istio-ingress-api" already exists', {
              details: { name: 'istio-ingress-api', kind: 'ingresses' },
            }),
          );
        }
        return send(201, JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: '1' } }));
      }
      if (path === '/apis/networking.k8s.io/v1/namespaces/istio-system/ingresses/denied' && req.method === 'PATCH') {
        // What the API server answers when a validating webhook says no (403 unless the webhook picks a code).
        return send(
          403,
          status(
            403,
            'Forbidden',
            'admission webhook "vingress.elbv2.k8s.aws" denied the request: invalid ingress class: IngressClass.networking.k8s.io "alb" not found',
          ),
        );
      }
      if (path === '/apis/networking.k8s.io/v1/namespaces/istio-system/ingresses/istio-ingress-api' && req.method === 'PATCH') {
        const obj = JSON.parse(body) as Record<string, unknown>;
        if ((obj.metadata as { resourceVersion?: string }).resourceVersion === 'stale') {
          return send(
            409,
            status(
              409,
              'Conflict',
              'Operation cannot be fulfilled on ingresses.networking.k8s.io "istio-ingress-api": the object has been modified; please apply your changes to the latest version and try again',
              {
                details: { name: 'istio-ingress-api', group: 'networking.k8s.io', kind: 'ingresses' },
              },
            ),
          );
        }
        return send(200, JSON.stringify({ ...obj, metadata: { ...(obj.metadata as object), resourceVersion: '7' } }));
      }
      if (path === '/api/v1/namespaces/ns/configmaps/patched' && req.method === 'PATCH') {
        return send(200, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'patched', namespace: 'ns' }, data: {} }));
      }
      if (path === '/api/v1/namespaces/ns/configmaps/boom')
        return send(503, status(503, 'ServiceUnavailable', 'etcdserver: leader changed'));
      if (path === '/api/v1/namespaces/ns/configmaps/bad')
        return send(422, status(422, 'Invalid', 'ConfigMap "bad" is invalid: data: Invalid value'));
      if (path === '/api/v1/namespaces' && req.method === 'GET') {
        return send(
          200,
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'NamespaceList',
            metadata: {},
            items: [{ metadata: { name: 'staging', labels: { 'app.kubernetes.io/part-of': 'kubeflow-profile' } } }],
          }),
        );
      }
      return send(404, status(404, 'NotFound', `unexpected ${req.method} ${path}`));
    });
  };
}

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function httpKubeConfig(server: string, token = TOKEN): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // Test only: client-node allows http:// solely with skipTLSVerify. Production uses fromConnection.
    clusters: [{ name: 'test', server, skipTLSVerify: true }],
    users: [{ name: 'test', token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return kc;
}

const cmRef = (name: string, namespace = 'ns'): ObjectRef => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });

describe('KubeAdapter over HTTP', () => {
  const seen: Seen[] = [];
  const server = http.createServer(handler(seen));
  let base = '';
  let kube: KubeAdapter;

  beforeAll(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
    kube = new KubeAdapter(httpKubeConfig(base), { requestTimeoutMs: 300 });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it('get returns the plain JSON object (strings stay strings, unknown fields kept) with the bearer token', async () => {
    const cm = await kube.get(cmRef('present'));
    expect(cm).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: 'present', creationTimestamp: '2024-01-01T00:00:00Z' },
      data: { a: '1' },
      extraField: 'kept',
    });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/api/v1/namespaces/ns/configmaps/present', authorization: `Bearer ${TOKEN}` });
  });

  it('get of a missing object is undefined; delete of one succeeds', async () => {
    expect(await kube.get(cmRef('absent'))).toBeUndefined();
    await expect(kube.delete(cmRef('absent'))).resolves.toBeUndefined();
    expect(seen.map((s) => s.method)).toEqual(['GET', 'DELETE']);
  });

  it('a 404 from an API group that is not served is an error, not "absent"', async () => {
    const ref = {
      apiVersion: 'security.istio.io/v1beta1',
      kind: 'AuthorizationPolicy',
      namespace: 'istio-system',
      name: 'allow-predictor',
    };
    await expect(kube.get(ref)).rejects.toThrow(/does not serve security.istio.io\/v1beta1 \(is the CRD installed\?\)/);
    const err = await kube.get(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrerequisiteMissingError);
    expect((err as PrerequisiteMissingError).missing).toBe('AuthorizationPolicy (security.istio.io/v1beta1)');
  });

  it('apply is a server-side apply with field manager and force, without server-owned metadata', async () => {
    const out = await kube.apply(
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: {
          name: 'istio-ingress-api',
          namespace: 'istio-system',
          resourceVersion: '3',
          managedFields: [{ manager: 'x' }],
          annotations: { a: 'b' },
        },
        spec: { rules: [] },
      },
      { fieldManager: 'kserve-edge', force: true },
    );
    expect(out.metadata.resourceVersion).toBe('7');
    const req = seen[0]!;
    expect(req.method).toBe('PATCH');
    expect(req.contentType).toBe('application/apply-patch+yaml');
    expect(new URL(req.url, base).searchParams.get('fieldManager')).toBe('kserve-edge');
    expect(new URL(req.url, base).searchParams.get('force')).toBe('true');
    expect(JSON.parse(req.body)).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'istio-ingress-api', namespace: 'istio-system', annotations: { a: 'b' } },
      spec: { rules: [] },
    });
  });

  it('apply with a resourceVersion precondition sends it; a stale one → PatchConflict (re-read), not ObjectOwnedByAnother', async () => {
    const ingress = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'istio-ingress-api', namespace: 'istio-system' },
      spec: {},
    };
    await kube.apply(ingress, { fieldManager: 'kserve-edge', force: true, precondition: { resourceVersion: '6' } });
    expect(JSON.parse(seen[0]!.body).metadata.resourceVersion).toBe('6');
    const err = await kube
      .apply(ingress, { fieldManager: 'kserve-edge', force: true, precondition: { resourceVersion: 'stale' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PatchConflictError);
    expect((err as Error).message).toMatch(/changed since it was read/);
  });

  it('apply with precondition "absent" creates with POST; one that exists by now → PatchConflict', async () => {
    const ingress = (name: string) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: 'istio-system' },
      spec: {},
    });
    const created = await kube.apply(ingress('new-one'), { fieldManager: 'kserve-edge', force: false, precondition: 'absent' });
    expect(created.metadata.resourceVersion).toBe('1');
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/apis/networking.k8s.io/v1/namespaces/istio-system/ingresses?fieldManager=kserve-edge',
    });
    const err = await kube
      .apply(ingress('istio-ingress-api'), { fieldManager: 'kserve-edge', force: false, precondition: 'absent' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PatchConflictError);
    expect((err as Error).message).toMatch(/created by someone else/);
  });

  it('a 403 from an admission webhook is the controller refusing the object (ClusterRejected with its message), not RBAC', async () => {
    const ingress = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'denied', namespace: 'istio-system' },
      spec: {},
    };
    const err = await kube.apply(ingress, { fieldManager: 'kserve-edge', force: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterRejectedError);
    expect(err).not.toBeInstanceOf(AccessDeniedError);
    expect((err as Error).message).toBe(
      'failed to patch Ingress istio-system/denied: refused by the cluster\'s admission control: admission webhook "vingress.elbv2.k8s.aws" denied the request: invalid ingress class: IngressClass.networking.k8s.io "alb" not found',
    );
  });

  it('jsonPatch sends application/json-patch+json with the ops array', async () => {
    const ops = [
      { op: 'test' as const, path: '/data/_example', value: 'x' },
      { op: 'remove' as const, path: '/data/_example' },
    ];
    await kube.jsonPatch(cmRef('patched'), ops, { fieldManager: 'kserve-edge' });
    expect(seen[0]!.contentType).toBe('application/json-patch+json');
    expect(JSON.parse(seen[0]!.body)).toEqual(ops);
  });

  it('list passes the label selector and restores apiVersion/kind on items', async () => {
    const items = await kube.list('v1', 'Namespace', { labelSelector: 'app.kubernetes.io/part-of=kubeflow-profile' });
    expect(items).toEqual([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'staging', labels: { 'app.kubernetes.io/part-of': 'kubeflow-profile' } } },
    ]);
    expect(new URL(seen[0]!.url, base).searchParams.get('labelSelector')).toBe('app.kubernetes.io/part-of=kubeflow-profile');
  });

  it('403 → AccessDenied with "RBAC: <user> cannot <verb> <resource> in <ns>"', async () => {
    const err = await kube
      .jsonPatch(cmRef('config-domain', 'knative-serving'), [], { fieldManager: 'kserve-edge' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect((err as Error).message).toBe(
      'RBAC: arn:aws:sts::111122223333:assumed-role/kserve-edge/fn cannot patch configmaps in knative-serving',
    );
  });

  it('a JSON Patch of an object that is gone since the read → PatchConflict (re-read and re-plan)', async () => {
    const err = await kube
      .jsonPatch(cmRef('absent'), [{ op: 'test', path: '/data', value: {} }], { fieldManager: 'kserve-edge' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PatchConflictError);
    expect(err).toMatchObject({ name: 'PatchConflict', retryable: true, message: 'ConfigMap ns/absent is gone since it was read' });
  });

  it('401 → AccessDenied, and the token appears nowhere in the error', async () => {
    const wrong = new KubeAdapter(httpKubeConfig(base, `${TOKEN}-expired`));
    const err = (await wrong.get(cmRef('present')).catch((e: unknown) => e)) as AccessDeniedError;
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect(err.message).toMatch(/^RBAC: the API server rejected the credentials \(401 Unauthorized\) to get ConfigMap ns\/present/);
    expect(JSON.stringify(err.toJSON())).not.toContain(TOKEN);
    expect(err.message).not.toContain(TOKEN);
    expect(String((err.cause as Error).message)).not.toContain(TOKEN);
  });

  it('409 on apply → ObjectOwnedByAnother naming the conflicting field manager and field', async () => {
    const err = await kube
      .apply(
        { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'istio-ingress', namespace: 'istio-system' } },
        { fieldManager: 'kserve-edge', force: false },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectOwnedByAnotherError);
    expect((err as Error).message).toBe(
      'Ingress istio-system/istio-ingress: fields (.metadata.annotations.alb.ingress.kubernetes.io/certificate-arn) are managed by "kubectl-client-side-apply"; not overwriting them',
    );
  });

  it('5xx → ClusterUnreachable; 422 → ClusterRejected with the Status message', async () => {
    await expect(kube.get(cmRef('boom'))).rejects.toThrow(ClusterUnreachableError);
    await expect(kube.get(cmRef('boom'))).rejects.toThrow(/503 etcdserver: leader changed/);
    const err = (await kube.get(cmRef('bad')).catch((e: unknown) => e)) as Error;
    expect(err).not.toBeInstanceOf(ClusterUnreachableError);
    expect(err).toBeInstanceOf(ClusterRejectedError);
    expect(err.message).toBe('failed to get ConfigMap ns/bad: 422 ConfigMap "bad" is invalid: data: Invalid value');
  });

  it('a request that gets no answer times out → ClusterUnreachable', async () => {
    await expect(kube.get(cmRef('slow'))).rejects.toThrow(/did not answer in time/);
  });

  it('connection refused → ClusterUnreachable', async () => {
    const closed = http.createServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const down = new KubeAdapter(httpKubeConfig(`http://127.0.0.1:${port}`));
    const err = await down.get(cmRef('present')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterUnreachableError);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });
});

describe('KubeAdapter.fromConnection', () => {
  it('keeps TLS verification on and refuses plain http', () => {
    const kc = KubeAdapter.kubeConfigFor({
      server: 'https://ABC.gr7.us-west-2.eks.amazonaws.com',
      caData: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      token: TOKEN,
    });
    const cluster = kc.getCurrentCluster()!;
    expect(cluster.skipTLSVerify).toBe(false);
    expect(Buffer.from(cluster.caData!, 'base64').toString()).toContain('BEGIN CERTIFICATE');
    expect(kc.getCurrentUser()!.token).toBe(TOKEN);
    expect(() => KubeAdapter.kubeConfigFor({ server: 'http://127.0.0.1:8080', caData: 'x', token: TOKEN })).toThrow(/https/);
  });

  it('accepts base64 CA data as EKS returns it', () => {
    const b64 = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
    expect(KubeAdapter.kubeConfigFor({ server: 'https://x', caData: b64, token: TOKEN }).getCurrentCluster()!.caData).toBe(b64);
  });

  (hasOpenssl() ? it : it.skip)('talks HTTPS with the given CA, and fails closed with another CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kserve-edge-k8s-'));
    const mk = (name: string): void =>
      selfSigned(dir, name, { days: 1, subject: '/CN=kube-apiserver', extensions: ['subjectAltName=IP:127.0.0.1'] });
    mk('server');
    mk('other');
    const seen: Seen[] = [];
    const server = https.createServer(
      { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')) },
      handler(seen),
    );
    try {
      const port = await listen(server);
      const conn = { server: `https://127.0.0.1:${port}`, token: TOKEN };
      const good = KubeAdapter.fromConnection({ ...conn, caData: readFileSync(join(dir, 'server.crt'), 'utf8') });
      expect((await good.get(cmRef('present')))?.metadata.name).toBe('present');
      const bad = KubeAdapter.fromConnection({ ...conn, caData: readFileSync(join(dir, 'other.crt'), 'utf8') });
      const err = await bad.get(cmRef('present')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterCertificateMismatchError);
      expect((err as Error).message).toMatch(/TLS verification of the API server failed/);
      expect(seen).toHaveLength(1); // the untrusted attempt never sent a request (nor the token)
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mapKubeError', () => {
  const ctx = { verb: 'get' as const, ref: cmRef('x') };
  it('maps socket errors wrapped by fetch', () => {
    const fetchFailed = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' }) });
    expect(mapKubeError(fetchFailed, ctx)).toBeInstanceOf(ClusterUnreachableError);
    expect(mapKubeError(new DOMException('signal timed out', 'TimeoutError'), ctx)).toBeInstanceOf(ClusterUnreachableError);
  });
  it('maps 429 to retryable ClusterUnreachable and a 403 without the usual wording still to AccessDenied', () => {
    expect(mapKubeError(new ApiException(429, 'x', status(429, 'TooManyRequests', 'slow down'), {}), ctx)).toBeInstanceOf(
      ClusterUnreachableError,
    );
    const err = mapKubeError(new ApiException(403, 'x', status(403, 'Forbidden', 'nope'), {}), { verb: 'patch', ref: cmRef('x') });
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect(err.message).toBe('RBAC: cannot patch ConfigMap ns/x in ns: nope');
  });
  it.each([
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'CERT_HAS_EXPIRED',
  ])('maps the certificate verdict %s to ClusterCertificateMismatch (not retried), not ClusterUnreachable', (code) => {
    const fetchFailed = new TypeError('fetch failed', { cause: Object.assign(new Error(`certificate: ${code}`), { code }) });
    const err = mapKubeError(fetchFailed, ctx);
    expect(err).toBeInstanceOf(ClusterCertificateMismatchError);
    expect(err.message).toBe(`failed to get ConfigMap ns/x: TLS verification of the API server failed (${code}); check the cluster CA`);
  });
  it('keeps a handshake that broke off (no certificate verdict) retryable', () => {
    const broken = new TypeError('fetch failed', {
      cause: Object.assign(new Error('wrong version number'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }),
    });
    expect(mapKubeError(broken, ctx)).toBeInstanceOf(ClusterUnreachableError);
  });
  it('maps 400 and 422 to ClusterRejected with the API server message', () => {
    const invalid = mapKubeError(
      new ApiException(422, 'x', status(422, 'Invalid', 'Ingress "x" is invalid: spec.rules[0].host: Invalid value'), {}),
      {
        verb: 'patch',
        ref: cmRef('x'),
      },
    );
    expect(invalid).toBeInstanceOf(ClusterRejectedError);
    expect(invalid.message).toBe('failed to patch ConfigMap ns/x: 422 Ingress "x" is invalid: spec.rules[0].host: Invalid value');
    const denied = mapKubeError(
      new ApiException(400, 'x', status(400, 'BadRequest', 'admission webhook "validation.istio.io" denied the request'), {}),
      ctx,
    );
    expect(denied).toBeInstanceOf(ClusterRejectedError);
    expect(denied.message).toMatch(/admission webhook "validation.istio.io" denied the request/);
  });
  it('maps a 404 NotFound on a write to PrerequisiteMissing naming the missing namespace', () => {
    const body = JSON.stringify({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
      message: 'namespaces "ns" not found',
      details: { name: 'ns', kind: 'namespaces' },
    });
    const err = mapKubeError(new ApiException(404, 'x', body, {}), { verb: 'patch', ref: cmRef('x') });
    expect(err).toBeInstanceOf(PrerequisiteMissingError);
    expect((err as PrerequisiteMissingError).missing).toBe('namespace ns');
    expect(err.message).toBe('failed to patch ConfigMap ns/x: namespaces "ns" not found');
  });
});
