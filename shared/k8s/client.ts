/**
 * The Kubernetes adapter: {@link KubePort} over `@kubernetes/client-node` 2.x.
 *
 * Why a subclass of `KubernetesObjectApi` instead of its public methods:
 *
 * - its `patch()` serialises the body through the typed model of the object's
 *   kind, which would drop any field the model does not know and cannot send a
 *   JSON Patch (an array) at all;
 * - its responses are turned into model class instances (Dates instead of
 *   strings, unknown fields dropped).
 *
 * So we reuse what it does well (URL building from discovery, auth, TLS,
 * middleware) through its protected members and send and read plain JSON.
 *
 * Errors leave this file as the named errors the state machine matches:
 *
 * | what the API server / network did          | thrown                         |
 * |--------------------------------------------|--------------------------------|
 * | 404 on get / delete                        | nothing (undefined / success)  |
 * | admission webhook / policy denial (any 4xx)| ClusterRejectedError (message) |
 * | 401, 403                                   | AccessDeniedError              |
 * | 409 on server-side apply                   | ObjectOwnedByAnotherError      |
 * | 422/404 on JSON Patch (changed, gone)      | PatchConflictError (re-read)   |
 * | 409 on a write with a precondition         | PatchConflictError (re-read)   |
 * | 404 on write/list (no CRD, no namespace)   | PrerequisiteMissingError       |
 * | 400, 422 (invalid object, webhook denial)  | ClusterRejectedError           |
 * | certificate not trusted / not for the host | ClusterCertificateMismatchError|
 * | 429, 5xx, refused, reset, DNS, timeout     | ClusterUnreachableError        |
 * | anything else                              | Error with the Status message  |
 *
 * The bearer token never appears in a message: we build messages from the
 * Status body and the object reference only.
 */
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  type Configuration,
  type KubernetesObject,
  type Middleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import {
  ConfigError,
  AccessDeniedError,
  ClusterCertificateMismatchError,
  ClusterRejectedError,
  ClusterUnreachableError,
  ObjectOwnedByAnotherError,
  PatchConflictError,
  PrerequisiteMissingError,
} from '../errors';
import { type ApplyPrecondition, type ClusterConnection, type JsonPatchOp, type KubeObject, type KubePort, type ObjectRef } from '../ports';

/** Per-request timeout; a Lambda has minutes, one API call should take well under a second. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** The verbs the adapter performs, as RBAC names them. */
export type KubeVerb = 'get' | 'list' | 'patch' | 'delete' | 'create';

/** What a request was about, for error messages. */
export interface KubeRequestContext {
  verb: KubeVerb;
  /** Set for single-object calls. */
  ref?: ObjectRef;
  /** Set for list calls. */
  apiVersion?: string;
  kind?: string;
  namespace?: string;
}

/** The parts of a Kubernetes `Status` body we read. */
interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

/**
 * Resources we talk to, so that most calls skip the discovery round trip.
 * `KubernetesObjectApi.resource()` still asks the server for any other kind.
 */
const KNOWN_RESOURCES: Record<string, Array<{ kind: string; name: string; namespaced: boolean }>> = {
  v1: [
    { kind: 'ConfigMap', name: 'configmaps', namespaced: true },
    { kind: 'Namespace', name: 'namespaces', namespaced: false },
  ],
  'networking.k8s.io/v1': [
    { kind: 'Ingress', name: 'ingresses', namespaced: true },
    { kind: 'IngressClass', name: 'ingressclasses', namespaced: false },
  ],
  'security.istio.io/v1beta1': [
    { kind: 'AuthorizationPolicy', name: 'authorizationpolicies', namespaced: true },
    { kind: 'RequestAuthentication', name: 'requestauthentications', namespaced: true },
  ],
  'security.istio.io/v1': [{ kind: 'AuthorizationPolicy', name: 'authorizationpolicies', namespaced: true }],
};

/**
 * `KubernetesObjectApi` that speaks plain JSON. Only this file uses it.
 * @internal
 */
