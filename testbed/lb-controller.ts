/**
 * The ALBs' data plane, and a stand-in for the parts of Knative/KServe/Istio
 * that decide what the ingress gateway routes, running inside the testbed
 * supervisor. Where the ALBs come from depends on `albSource`:
 *
 *  - `elbv2` (with the real AWS Load Balancer Controller, `lbController:
 *    'real'`): it only renders. Every pass it reads what the controller built
 *    in ELBv2 (DescribeLoadBalancers, DescribeTags, DescribeListeners,
 *    DescribeListenerCertificates, DescribeRules) and turns that into nginx
 *    listeners; it never reads `alb.ingress.kubernetes.io/*` annotations and
 *    never writes an Ingress (finalizers and status are the controller's).
 *    An ALB's name resolves (host map) once an Ingress's status names it.
 *  - `annotations` (the stand-in controller, `lbController: 'stand-in'`): it
 *    plays the controller too, as described below.
 *
 * Every ~300 ms it reads the cluster (as admin) and:
 *  - for each Ingress of class `alb`: names an ALB in the real format
 *    `k8s-<ns≤8>-<name≤8>-<10 hex>-<10 digits>.<region>.elb.amazonaws.com`
 *    (`internal-` in front for scheme internal), gives each listener a local
 *    port, turns the annotations and rules into an {@link AlbModel}, and once
 *    that is deployed and `lbDelayMs` has passed, writes
 *    `status.loadBalancer.ingress[0].hostname` (status subresource);
 *  - HTTPS listeners get, per ARN in `alb.ingress.kubernetes.io/certificate-arn`
 *    (first = default), a leaf certificate from the testbed CA for exactly the
 *    names ACM has on it, but only while ACM (moto) says ISSUED: like the real
 *    controller, a reconcile that fails keeps the previous listener config;
 *  - renders the gateway routes: for every InferenceService, the host its
 *    deployment mode renders ({@link inferenceServiceHosts}: Knative's
 *    `config-network` domain-template over `config-domain`, or KServe's
 *    `inferenceservice-config` ingress template in Standard mode), with the paths
 *    ALLOW AuthorizationPolicies admit for `component: predictor` workloads;
 *  - reloads nginx when the rendered config changes, writes the host map
 *    (ALB host name → `127.0.0.1:<port>`), and keeps InferenceService status
 *    (`url`, Ready) the way KServe would.
 */
import { ACMClient, DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { createHash, randomInt } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient, KubeObject } from './lib/kube';
import { child, members, queryCall, text as xmlText, type XmlNode } from './lib/aws-query';
import { freePort, LOOPBACK } from './lib/net';
import type { CertFiles, Pki } from './lib/pki';
import type {
  AlbAction,
  AlbCertificate,
  AlbListener,
  AlbModel,
  AlbRule,
  DexGatewayConfig,
  GatewayRoute,
  HeaderCondition,
  JwtCheck,
  NginxServer,
} from './nginx';
import { NJS_JWT_SCRIPT, NJS_MODULE } from './nginx';

export const ALB_FINALIZER = 'ingress.k8s.aws/resources';
export const LBC_FIELD_MANAGER = 'aws-load-balancer-controller';
const A = 'alb.ingress.kubernetes.io/';

export interface LbControllerOptions {
  kube: KubeClient;
  nginx: NginxServer;
  pki: Pki;
  ca: CertFiles;
  /** Where leaf certificates go. */
  certDir: string;
  motoUrl: string;
  region: string;
  clusterName: string;
  gatewayPort: number;
  /** `127.0.0.1:<port>` of the model server. */
  modelUpstream: string;
  hostMapFile: string;
  /** Richer listener map: ALB host → ingress and `{ "<alb port>": "127.0.0.1:<port>" }`. */
  listenersFile: string;
  lbDelayMs: number;
  neverAssignAddress?: boolean;
  pollMs?: number;
  /**
   * `annotations` (default): play the load-balancer controller from the Ingress annotations.
   * `elbv2`: render what the real controller built, read from ELBv2 at `motoUrl`.
   */
  albSource?: 'annotations' | 'elbv2';
  dex?: DexGatewayConfig;
  /** Where KServe's `inferenceservice-config` lives (default `kubeflow`, as Kubeflow installs KServe). */
  kserveNamespace?: string;
  log: (message: string) => void;
}

export interface AlbInfo {
  ingress: string;
  hostname: string;
  /** Set once the status carries the address. */
  addressAssigned: boolean;
  /** ALB port → `127.0.0.1:<port>`, for the deployed listeners. */
  listeners: Record<string, string>;
  /** Last reconcile error, if the latest desired state could not be deployed. */
  error?: string;
}

interface AlbState {
  key: string;
  namespace: string;
  name: string;
  hostname: string;
  firstSeen: number;
  localPorts: Map<number, number>;
  deployed?: AlbModel;
  addressWritten: boolean;
  error?: string;
}

interface IngressObject extends KubeObject {
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    rules?: Array<{ host?: string; http?: { paths?: Array<{ path?: string; pathType?: string; backend?: IngressBackend }> } }>;
  };
  status?: { loadBalancer?: { ingress?: Array<{ hostname?: string; ip?: string }> } };
}

interface IngressBackend {
  service?: { name?: string; port?: { number?: number; name?: string } };
}

interface PolicyObject extends KubeObject {
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    action?: string;
    rules?: Array<{ from?: unknown; when?: unknown; to?: Array<{ operation?: { paths?: string[]; notPaths?: string[] } }> }>;
  };
}

/** Thrown when the Ingress cannot be turned into an ALB right now. */
class ReconcileError extends Error {}

