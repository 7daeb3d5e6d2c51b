/**
 * A small Kubernetes REST client for the testbed (bootstrap, the load-balancer
 * controller stand-in, tests). Bearer token + CA, verified TLS, discovery for
 * kind → resource, server-side apply.
 */
import https from 'node:https';

export interface KubeConnection {
  server: string;
  /** PEM of the cluster CA. */
  caData: string;
  token: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    finalizers?: string[];
    deletionTimestamp?: string;
    managedFields?: Array<{ manager?: string; operation?: string }>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | undefined,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

export interface ApplyOptions {
  fieldManager: string;
  force?: boolean;
}

/** `/api/v1` or `/apis/<group>/<version>`. */
function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export class KubeClient {
  private readonly agent: https.Agent;
  private readonly base: URL;
  private readonly discovery = new Map<string, Map<string, ResourceInfo>>();

  constructor(readonly connection: KubeConnection) {
    this.base = new URL(connection.server);
    this.agent = new https.Agent({ ca: connection.caData, keepAlive: true, maxSockets: 8 });
  }

  close(): void {
    this.agent.destroy();
  }

  /** Raw request; JSON in and out. Non-2xx statuses are returned, not thrown. */
  request(
    method: string,
    path: string,
    options: { body?: unknown; contentType?: string; timeoutMs?: number } = {},
  ): Promise<{ status: number; body: unknown }> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.base.hostname,
          port: this.base.port || 443,
          path,
          method,
          agent: this.agent,
          timeout: options.timeoutMs ?? 15_000,
          headers: {
            authorization: `Bearer ${this.connection.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': options.contentType ?? 'application/json', 'content-length': String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text === '' ? undefined : JSON.parse(text);
            } catch {
              // keep text
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`kube ${method} ${path}: timeout`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  private async call(method: string, path: string, options: { body?: unknown; contentType?: string } = {}): Promise<unknown> {
    const { status, body } = await this.request(method, path, options);
    if (status >= 200 && status < 300) return body;
    const b = body as { message?: string; reason?: string } | undefined;
    throw new KubeApiError(`${method} ${path}: ${status} ${b?.message ?? String(body)}`, status, b?.reason, body);
  }

  private async resourceInfo(apiVersion: string, kind: string): Promise<ResourceInfo> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let kinds = this.discovery.get(apiVersion);
      if (!kinds || attempt > 0) {
        const body = (await this.call('GET', groupVersionPath(apiVersion))) as {
          resources: Array<{ name: string; kind: string; namespaced: boolean }>;
        };
        kinds = new Map();
        for (const r of body.resources) {
          if (!r.name.includes('/')) kinds.set(r.kind, { plural: r.name, namespaced: r.namespaced });
        }
        this.discovery.set(apiVersion, kinds);
      }
      const info = kinds.get(kind);
      if (info) return info;
    }
    throw new Error(`the API server does not serve kind ${kind} in ${apiVersion}`);
  }

  /** REST path of a collection or object (optionally a subresource). */
  async path(apiVersion: string, kind: string, namespace?: string, name?: string, subresource?: string): Promise<string> {
    const info = await this.resourceInfo(apiVersion, kind);
    let p = groupVersionPath(apiVersion);
    if (info.namespaced && namespace !== undefined) p += `/namespaces/${encodeURIComponent(namespace)}`;
    p += `/${info.plural}`;
    if (name !== undefined) p += `/${encodeURIComponent(name)}`;
    if (subresource !== undefined) p += `/${subresource}`;
    return p;
  }

  async get<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    const { status, body } = await this.request('GET', await this.path(apiVersion, kind, namespace, name));
    if (status === 404) return undefined;
    if (status >= 200 && status < 300) return body as T;
    throw new KubeApiError(`GET ${kind} ${namespace ?? ''}/${name}: ${status}`, status, (body as { reason?: string })?.reason, body);
  }

  async list<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace?: string,
    labelSelector?: string,
  ): Promise<T[]> {
    let p = await this.path(apiVersion, kind, namespace);
    if (labelSelector) p += `?labelSelector=${encodeURIComponent(labelSelector)}`;
    const body = (await this.call('GET', p)) as { items: T[] };
    return body.items.map((i) => ({ ...i, apiVersion, kind }));
  }

  async create<T extends KubeObject = KubeObject>(obj: KubeObject, fieldManager?: string): Promise<T> {
    let p = await this.path(obj.apiVersion, obj.kind, obj.metadata.namespace);
    if (fieldManager) p += `?fieldManager=${encodeURIComponent(fieldManager)}`;
    return (await this.call('POST', p, { body: obj })) as T;
  }

  /** Server-side apply. */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, options: ApplyOptions): Promise<T> {
    const p = await this.path(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    const q = `?fieldManager=${encodeURIComponent(options.fieldManager)}${options.force ? '&force=true' : ''}`;
    return (await this.call('PATCH', p + q, { body: obj, contentType: 'application/apply-patch+yaml' })) as T;
  }

  /** JSON merge patch of an object or its subresource (e.g. `status`). */
  async mergePatch<T extends KubeObject = KubeObject>(
    ref: { apiVersion: string; kind: string; namespace?: string; name: string },
    patch: unknown,
    options: { subresource?: string; fieldManager?: string } = {},
  ): Promise<T> {
    let p = await this.path(ref.apiVersion, ref.kind, ref.namespace, ref.name, options.subresource);
    if (options.fieldManager) p += `?fieldManager=${encodeURIComponent(options.fieldManager)}`;
    return (await this.call('PATCH', p, { body: patch, contentType: 'application/merge-patch+json' })) as T;
  }

  /** JSON patch (RFC 6902). */
  async jsonPatch<T extends KubeObject = KubeObject>(
    ref: { apiVersion: string; kind: string; namespace?: string; name: string },
    ops: unknown[],
    options: { subresource?: string; fieldManager?: string } = {},
  ): Promise<T> {
    let p = await this.path(ref.apiVersion, ref.kind, ref.namespace, ref.name, options.subresource);
    if (options.fieldManager) p += `?fieldManager=${encodeURIComponent(options.fieldManager)}`;
    return (await this.call('PATCH', p, { body: ops, contentType: 'application/json-patch+json' })) as T;
  }

  /** Deletes; an object that is already gone is fine. */
  async delete(ref: { apiVersion: string; kind: string; namespace?: string; name: string }): Promise<void> {
    const { status, body } = await this.request('DELETE', await this.path(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    if (status === 404 || (status >= 200 && status < 300)) return;
    throw new KubeApiError(
      `DELETE ${ref.kind} ${ref.namespace ?? ''}/${ref.name}: ${status}`,
      status,
      (body as { reason?: string })?.reason,
      body,
    );
  }

  /** SelfSubjectAccessReview: may the caller do `verb` on `resource`? */
  async can(
    verb: string,
    resource: { group?: string; resource: string; namespace?: string; name?: string; subresource?: string },
  ): Promise<boolean> {
    const body = (await this.call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb, group: resource.group ?? '', ...resource } },
      },
    })) as { status?: { allowed?: boolean } };
    return body.status?.allowed === true;
  }
}