class RawObjectApi extends KubernetesObjectApi {
  constructor(configuration: Configuration) {
    super(configuration);
    for (const [apiVersion, resources] of Object.entries(KNOWN_RESOURCES)) {
      // The cache holds V1APIResourceList values; discovery fills the other fields, we never read them.
      this.apiVersionResourceCache[apiVersion] = {
        kind: 'APIResourceList',
        groupVersion: apiVersion,
        resources: resources.map((r) => ({ ...r, singularName: '', verbs: [] })),
      };
    }
  }

  /** Returns the parsed JSON body of a 2xx answer instead of a model instance; throws ApiException otherwise. */
  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
      return (text === '' ? {} : JSON.parse(text)) as T;
    }
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', text, response.headers);
  }

  /** One request against the path `specUriPath` builds for `spec`. */
  async send(
    spec: KubernetesObject,
    action: 'read' | 'list' | 'patch' | 'delete' | 'create',
    method: HttpMethod,
    init: { query?: Record<string, string | undefined>; contentType?: string; body?: string } = {},
  ): Promise<unknown> {
    const path = await this.specUriPath(spec, action);
    const ctx: RequestContext = this.configuration.baseServer.makeRequestContext(path, method);
    ctx.setHeaderParam('Accept', 'application/json');
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) ctx.setQueryParam(key, value);
    }
    if (init.contentType !== undefined) ctx.setHeaderParam('Content-Type', init.contentType);
    if (init.body !== undefined) ctx.setBody(init.body);
    return this.requestPromise(ctx);
  }
}

/** Options for {@link KubeAdapter}. */
export interface KubeAdapterOptions {
  /** Per-request timeout in milliseconds (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  requestTimeoutMs?: number;
}

/**
 * {@link KubePort} over `@kubernetes/client-node`.
 *
 * @example
 *   const kube = KubeAdapter.fromConnection(await eks.connect(request.cluster));
 *   const cm = await kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'knative-serving', name: 'config-domain' });
 */
export class KubeAdapter implements KubePort {
  private readonly api: RawObjectApi;