/** LBC drops everything but letters and digits from the name parts (`istio-system` → `istiosys`). */
function sanitize(text: string): string {
  return text.replace(/[^a-zA-Z0-9]/g, '');
}

/** The ALB name the real controller would give, plus an AWS-style DNS suffix. */
export function albHostname(clusterName: string, namespace: string, name: string, region: string, internal: boolean): string {
  const hash = createHash('sha256').update(`${clusterName}/${namespace}/${name}`).digest('hex').slice(0, 10);
  const lbName = `k8s-${sanitize(namespace).slice(0, 8)}-${sanitize(name).slice(0, 8)}-${hash}`;
  const digits = `${randomInt(1, 10)}${String(randomInt(0, 1_000_000_000)).padStart(9, '0')}`;
  return `${internal ? 'internal-' : ''}${lbName}-${digits}.${region}.elb.amazonaws.com`;
}

export function isAlbIngress(ing: IngressObject): boolean {
  return ing.metadata.annotations?.['kubernetes.io/ingress.class'] === 'alb' || ing.spec?.ingressClassName === 'alb';
}

/** `alb.ingress.kubernetes.io/listen-ports`, with the controller's default. */
export function parseListenPorts(annotations: Record<string, string>): Array<{ protocol: 'HTTP' | 'HTTPS'; port: number }> {
  const raw = annotations[`${A}listen-ports`];
  if (raw === undefined || raw.trim() === '') {
    return annotations[`${A}certificate-arn`] ? [{ protocol: 'HTTPS', port: 443 }] : [{ protocol: 'HTTP', port: 80 }];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ReconcileError(`failed to parse json annotation ${A}listen-ports: ${raw}`);
  }
  if (!Array.isArray(parsed)) throw new ReconcileError(`${A}listen-ports must be a JSON array: ${raw}`);
  const out: Array<{ protocol: 'HTTP' | 'HTTPS'; port: number }> = [];
  for (const entry of parsed) {
    if (typeof entry !== 'object' || entry === null) throw new ReconcileError(`invalid listen port ${JSON.stringify(entry)}`);
    for (const [proto, port] of Object.entries(entry as Record<string, unknown>)) {
      if ((proto !== 'HTTP' && proto !== 'HTTPS') || typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new ReconcileError(`invalid listen port ${JSON.stringify(entry)}`);
      }
      out.push({ protocol: proto, port });
    }
  }
  if (out.length === 0) throw new ReconcileError(`${A}listen-ports is empty`);
  return out;
}

/** `conditions.<name>`: only http-header is modelled; other fields are rejected loudly. */
export function parseConditions(raw: string | undefined, name: string): HeaderCondition[] {
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ReconcileError(`failed to parse json annotation ${A}conditions.${name}: ${raw}`);
  }
  if (!Array.isArray(parsed)) throw new ReconcileError(`${A}conditions.${name} must be a JSON array`);
  return parsed.map((c: unknown) => {
    const cond = c as { Field?: string; HttpHeaderConfig?: { HttpHeaderName?: unknown; Values?: unknown } };
    if (cond.Field !== 'http-header')
      throw new ReconcileError(`condition field ${String(cond.Field)} is not supported by the testbed controller`);
    const header = cond.HttpHeaderConfig?.HttpHeaderName;
    const values = cond.HttpHeaderConfig?.Values;
    if (
      typeof header !== 'string' ||
      header === '' ||
      !Array.isArray(values) ||
      values.length === 0 ||
      !values.every((v) => typeof v === 'string')
    ) {
      throw new ReconcileError(`invalid http-header condition in ${A}conditions.${name}: ${JSON.stringify(c)}`);
    }
    if (header.length > 40) throw new ReconcileError(`http-header condition name longer than 40 characters: ${header}`);
    if (values.length > 3)
      throw new ReconcileError(`http-header condition has ${values.length} values; an ALB allows 3 match evaluations per condition`);
    for (const v of values as string[])
      if (v.length > 128) throw new ReconcileError('http-header condition value longer than 128 characters');
    return { header, values: values as string[] };
  });
}

function toRulePath(path: string | undefined, pathType: string | undefined): AlbRule['path'] {
  const p = path === undefined || path === '' ? '/' : path;
  if (pathType === 'Exact') return { kind: 'exact', value: p };
  if (pathType === 'Prefix') return { kind: 'prefix', value: p };
  // ImplementationSpecific: ALB path patterns.
  if (p.endsWith('*')) return { kind: 'prefix', value: p.slice(0, -1) || '/' };
  if (p === '/') return { kind: 'prefix', value: '/' };
  return { kind: 'exact', value: p };
}

function backendAction(
  annotations: Record<string, string>,
  backend: IngressBackend | undefined,
): { action: AlbAction; conditionsName?: string } {
  const svc = backend?.service;
  if (!svc?.name) return { action: { type: 'unavailable' } };
  if (svc.port?.name === 'use-annotation') {
    const raw = annotations[`${A}actions.${svc.name}`];
    if (raw === undefined) throw new ReconcileError(`backend with use-annotation expects annotation ${A}actions.${svc.name}`);
    let a: {
      Type?: string;
      FixedResponseConfig?: { StatusCode?: string; ContentType?: string; MessageBody?: string };
      ForwardConfig?: { TargetGroups?: Array<{ ServiceName?: string }> };
      TargetGroupArn?: string;
    };
    try {
      a = JSON.parse(raw) as typeof a;
    } catch {
      throw new ReconcileError(`failed to parse json annotation ${A}actions.${svc.name}`);
    }
    if (a.Type === 'fixed-response') {
      const cfg = a.FixedResponseConfig ?? {};
      return {
        action: {
          type: 'fixed-response',
          status: Number(cfg.StatusCode ?? 503),
          contentType: cfg.ContentType ?? 'text/plain',
          body: cfg.MessageBody ?? '',
        },
        conditionsName: svc.name,
      };
    }
    if (a.Type === 'forward') {
      const target = a.ForwardConfig?.TargetGroups?.[0]?.ServiceName;
      return { action: target === 'istio-ingressgateway' ? { type: 'gateway' } : { type: 'unavailable' }, conditionsName: svc.name };
    }
    throw new ReconcileError(`action type ${String(a.Type)} is not supported by the testbed controller`);
  }
  return { action: svc.name === 'istio-ingressgateway' ? { type: 'gateway' } : { type: 'unavailable' }, conditionsName: svc.name };
}

/** Ingress rules → ALB rules (in order), plus the default action. */
export function buildRules(ing: IngressObject): AlbRule[] {
  const annotations = ing.metadata.annotations ?? {};
  const rules: AlbRule[] = [];
  for (const rule of ing.spec?.rules ?? []) {
    for (const p of rule.http?.paths ?? []) {
      const { action, conditionsName } = backendAction(annotations, p.backend);
      const conditions = conditionsName ? parseConditions(annotations[`${A}conditions.${conditionsName}`], conditionsName) : [];
      rules.push({ ...(rule.host ? { host: rule.host } : {}), path: toRulePath(p.path, p.pathType), conditions, action });
    }
  }
  if (ing.spec?.defaultBackend) {
    const { action } = backendAction(annotations, ing.spec.defaultBackend);
    rules.push({ path: { kind: 'prefix', value: '/' }, conditions: [], action });
  }
  return rules;
}

/**
 * Paths an ALLOW policy admits for a predictor pod of `isvc` in `namespace`:
 * policies in the root namespace `istio-system` apply to every namespace,
 * others to their own. Rules with `from`/`when` are not met by the activator's
 * traffic and are skipped, as are DENY/CUSTOM/AUDIT policies.
 */
export function allowedPaths(policies: PolicyObject[], namespace: string, isvc: string): string[] {
  const podLabels: Record<string, string> = {
    component: 'predictor',
    'serving.kserve.io/inferenceservice': isvc,
    'app.kubernetes.io/component': 'predictor',
  };
  const out: string[] = [];
  for (const pol of policies) {
    const ns = pol.metadata.namespace;
    if (ns !== 'istio-system' && ns !== namespace) continue;
    const action = pol.spec?.action ?? 'ALLOW';
    if (action !== 'ALLOW') continue;
    const sel = pol.spec?.selector?.matchLabels ?? {};
    if (!Object.entries(sel).every(([k, v]) => podLabels[k] === v)) continue;
    for (const rule of pol.spec?.rules ?? []) {
      if (rule.from !== undefined || rule.when !== undefined) continue;
      for (const to of rule.to ?? []) {
        const paths = to.operation?.paths;
        if (paths === undefined) out.push('*');
        else out.push(...paths);
      }
      if (rule.to === undefined) out.push('*');
    }
  }
  return [...new Set(out)];
}

/** A KServe deployment mode, by its current name (v0.16 renamed Serverless → Knative, RawDeployment → Standard). */
export type KserveMode = 'Knative' | 'Standard';

/** Any of KServe's mode names (old and new, any case) as the current one; undefined for others (ModelMesh, typos). */
export function kserveMode(value: unknown): KserveMode | undefined {
  const v = typeof value === 'string' ? value.toLowerCase() : '';
  if (v === 'knative' || v === 'serverless') return 'Knative';
  if (v === 'standard' || v === 'rawdeployment') return 'Standard';
  return undefined;
}

/**
 * The testbed's rendering of a Go `text/template` domain template, for the
 * fields the stock templates use (`.Name`, `.Namespace`, `.Domain`,
 * `.IngressDomain`); anything else renders empty, so a template the stand-in
 * does not understand gives a host nothing routes to.
 */
export function renderDomainTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{-?\s*\.([A-Za-z]+)\s*-?\}\}/g, (_m, key: string) => values[key] ?? '');
}

/** The hostname settings KServe and Knative read, as the testbed finds them in the cluster. */
export interface HostnameConfig {
  configDomain: KubeObject | undefined;
  configNetwork: KubeObject | undefined;
  inferenceServiceConfig: KubeObject | undefined;
}

/**
 * The external hosts of an InferenceService, as KServe (and Knative) would
 * publish them, first = its `status.url`:
 *
 * - Knative mode: Knative renders `config-network`'s `domain-template`
 *   (default `{{.Name}}.{{.Namespace}}.{{.Domain}}`) for every default domain
 *   of `config-domain` (upstream: knative/serving
 *   `pkg/reconciler/route/domains/domains.go`, `DomainNameFromTemplate`; KServe
 *   then names the top-level host after the InferenceService);
 * - Standard mode: KServe renders `inferenceservice-config`'s
 *   `ingress.domainTemplate` (default `{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}`)
 *   with `ingress.ingressDomain` (default `example.com`) (upstream: kserve/kserve
 *   `pkg/controller/v1beta1/inferenceservice/reconcilers/ingress`, `GenerateDomainName`).
 *
 * The mode is the InferenceService's `serving.kserve.io/deploymentMode`
 * annotation, else `inferenceservice-config`'s `deploy.defaultDeploymentMode`,
 * else Knative (old and new names alike).
 */