  /**
   * Most callers want {@link KubeAdapter.fromConnection}. This constructor takes
   * any KubeConfig (the CLI's kubeconfig file, or a test's plain-HTTP server).
   */
  constructor(kc: KubeConfig, options: KubeAdapterOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const timeout: Middleware = {
      // A fresh signal per request: the client has no timeout of its own.
      pre: async (ctx) => {
        ctx.setSignal(AbortSignal.timeout(timeoutMs));
        return ctx;
      },
      post: async (rsp) => rsp,
    };
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server.replace(/\/+$/, ''), {}),
      authMethods: { default: kc },
      promiseMiddleware: [timeout],
    });
    this.api = new RawObjectApi(configuration);
  }

  /**
   * Builds the KubeConfig for one cluster in memory: server, CA and bearer
   * token. TLS verification stays on; there is deliberately no way to turn it off.
   */
  static kubeConfigFor(conn: ClusterConnection): KubeConfig {
    if (!/^https:\/\//i.test(conn.server)) {
      throw new Error(`cluster endpoint must be an https:// URL, got "${conn.server}"`);
    }
    if (!conn.caData.trim()) throw new Error('cluster CA data is empty');
    // process.env on purpose (the one exception under shared/, see wiring/config.ts): this is Node's own
    // switch, which node:tls reads live from process.env at every connection, so the guard reads the same
    // live value where the connection is made, whoever builds it (handlers, CLI, tests, testbed).
    if (process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
      // The client leaves `rejectUnauthorized` unset unless skipTLSVerify, so this env var would silently win.
      throw new ConfigError('NODE_TLS_REJECT_UNAUTHORIZED', 'is 0, which would disable TLS verification of the cluster: unset it');
    }
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'cluster', server: conn.server, caData: toBase64Pem(conn.caData), skipTLSVerify: false }],
      users: [{ name: 'kserve-edge', token: conn.token }],
      contexts: [{ name: 'kserve-edge', cluster: 'cluster', user: 'kserve-edge' }],
      currentContext: 'kserve-edge',
    });
    return kc;
  }

  /** The adapter for a cluster reached with an EKS token (see `shared/aws/eks.ts`). */
  static fromConnection(conn: ClusterConnection, options: KubeAdapterOptions = {}): KubeAdapter {
    return new KubeAdapter(KubeAdapter.kubeConfigFor(conn), options);
  }

  /** Reads one object; `undefined` when it does not exist. */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return normalise(await this.api.send(specOf(ref), 'read', HttpMethod.GET));
    } catch (err) {
      if (isObjectNotFound(err)) return undefined;
      throw mapKubeError(err, { verb: 'get', ref });
    }
  }

  /**
   * Server-side apply (`application/apply-patch+yaml`; JSON is YAML) under `fieldManager`.
   *
   * `precondition`: `{ resourceVersion }` goes into the applied metadata, where
   * the API server treats it as an optimistic lock (409 "the object has been
   * modified"); `absent` creates the object with a plain POST instead, which
   * fails with 409 AlreadyExists when someone created it since the read. Both
   * come out as PatchConflictError.
   */
  async apply(obj: KubeObject, options: { fieldManager: string; force: boolean; precondition?: ApplyPrecondition }): Promise<KubeObject> {
    const ref = refOf(obj);
    // Server-side apply rejects managedFields in the request, and resourceVersion would turn it into a precondition.
    const metadata: Record<string, unknown> = { ...obj.metadata };
    for (const key of ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp']) delete metadata[key];
    const precondition = options.precondition;
    if (precondition !== undefined && precondition !== 'absent') metadata.resourceVersion = precondition.resourceVersion;
    const body = JSON.stringify({ ...obj, metadata });
    try {
      if (precondition === 'absent') {
        return normalise(
          await this.api.send(specOf(ref), 'create', HttpMethod.POST, {
            query: { fieldManager: options.fieldManager },
            contentType: 'application/json',
            body,
          }),
        );
      }
      return normalise(
        await this.api.send(specOf(ref), 'patch', HttpMethod.PATCH, {
          query: { fieldManager: options.fieldManager, force: String(options.force) },
          contentType: PatchStrategy.ServerSideApply,
          body,
        }),
      );
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) {
        const status = parseStatus(err.body);
        if (precondition === 'absent' && status?.reason === 'AlreadyExists') {
          throw new PatchConflictError(
            `${describeTarget({ verb: 'create', ref }).resource} was created by someone else since it was read`,
            { cause: err },
          );
        }
        if (precondition !== undefined && isStaleVersion(status)) {
          throw new PatchConflictError(
            `${describeTarget({ verb: 'patch', ref }).resource} changed since it was read (resourceVersion precondition)`,
            {
              cause: err,
            },
          );
        }
      }
      throw mapKubeError(err, { verb: precondition === 'absent' ? 'create' : 'patch', ref });
    }
  }

  /** RFC 6902 JSON Patch; a failed `test` op fails the whole patch (HTTP 422). */
  async jsonPatch(ref: ObjectRef, ops: JsonPatchOp[], options: { fieldManager: string }): Promise<KubeObject> {
    try {
      return normalise(
        await this.api.send(specOf(ref), 'patch', HttpMethod.PATCH, {
          query: { fieldManager: options.fieldManager },
          contentType: PatchStrategy.JsonPatch,
          body: JSON.stringify(ops),
        }),
      );
    } catch (err) {
      // A guarded patch of an object read moments ago that is now gone: it changed since the read, like a failed `test` op.
      if (isObjectNotFound(err)) {
        throw new PatchConflictError(`${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} is gone since it was read`, {
          cause: err,
        });
      }
      if (err instanceof ApiException && err.code === 422) {
        throw new PatchConflictError(
          `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} changed since it was read (JSON Patch test failed)`,
          {
            cause: err,
          },
        );
      }
      throw mapKubeError(err, { verb: 'patch', ref });
    }
  }

  /** Lists objects of one kind, in one namespace or everywhere, optionally by label selector. */
  async list(
    apiVersion: string,
    kind: string,
    options: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<KubeObject[]> {
    const spec: KubernetesObject = { apiVersion, kind, metadata: options.namespace ? { namespace: options.namespace } : {} };
    try {
      const out = (await this.api.send(spec, 'list', HttpMethod.GET, {
        query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector },
      })) as {
        items?: unknown[];
      };
      // List items carry no apiVersion/kind; put them back so callers get whole objects.
      return (out.items ?? []).map((item) => normalise({ apiVersion, kind, ...(item as object) }));
    } catch (err) {
      throw mapKubeError(err, { verb: 'list', apiVersion, kind, namespace: options.namespace });
    }
  }

  /** Deletes one object; an object that is already gone counts as deleted. */
  async delete(ref: ObjectRef): Promise<void> {
    try {
      await this.api.send(specOf(ref), 'delete', HttpMethod.DELETE);
    } catch (err) {
      // Already gone is what we wanted (idempotent delete, as Step Functions retries).
      if (isObjectNotFound(err)) return;
      throw mapKubeError(err, { verb: 'delete', ref });
    }
  }
}