export function inferenceServiceHosts(isvc: KubeObject, config: HostnameConfig): { mode: KserveMode; hosts: string[] } {
  const data = (obj: KubeObject | undefined): Record<string, string> => ((obj?.data ?? {}) as Record<string, string>) ?? {};
  const json = (text: string | undefined): Record<string, unknown> => {
    try {
      const v = JSON.parse(text ?? '{}') as unknown;
      return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const kserve = data(config.inferenceServiceConfig);
  const clusterDefault = kserveMode(json(kserve.deploy).defaultDeploymentMode) ?? 'Knative';
  const mode = kserveMode(isvc.metadata.annotations?.['serving.kserve.io/deploymentMode']) ?? clusterDefault;
  const name = isvc.metadata.name;
  const namespace = isvc.metadata.namespace ?? 'default';
  if (mode === 'Standard') {
    const ingress = json(kserve.ingress);
    const template =
      typeof ingress.domainTemplate === 'string' && ingress.domainTemplate !== ''
        ? ingress.domainTemplate
        : '{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}';
    const ingressDomain = typeof ingress.ingressDomain === 'string' && ingress.ingressDomain !== '' ? ingress.ingressDomain : 'example.com';
    return { mode, hosts: [renderDomainTemplate(template, { Name: name, Namespace: namespace, IngressDomain: ingressDomain })] };
  }
  const template = data(config.configNetwork)['domain-template'] || '{{.Name}}.{{.Namespace}}.{{.Domain}}';
  // Knative's default domain when config-domain names none.
  const domains = defaultDomains(config.configDomain);
  return {
    mode,
    hosts: (domains.length > 0 ? domains : ['example.com']).map((domain) =>
      renderDomainTemplate(template, { Name: name, Namespace: namespace, Domain: domain }),
    ),
  };
}

/** Domain keys of `config-domain` that apply to every route (no selector). */
export function defaultDomains(configDomain: KubeObject | undefined): string[] {
  const data = (configDomain?.data ?? {}) as Record<string, string>;
  return Object.entries(data)
    .filter(([k, v]) => k !== '_example' && !/selector\s*:/.test(v ?? ''))
    .map(([k]) => k);
}

/** `elbv2`: how often the renderer describes ELBv2 (ms); reconcileNow() describes at once. */
const ELBV2_DESCRIBE_MS = 1000;

/** Target group ARNs a rule action forwards to. */
function forwardTargets(action: XmlNode): string[] {
  if (xmlText(action, 'Type') !== 'forward') return [];
  const direct = xmlText(action, 'TargetGroupArn');
  const weighted = members(child(child(action, 'ForwardConfig'), 'TargetGroups')).map((t) => xmlText(t, 'TargetGroupArn'));
  return [...new Set([direct, ...weighted].filter((a) => a !== ''))];
}

/**
 * An ELBv2 rule's actions → the data plane's action. A forward reaches the
 * gateway when its target group is the controller's for the
 * `istio-ingressgateway` Service (tag `ingress.k8s.aws/resource`
 * `<ns>/<ingress>-istio-ingressgateway:<port>`); other target groups have no
 * healthy target here.
 */
/** A rule's `jwt-validation` action (ELBv2 `JwtValidationConfig`), if it has one. */
export function jwtFromElbv2(actions: XmlNode[]): JwtCheck | undefined {
  const a = actions.find((x) => xmlText(x, 'Type') === 'jwt-validation');
  if (!a) return undefined;
  const cfg = child(a, 'JwtValidationConfig');
  return {
    issuer: xmlText(cfg, 'Issuer'),
    jwksEndpoint: xmlText(cfg, 'JwksEndpoint'),
    additionalClaims: members(child(cfg, 'AdditionalClaims')).map((c) => ({
      format: xmlText(c, 'Format') as JwtCheck['additionalClaims'][number]['format'],
      name: xmlText(c, 'Name'),
      values: members(child(c, 'Values')).map((v) => (typeof v === 'string' ? v : '')),
    })),
  };
}

function actionFromElbv2(actions: XmlNode[], tgTags: Map<string, Record<string, string>>): AlbAction {
  const terminal = [...actions].sort((a, b) => Number(xmlText(a, 'Order') || 0) - Number(xmlText(b, 'Order') || 0)).at(-1);
  const type = xmlText(terminal, 'Type');
  if (type === 'fixed-response') {
    const cfg = child(terminal, 'FixedResponseConfig');
    return {
      type: 'fixed-response',
      status: Number(xmlText(cfg, 'StatusCode') || 503),
      contentType: xmlText(cfg, 'ContentType') || 'text/plain',
      body: xmlText(cfg, 'MessageBody'),
    };
  }
  if (type === 'forward' && terminal) {
    const toGateway = forwardTargets(terminal).some((arn) =>
      /-istio-ingressgateway:\d+$/.test(tgTags.get(arn)?.['ingress.k8s.aws/resource'] ?? ''),
    );
    return toGateway ? { type: 'gateway' } : { type: 'unavailable' };
  }
  return { type: 'unavailable' };
}

export class LbController {
  private readonly state = new Map<string, AlbState>();
  private readonly certCache = new Map<string, AlbCertificate>();
  private readonly acm = new Map<string, ACMClient>();
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastNginxModel = '';
  private lastHostMap = '';
  private lastListeners = '';
  private lastErrors = new Map<string, string>();
  private lbDelayMs: number;
  private neverAssignAddress: boolean;
  private ticks = 0;
  /** `elbv2`: when ELBv2 was last described, and whether the next pass must describe it. */
  private lastDescribe = 0;
  private describeNext = true;

  constructor(private readonly o: LbControllerOptions) {
    this.lbDelayMs = o.lbDelayMs;
    this.neverAssignAddress = o.neverAssignAddress ?? false;
    writeFileSync(o.hostMapFile, '{}\n');
    writeFileSync(o.listenersFile, '{}\n');
  }

  /** Fault knobs for tests. */
  setOptions(options: { lbDelayMs?: number; neverAssignAddress?: boolean }): void {
    if (options.lbDelayMs !== undefined) this.lbDelayMs = options.lbDelayMs;
    if (options.neverAssignAddress !== undefined) this.neverAssignAddress = options.neverAssignAddress;
  }

  /** Starts nginx (with the gateway only) and the reconcile loop. */
  async start(): Promise<void> {
    await this.o.nginx.start(this.nginxModel());
    this.lastNginxModel = JSON.stringify(this.nginxModel());
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.queue;
    for (const c of this.acm.values()) c.destroy();
  }

  /** Runs a full reconcile pass that starts after this call (and waits for it). */
  reconcileNow(): Promise<void> {
    this.describeNext = true;
    return this.enqueue();
  }

  /** Number of reconcile passes so far. */
  get passes(): number {
    return this.ticks;
  }

  albs(): AlbInfo[] {
    return [...this.state.values()].map((s) => ({
      ingress: s.key,
      hostname: s.hostname,
      addressAssigned: s.addressWritten,
      listeners: Object.fromEntries((s.deployed?.listeners ?? []).map((l) => [String(l.albPort), `${LOOPBACK}:${l.localPort}`])),
      ...(s.error ? { error: s.error } : {}),
    }));
  }

  /** Passes run one at a time, in order: a pass never overlaps another. */
  private enqueue(): Promise<void> {
    const next = this.queue.then(() => this.tick());
    this.queue = next;
    return next;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.enqueue().finally(() => this.schedule(this.o.pollMs ?? 300));
    }, ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.ticks++;
    try {
      await this.reconcile();
    } catch (err) {
      this.logOnce('loop', `reconcile failed: ${(err as Error).message}`);
    }
  }

  private logOnce(key: string, message: string): void {
    if (this.lastErrors.get(key) === message) return;
    this.lastErrors.set(key, message);
    this.o.log(message);
  }

  private acmFor(region: string): ACMClient {
    let c = this.acm.get(region);
    if (!c) {
      c = new ACMClient({
        region,
        endpoint: this.o.motoUrl,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
        maxAttempts: 2,
      });
      this.acm.set(region, c);
    }
    return c;
  }

  /** The leaf certificate standing in for an ISSUED ACM certificate. */
  private async certificate(arn: string): Promise<AlbCertificate> {
    const cached = this.certCache.get(arn);
    if (cached) return cached;
    const region = arn.split(':')[3] || this.o.region;
    let detail;
    try {
      detail = (await this.acmFor(region).send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate;
    } catch (err) {
      throw new ReconcileError(`CertificateNotFound: ${arn}: ${(err as Error).message}`);
    }
    if (!detail) throw new ReconcileError(`CertificateNotFound: ${arn}`);
    if (detail.Status !== 'ISSUED') {
      throw new ReconcileError(`UnsupportedCertificate: ${arn} is ${String(detail.Status)}; a listener takes only ISSUED certificates`);
    }
    const names = [...new Set([detail.DomainName ?? '', ...(detail.SubjectAlternativeNames ?? [])].filter((n) => n !== ''))];
    if (names.length === 0) throw new ReconcileError(`certificate ${arn} has no names`);
    const base = `acm-${createHash('sha256').update(arn).digest('hex').slice(0, 16)}`;
    const leaf = await this.o.pki.issueLeaf(this.o.ca, this.o.certDir, base, { commonName: names[0]!, dnsNames: names, days: 30 });
    const cert: AlbCertificate = { arn, names, certFile: leaf.certFile, keyFile: leaf.keyFile };
    this.certCache.set(arn, cert);
    this.o.log(`certificate ${arn} (${names.join(', ')}) ISSUED: leaf ${leaf.certFile}`);
    return cert;
  }

  private async desiredModel(ing: IngressObject, st: AlbState): Promise<AlbModel> {
    const annotations = ing.metadata.annotations ?? {};
    const ports = parseListenPorts(annotations);
    const arns = (annotations[`${A}certificate-arn`] ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
    const rules = buildRules(ing);
    const listeners: AlbListener[] = [];
    for (const lp of ports) {
      let localPort = st.localPorts.get(lp.port);
      if (localPort === undefined) {
        localPort = await freePort();
        st.localPorts.set(lp.port, localPort);
      }
      let certificates: AlbCertificate[] = [];
      if (lp.protocol === 'HTTPS') {
        if (arns.length === 0) throw new ReconcileError(`no certificate found for HTTPS listener ${lp.port} (set ${A}certificate-arn)`);
        certificates = [];
        for (const arn of arns) certificates.push(await this.certificate(arn));
      }
      listeners.push({ albPort: lp.port, protocol: lp.protocol, localPort, certificates });
    }
    return { key: st.key, hostname: st.hostname, listeners, rules };
  }

  private nginxModel(routes: GatewayRoute[] = []): Parameters<NginxServer['start']>[0] {
    const albs = [...this.state.values()].filter((s) => s.deployed).map((s) => s.deployed!);
    albs.sort((a, b) => a.key.localeCompare(b.key));
    return {
      gatewayPort: this.o.gatewayPort,
      albs,
      routes,
      ...(this.o.dex ? { dex: this.o.dex } : {}),
      // The JWKS fetch trusts the testbed CA (the token issuer's certificate).
      njs: { module: NJS_MODULE, script: NJS_JWT_SCRIPT, trustedCaFile: this.o.ca.certFile },
    };
  }

  private async reconcile(): Promise<void> {
    const kube = this.o.kube;
    const [ingresses, isvcs, policies, configDomain, configNetwork, inferenceServiceConfig] = await Promise.all([
      kube.list<IngressObject>('networking.k8s.io/v1', 'Ingress'),
      kube.list('serving.kserve.io/v1beta1', 'InferenceService'),
      kube.list<PolicyObject>('security.istio.io/v1beta1', 'AuthorizationPolicy'),
      kube.get('v1', 'ConfigMap', 'knative-serving', 'config-domain'),
      kube.get('v1', 'ConfigMap', 'knative-serving', 'config-network'),
      kube.get('v1', 'ConfigMap', this.o.kserveNamespace ?? 'kubeflow', 'inferenceservice-config'),
    ]);
    const hostnameConfig: HostnameConfig = { configDomain, configNetwork, inferenceServiceConfig };

    // ---- ALBs
    if (this.o.albSource === 'elbv2') {
      // ELBv2 is described at most every ELBV2_DESCRIBE_MS (five calls per ALB); addresses every pass.
      const describe = this.describeNext || Date.now() - this.lastDescribe >= ELBV2_DESCRIBE_MS;
      if (describe) {
        this.describeNext = false;
        this.lastDescribe = Date.now();
      }
      await this.readElbv2Albs(ingresses, describe);
    } else await this.reconcileAnnotations(ingresses);

    // ---- gateway routes
    // Each InferenceService by the hostname its deployment mode renders (inferenceServiceHosts).
    const routes: GatewayRoute[] = [];
    const seenHosts = new Set<string>();
    for (const isvc of isvcs) {
      const ns = isvc.metadata.namespace ?? 'default';
      for (const host of inferenceServiceHosts(isvc, hostnameConfig).hosts) {
        if (seenHosts.has(host)) continue;
        seenHosts.add(host);
        routes.push({ host, allowedPaths: allowedPaths(policies, ns, isvc.metadata.name), upstream: this.o.modelUpstream });
      }
    }
    routes.sort((a, b) => a.host.localeCompare(b.host));

    // ---- nginx
    const model = this.nginxModel(routes);
    const text = JSON.stringify(model);
    if (text !== this.lastNginxModel) {
      await this.o.nginx.reload(model);
      this.lastNginxModel = text;
      this.o.log(`nginx reloaded: ${model.albs.length} ALB(s), ${routes.length} gateway route(s)`);
    }

    // ---- addresses (the stand-in publishes them; the real controller writes its own)
    if (this.o.albSource !== 'elbv2') await this.publishAddresses(ingresses);

    // ---- host map (an ALB's name resolves once it has been published)
    const hostMap: Record<string, string> = {};
    const listeners: Record<string, { ingress: string; listeners: Record<string, string> }> = {};
    for (const st of this.state.values()) {
      if (!st.addressWritten || !st.deployed) continue;
      const https = st.deployed.listeners.find((l) => l.protocol === 'HTTPS') ?? st.deployed.listeners[0];
      if (https) hostMap[st.hostname] = `${LOOPBACK}:${https.localPort}`;
      listeners[st.hostname] = {
        ingress: st.key,
        listeners: Object.fromEntries(st.deployed.listeners.map((l) => [String(l.albPort), `${LOOPBACK}:${l.localPort}`])),
      };
    }
    this.writeIfChanged(this.o.hostMapFile, hostMap, 'hostMap');
    this.writeIfChanged(this.o.listenersFile, listeners, 'listeners');

    // ---- InferenceService status, as KServe would report it
    await this.reconcileIsvcStatus(isvcs, hostnameConfig);
  }

  private elbv2Call(action: string, params: Record<string, unknown> = {}): Promise<XmlNode> {
    return queryCall({
      endpoint: this.o.motoUrl,
      service: 'elasticloadbalancing',
      region: this.o.region,
      version: '2015-12-01',
      action,
      params,
    });
  }

  /** Tags by resource ARN (DescribeTags takes 20 ARNs per call). */
  private async elbv2Tags(arns: string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    for (let i = 0; i < arns.length; i += 20) {
      const res = await this.elbv2Call('DescribeTags', { ResourceArns: arns.slice(i, i + 20) });
      for (const d of members(child(res, 'TagDescriptions'))) {
        out.set(
          xmlText(d, 'ResourceArn'),
          Object.fromEntries(members(child(d, 'Tags')).map((t) => [xmlText(t, 'Key'), xmlText(t, 'Value')])),
        );
      }
    }
    return out;
  }

  /**
   * The real controller's ALBs, as ELBv2 describes them: one {@link AlbState}
   * per application load balancer tagged with this cluster, keyed by its ARN;
   * `key` is the Ingress it serves (tag `ingress.k8s.aws/stack`).
   */
  private async readElbv2Albs(ingresses: IngressObject[], describe: boolean): Promise<void> {
    const published = new Set<string>();
    for (const ing of ingresses) for (const i of ing.status?.loadBalancer?.ingress ?? []) if (i.hostname) published.add(i.hostname);
    if (!describe) {
      for (const st of this.state.values()) st.addressWritten = published.has(st.hostname);
      return;
    }
    const lbs = members(child(await this.elbv2Call('DescribeLoadBalancers'), 'LoadBalancers')).filter(
      (lb) => xmlText(lb, 'Type') === 'application',
    );
    const tags = await this.elbv2Tags(lbs.map((lb) => xmlText(lb, 'LoadBalancerArn')));
    const seen = new Set<string>();
    for (const lb of lbs) {
      const arn = xmlText(lb, 'LoadBalancerArn');
      const t = tags.get(arn) ?? {};
      if (t['elbv2.k8s.aws/cluster'] !== this.o.clusterName) continue;
      seen.add(arn);
      const key = t['ingress.k8s.aws/stack'] ?? xmlText(lb, 'LoadBalancerName');
      const hostname = xmlText(lb, 'DNSName');
      let st = this.state.get(arn);
      if (!st) {
        const [namespace = '', name = key] = key.includes('/') ? key.split('/', 2) : [];
        st = { key, namespace, name, hostname, firstSeen: Date.now(), localPorts: new Map(), addressWritten: false };
        this.state.set(arn, st);
        this.o.log(`ELBv2: ALB ${hostname} (${key})`);
      }
      try {
        st.deployed = await this.modelFromElbv2(arn, st);
        if (st.error) this.o.log(`ALB ${hostname}: rendered`);
        delete st.error;
        this.lastErrors.delete(arn);
      } catch (err) {
        // A listener the renderer cannot draw keeps the last one it could.
        st.error = (err as Error).message;
        this.logOnce(arn, `ALB ${hostname}: not rendered: ${st.error}`);
      }
      if (!st.addressWritten && published.has(hostname)) this.o.log(`ALB ${hostname}: named in ${key}'s status: resolves`);
      st.addressWritten = published.has(hostname);
    }
    for (const arn of [...this.state.keys()]) {
      if (!seen.has(arn)) {
        this.o.log(`ELBv2: ALB ${this.state.get(arn)!.hostname} deleted`);
        this.state.delete(arn);
      }
    }
  }

  private async modelFromElbv2(lbArn: string, st: AlbState): Promise<AlbModel> {
    const listeners: AlbListener[] = [];
    let rules: AlbRule[] | undefined;
    const described = members(child(await this.elbv2Call('DescribeListeners', { LoadBalancerArn: lbArn }), 'Listeners'));
    for (const l of described) {
      const albPort = Number(xmlText(l, 'Port'));
      const protocol = xmlText(l, 'Protocol');
      if (protocol !== 'HTTP' && protocol !== 'HTTPS') throw new ReconcileError(`listener protocol ${protocol} is not rendered`);
      const listenerArn = xmlText(l, 'ListenerArn');
      let localPort = st.localPorts.get(albPort);
      if (localPort === undefined) {
        localPort = await freePort();
        st.localPorts.set(albPort, localPort);
      }
      const certificates: AlbCertificate[] = [];
      if (protocol === 'HTTPS') {
        const listed = members(child(await this.elbv2Call('DescribeListenerCertificates', { ListenerArn: listenerArn }), 'Certificates'));
        // The default certificate first: nginx's first server block is the SNI fallback.
        listed.sort((a, b) => Number(xmlText(b, 'IsDefault') === 'true') - Number(xmlText(a, 'IsDefault') === 'true'));
        for (const c of listed) certificates.push(await this.certificate(xmlText(c, 'CertificateArn')));
      }
      // The data plane has one rule list per ALB: the HTTPS listener's (the product's ALBs have one listener).
      if (rules === undefined || protocol === 'HTTPS') {
        rules = await this.rulesFromElbv2(members(child(await this.elbv2Call('DescribeRules', { ListenerArn: listenerArn }), 'Rules')));
      }
      listeners.push({ albPort, protocol, localPort, certificates });
    }
    listeners.sort((a, b) => a.albPort - b.albPort);
    return { key: st.key, hostname: st.hostname, listeners, rules: rules ?? [] };
  }

  /** ELBv2 rules (priority order, default last) → the data plane's rules. */
  private async rulesFromElbv2(described: XmlNode[]): Promise<AlbRule[]> {
    const prio = (r: XmlNode) => (xmlText(r, 'IsDefault') === 'true' ? Number.MAX_SAFE_INTEGER : Number(xmlText(r, 'Priority')));
    const sorted = [...described].sort((a, b) => prio(a) - prio(b));
    const tgArns = new Set<string>();
    for (const r of sorted) for (const a of members(child(r, 'Actions'))) for (const arn of forwardTargets(a)) tgArns.add(arn);
    const tgTags = await this.elbv2Tags([...tgArns]);
    const out: AlbRule[] = [];
    for (const r of sorted) {
      const action = actionFromElbv2(members(child(r, 'Actions')), tgTags);
      const jwt = jwtFromElbv2(members(child(r, 'Actions')));
      if (xmlText(r, 'IsDefault') === 'true') {
        // The controller's default action is a fixed 404 text/plain, which the data plane answers anyway.
        if (!(action.type === 'fixed-response' && action.status === 404 && action.contentType === 'text/plain' && action.body === ''))
          out.push({ path: { kind: 'prefix', value: '/' }, conditions: [], action, ...(jwt ? { jwt } : {}) });
        continue;
      }
      let hosts: Array<string | undefined> = [undefined];
      let paths = ['/*'];
      const conditions: HeaderCondition[] = [];
      for (const c of members(child(r, 'Conditions'))) {
        const field = xmlText(c, 'Field');
        const values = (config: string) => {
          const v = members(child(child(c, config), 'Values'));
          return (v.length ? v : members(child(c, 'Values'))).map((x) => (typeof x === 'string' ? x : ''));
        };
        if (field === 'host-header') hosts = values('HostHeaderConfig');
        else if (field === 'path-pattern') paths = values('PathPatternConfig');
        else if (field === 'http-header') {
          conditions.push({ header: xmlText(child(c, 'HttpHeaderConfig'), 'HttpHeaderName'), values: values('HttpHeaderConfig') });
        } else throw new ReconcileError(`rule condition ${field} is not rendered by the testbed`);
      }
      for (const host of hosts)
        for (const p of paths)
          out.push({
            ...(host ? { host } : {}),
            path: toRulePath(p, 'ImplementationSpecific'),
            conditions,
            action,
            ...(jwt ? { jwt } : {}),
          });
    }
    return out;
  }

  /** The stand-in controller: ALB models from the annotations, finalizers. */
  private async reconcileAnnotations(ingresses: IngressObject[]): Promise<void> {
    const kube = this.o.kube;
    const seen = new Set<string>();
    for (const ing of ingresses) {
      if (!isAlbIngress(ing)) continue;
      const ns = ing.metadata.namespace ?? 'default';
      const key = `${ns}/${ing.metadata.name}`;
      seen.add(key);
      const ref = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: ns, name: ing.metadata.name };
      let st = this.state.get(key);
      if (ing.metadata.deletionTimestamp) {
        if (st) this.o.log(`Ingress ${key} deleted: ALB ${st.hostname} removed`);
        this.state.delete(key);
        seen.delete(key);
        const finalizers = ing.metadata.finalizers ?? [];
        if (finalizers.includes(ALB_FINALIZER)) {
          await kube.mergePatch(
            ref,
            { metadata: { finalizers: finalizers.filter((f) => f !== ALB_FINALIZER), resourceVersion: ing.metadata.resourceVersion } },
            { fieldManager: LBC_FIELD_MANAGER },
          );
        }
        continue;
      }
      if (!st) {
        const internal = ing.metadata.annotations?.[`${A}scheme`] === 'internal';
        st = {
          key,
          namespace: ns,
          name: ing.metadata.name,
          hostname: albHostname(this.o.clusterName, ns, ing.metadata.name, this.o.region, internal),
          firstSeen: Date.now(),
          localPorts: new Map(),
          addressWritten: false,
        };
        this.state.set(key, st);
        this.o.log(`Ingress ${key}: ALB ${st.hostname}`);
      }
      if (!(ing.metadata.finalizers ?? []).includes(ALB_FINALIZER)) {
        await kube.mergePatch(
          ref,
          { metadata: { finalizers: [...(ing.metadata.finalizers ?? []), ALB_FINALIZER], resourceVersion: ing.metadata.resourceVersion } },
          { fieldManager: LBC_FIELD_MANAGER },
        );
      }
      try {
        const model = await this.desiredModel(ing, st);
        st.deployed = model;
        if (st.error) this.o.log(`Ingress ${key}: reconciled`);
        delete st.error;
        this.lastErrors.delete(key);
      } catch (err) {
        if (!(err instanceof ReconcileError)) throw err;
        st.error = err.message;
        this.logOnce(
          key,
          `Ingress ${key}: FailedDeployModel: ${err.message}${st.deployed ? ' (keeping the previous listener config)' : ''}`,
        );
      }
    }
    for (const key of [...this.state.keys()]) {
      if (!seen.has(key)) {
        this.o.log(`Ingress ${key} gone: ALB removed`);
        this.state.delete(key);
      }
    }
  }

  /** The stand-in controller: publish the address of each deployed ALB after `lbDelayMs`. */
  private async publishAddresses(ingresses: IngressObject[]): Promise<void> {
    const kube = this.o.kube;
    const byKey = new Map(ingresses.map((i) => [`${i.metadata.namespace ?? 'default'}/${i.metadata.name}`, i]));
    for (const st of this.state.values()) {
      const ing = byKey.get(st.key);
      if (!ing || !st.deployed) continue;
      const current = ing.status?.loadBalancer?.ingress?.[0]?.hostname;
      if (current === st.hostname) {
        st.addressWritten = true;
        continue;
      }
      if (this.neverAssignAddress || Date.now() - st.firstSeen < this.lbDelayMs) continue;
      await kube.mergePatch(
        { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: st.namespace, name: st.name },
        { status: { loadBalancer: { ingress: [{ hostname: st.hostname }] } } },
        { subresource: 'status', fieldManager: LBC_FIELD_MANAGER },
      );
      st.addressWritten = true;
      this.o.log(`Ingress ${st.key}: status.loadBalancer.ingress[0].hostname = ${st.hostname}`);
    }
  }

  private writeIfChanged(file: string, value: unknown, which: 'hostMap' | 'listeners'): void {
    const text = `${JSON.stringify(value, null, 2)}\n`;
    if ((which === 'hostMap' ? this.lastHostMap : this.lastListeners) === text) return;
    const tmp = join(`${file}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    if (which === 'hostMap') this.lastHostMap = text;
    else this.lastListeners = text;
  }

  private async reconcileIsvcStatus(isvcs: KubeObject[], config: HostnameConfig): Promise<void> {
    for (const isvc of isvcs) {
      const ns = isvc.metadata.namespace ?? 'default';
      const { hosts } = inferenceServiceHosts(isvc, config);
      const host = hosts[0] ?? `${isvc.metadata.name}.${ns}.example.com`;
      const url = `http://${host}`;
      const status = (isvc.status ?? {}) as { url?: string };
      if (status.url === url) continue;
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const cond = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
      await this.o.kube.mergePatch(
        { apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', namespace: ns, name: isvc.metadata.name },
        {
          status: {
            url,
            address: { url: `http://${isvc.metadata.name}.${ns}.svc.cluster.local` },
            components: {
              predictor: {
                url: `http://${host.replace(isvc.metadata.name, `${isvc.metadata.name}-predictor`)}`,
                latestReadyRevision: `${isvc.metadata.name}-predictor-default-00001`,
              },
            },
            conditions: ['IngressReady', 'PredictorConfigurationReady', 'PredictorReady', 'PredictorRouteReady', 'Ready'].map(cond),
          },
        },
        { subresource: 'status', fieldManager: 'kserve-controller' },
      );
    }
  }
}