// ------------------------------------------------------------------ helpers

function specOf(ref: ObjectRef): KubernetesObject {
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: ref.namespace === undefined ? { name: ref.name } : { name: ref.name, namespace: ref.namespace },
  };
}

function refOf(obj: KubeObject): ObjectRef {
  return obj.metadata.namespace === undefined
    ? { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name }
    : { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

function normalise(value: unknown): KubeObject {
  if (value === null || typeof value !== 'object' || !('metadata' in value)) {
    throw new Error('the API server answered with something that is not a Kubernetes object');
  }
  return value as KubeObject;
}

/** EKS hands out base64 already; the port says PEM. Accept both, give client-node base64. */
function toBase64Pem(caData: string): string {
  const trimmed = caData.trim();
  return trimmed.startsWith('-----BEGIN') ? Buffer.from(trimmed, 'utf8').toString('base64') : trimmed;
}

function parseStatus(body: unknown): StatusBody | undefined {
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as StatusBody) : undefined;
  } catch {
    // Not JSON: e.g. "404 page not found" from a mux for an API group that is not installed.
    return undefined;
  }
}

/**
 * True for a 404 that is about the object, not about the API. An API group
 * that is not served (Istio CRDs missing) also answers 404, with a plain-text
 * body; that one must not read as "object absent, go create it".
 */
function isObjectNotFound(err: unknown): boolean {
  if (!(err instanceof ApiException) || err.code !== 404) return false;
  return parseStatus(err.body)?.reason === 'NotFound';
}

function describeTarget(ctx: KubeRequestContext): { resource: string; where: string } {
  if (ctx.ref) {
    const ns = ctx.ref.namespace;
    return { resource: `${ctx.ref.kind} ${ns ? `${ns}/` : ''}${ctx.ref.name}`, where: ns ?? 'the cluster scope' };
  }
  return { resource: `${ctx.kind ?? 'objects'} (${ctx.apiVersion ?? '?'})`, where: ctx.namespace ?? 'all namespaces' };
}

/** Network-level failure codes that mean "could not talk to the API server (this time)". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * Node's verdicts on a server certificate (`tls.TLSSocket#authorizationError`
 * codes and the host-name check): the API server answered with a certificate
 * the cluster CA does not vouch for. Retrying cannot change that.
 */
function isCertificateCode(code: string): boolean {
  return (
    code.startsWith('CERT_') ||
    code.includes('SELF_SIGNED') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    code === 'HOSTNAME_MISMATCH' ||
    code === 'INVALID_CA'
  );
}

/** Walks an error's `cause` chain (undici wraps the socket error in "fetch failed"). */
function causes(err: unknown): Array<{ name?: string; code?: string; message?: string }> {
  const out: Array<{ name?: string; code?: string; message?: string }> = [];
  let cur: unknown = err;
  for (let i = 0; i < 5 && cur !== null && typeof cur === 'object'; i++) {
    const e = cur as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    out.push({
      name: typeof e.name === 'string' ? e.name : undefined,
      code: typeof e.code === 'string' ? e.code : undefined,
      message: typeof e.message === 'string' ? e.message : undefined,
    });
    cur = e.cause;
  }
  return out;
}

/** Turns "User \"x\" cannot patch resource \"configmaps\" in API group \"\" in the namespace \"y\"" into its parts. */
function parseForbidden(message: string): { user?: string; verb?: string; resource?: string; namespace?: string } | undefined {
  const m = /User "([^"]*)" cannot (\S+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]*)")?/.exec(message);
  if (!m) return undefined;
  const group = m[4];
  return {
    user: m[1],
    verb: m[2],
    resource: group ? `${m[3]}.${group}` : m[3],
    namespace: m[5],
  };
}

/**
 * A 409 for a write made against an older resourceVersion ("the object has
 * been modified; please apply your changes to the latest version"), as
 * opposed to a server-side apply field conflict (causes of type FieldManagerConflict).
 */
function isStaleVersion(status: StatusBody | undefined): boolean {
  if (status?.reason !== 'Conflict') return false;
  if ((status.details?.causes ?? []).some((c) => c.reason === 'FieldManagerConflict')) return false;
  return /has been modified|latest version/i.test(status.message ?? '');
}

/**
 * The denial of an admission webhook or a ValidatingAdmissionPolicy: the
 * controller behind it (e.g. the AWS Load Balancer Controller's
 * `vingress.elbv2.k8s.aws`) refused the object, which the API server reports
 * as 403 (or the code the webhook chose) with this message. It is not RBAC.
 */
export function isAdmissionDenial(message: string): boolean {
  return /admission webhook "[^"]*" denied the request|ValidatingAdmissionPolicy '[^']*' with binding '[^']*' denied request/.test(message);
}

/** Field managers named in a server-side apply conflict ("conflict with \"kubectl\" using v1: .metadata…"). */
export function conflictingManagers(status: StatusBody | undefined): { managers: string[]; fields: string[] } {
  const managers = new Set<string>();
  const fields = new Set<string>();
  const texts = [status?.message ?? '', ...(status?.details?.causes ?? []).map((c) => c.message ?? '')];
  for (const text of texts) {
    for (const m of text.matchAll(/conflicts? with "([^"]+)"/g)) if (m[1]) managers.add(m[1]);
  }
  for (const cause of status?.details?.causes ?? []) if (cause.field) fields.add(cause.field);
  return { managers: [...managers], fields: [...fields] };
}

/**
 * Maps whatever the client threw to the error the state machine should see.
 * Exported for tests; adapters call it in every `catch`.
 */
export function mapKubeError(err: unknown, ctx: KubeRequestContext): Error {
  const { resource, where } = describeTarget(ctx);
  if (err instanceof ApiException) {
    const code = err.code as number;
    const status = parseStatus(err.body);
    const statusMessage = status?.message ?? (typeof err.body === 'string' ? err.body.slice(0, 200).trim() : '');
    if (code !== 401 && code < 500 && isAdmissionDenial(statusMessage)) {
      // A webhook's "no" is the controller refusing the object, whatever code it chose (403 by default): not a missing permission.
      return new ClusterRejectedError(`failed to ${ctx.verb} ${resource}: refused by the cluster's admission control: ${statusMessage}`, {
        cause: err,
      });
    }
    if (code === 401 || code === 403) {
      const f = parseForbidden(statusMessage);
      const text = f
        ? `RBAC: ${f.user ?? 'caller'} cannot ${f.verb ?? ctx.verb} ${f.resource ?? resource} in ${f.namespace ?? where}`
        : code === 401
          ? `RBAC: the API server rejected the credentials (401 ${statusMessage || 'Unauthorized'}) to ${ctx.verb} ${resource} in ${where}; is the IAM role mapped to a Kubernetes group (docs/cluster-access.md)?`
          : `RBAC: cannot ${ctx.verb} ${resource} in ${where}: ${statusMessage || 'forbidden'}`;
      return new AccessDeniedError(text, { cause: err });
    }
    if (code === 409 && ctx.verb === 'patch') {
      const { managers, fields } = conflictingManagers(status);
      const who = managers.length ? managers.map((m) => `"${m}"`).join(', ') : 'another field manager';
      const what = fields.length ? ` (${fields.join(', ')})` : '';
      return new ObjectOwnedByAnotherError(`${resource}: fields${what} are managed by ${who}; not overwriting them`, {
        cause: err,
      });
    }
    if (code === 429 || code >= 500) {
      return new ClusterUnreachableError(
        `failed to ${ctx.verb} ${resource}: API server answered ${code}${statusMessage ? ` ${statusMessage}` : ''}`,
        {
          cause: err,
        },
      );
    }
    if (code === 404) {
      // A write or list that finds nothing: the kind is not served (CRD not installed) or the namespace is gone.
      const apiVersion = ctx.ref?.apiVersion ?? ctx.apiVersion ?? '?';
      const kind = ctx.ref?.kind ?? ctx.kind ?? 'objects';
      if (status?.reason === 'NotFound') {
        const namespace = ctx.ref?.namespace ?? ctx.namespace;
        return new PrerequisiteMissingError(`failed to ${ctx.verb} ${resource}: ${statusMessage}`, {
          cause: err,
          missing: status.details?.kind === 'namespaces' && namespace ? `namespace ${namespace}` : resource,
        });
      }
      return new PrerequisiteMissingError(
        `failed to ${ctx.verb} ${resource}: the API server does not serve ${apiVersion} (is the CRD installed?)`,
        { cause: err, missing: `${kind} (${apiVersion})` },
      );
    }
    if (code === 400 || code === 422) {
      return new ClusterRejectedError(`failed to ${ctx.verb} ${resource}: ${code} ${statusMessage}`.trim(), { cause: err });
    }
    return new Error(`failed to ${ctx.verb} ${resource}: ${code} ${statusMessage}`.trim(), { cause: err });
  }
  const chain = causes(err);
  if (chain.some((c) => c.name === 'TimeoutError' || c.name === 'AbortError')) {
    return new ClusterUnreachableError(`failed to ${ctx.verb} ${resource}: the API server did not answer in time`, { cause: err });
  }
  const netCode = chain.find((c) => c.code !== undefined && NETWORK_CODES.has(c.code))?.code;
  if (netCode) {
    return new ClusterUnreachableError(`failed to ${ctx.verb} ${resource}: cannot reach the API server (${netCode})`, { cause: err });
  }
  const certificate = chain.find((c) => c.code !== undefined && isCertificateCode(c.code));
  if (certificate) {
    return new ClusterCertificateMismatchError(
      `failed to ${ctx.verb} ${resource}: TLS verification of the API server failed (${certificate.code}); check the cluster CA`,
      { cause: err },
    );
  }
  const tls = chain.find((c) => c.code !== undefined && /^ERR_TLS|^ERR_SSL/.test(c.code));
  if (tls) {
    // A handshake that broke off (not a certificate verdict) may work on the next try.
    return new ClusterUnreachableError(`failed to ${ctx.verb} ${resource}: TLS handshake with the API server failed (${tls.code})`, {
      cause: err,
    });
  }
  const unknownKind = chain.find((c) => c.message?.startsWith('Unrecognized API version and kind'));
  if (unknownKind) {
    const apiVersion = ctx.ref?.apiVersion ?? ctx.apiVersion ?? '?';
    const kind = ctx.ref?.kind ?? ctx.kind ?? 'objects';
    return new PrerequisiteMissingError(
      `failed to ${ctx.verb} ${resource}: the API server does not serve ${apiVersion} (is the CRD installed?)`,
      {
        cause: err,
        missing: `${kind} (${apiVersion})`,
      },
    );
  }
  if (chain.some((c) => c.message === 'fetch failed')) {
    return new ClusterUnreachableError(`failed to ${ctx.verb} ${resource}: cannot reach the API server`, { cause: err });
  }
  const base = err instanceof Error ? err : new Error(String(err));
  return new Error(`failed to ${ctx.verb} ${resource}: ${base.message}`, { cause: err });
}
