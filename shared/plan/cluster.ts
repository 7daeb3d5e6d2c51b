/**
 * The cluster side of the guide, as desired state → plan → apply.
 *
 * Desired objects (what the guide's kustomize overlays and `kubectl` edits produce):
 *
 * | object                                          | guide step                                  |
 * |-------------------------------------------------|---------------------------------------------|
 * | ConfigMap knative-serving/config-domain         | "remove `_example`, replace `example.com`"  |
 * | AuthorizationPolicy istio-system/allow-predictor, allow-transformer | issue #82 workaround    |
 * | Ingress istio-system/istio-ingress-api (Cognito)| `kustomize build overlays/api`              |
 * | Ingress istio-system/istio-ingress (Dex)        | `kustomize build overlays/https`            |
 * | Ingress istio-system/istio-ingress-jwt (JWT)    | (none: the ALB verifies tokens; issue 12)   |
 * | Ingress istio-system/istio-ingress-jwt-header   | JWT migration only: the header rule kept    |
 * | RequestAuthentication istio-system/kserve-edge-jwt | Kubeflow 1.9+: Bearer requests skip oauth2-proxy |
 *
 * Plan table (current × desired → action). "ours" = carries `ownedLabels(ownerId)`.
 *
 * | object               | absent  | ours, equal | ours, differs | foreign, equal   | foreign, differs              |
 * |----------------------|---------|-------------|---------------|------------------|-------------------------------|
 * | config-domain        | error¹  | none        | patch²        | none             | patch²                        |
 * | AuthorizationPolicy  | apply   | none        | apply (force) | none³            | refuse; adopt → apply (force) |
 * | Ingress (Cognito)    | apply   | none        | apply (force) | refuse; adopt → apply (force)  | same                 |
 * | Ingress (Dex)        | apply   | none        | apply (force) | none             | apply 2 annotations (force)⁴  |
 * | Ingress (JWT)        | apply   | none        | apply (force) | refuse; adopt → apply (force)  | same                 |
 * | RequestAuthentication⁵ | apply | none        | apply (force) | none³            | refuse; adopt → apply (force) |
 *
 * JWT migration (issue 12). The controller puts the `jwt-validation` action in
 * front of **every** rule of an Ingress (pkg/ingress/model_build_actions.go), so
 * the header rule and the token rule cannot share one Ingress, and Cognito's
 * `istio-ingress-api` is an implicit IngressGroup of its own, which no other
 * Ingress can join. JWT mode therefore puts its Ingresses in the explicit group
 * {@link jwtIngressGroup} (a new ALB), and the migration is:
 *
 * | run                     | istio-ingress-api (header, old ALB) | istio-ingress-jwt-header (order 10) | istio-ingress-jwt (order 20) |
 * |-------------------------|-------------------------------------|-------------------------------------|------------------------------|
 * | transition (`transition` set) | kept: serves until DNS moves  | apply: header rule, first           | apply: JWT rule              |
 * | final (`transition` removed)  | detach (ours only)            | detach                              | none                         |
 *
 * The transition run points DNS at the new ALB, which accepts both a header
 * token (first rule) and a valid JWT (second rule); the old ALB still accepts
 * header tokens for clients that resolved the old name. The final run, once every
 * client sends a token (and at least a DNS TTL later), removes the header rule and the old ALB by
 * detaching their Ingresses ({@link planDetach}: the workflow deletes nothing).
 *
 * 5. Kubeflow 1.9+ only (oauth2-proxy present, or `istioRequestAuthentication: apply`);
 *    `verify` only checks that a RequestAuthentication in istio-system names the issuer.
 *
 * Every "apply (force)" above first asks who else owns the fields it changes
 * ({@link fieldClaims}, over the `managedFields` read): a manager that would set
 * them back (Argo CD, Flux, `kubectl apply`, client- or server-side) makes it
 * "refuse; adopt → apply (force)"⁵, naming the manager and the fields.
 *
 * 1. Knative's ConfigMap; without it KServe cannot work and we have no RBAC to create it.
 * 2. JSON Patch of our keys only, each guarded by a `test` op so a concurrent edit fails the patch instead of being clobbered.
 * 3. Someone followed the guide by hand; the same spec is fine as it is.
 * 4. Kubeflow's Ingress: we take over only `certificate-arn` and `listen-ports`, keeping any
 *    certificate that is not ours in front (the first one is the listener's default certificate).
 * 5. A forced apply would win once and then lose at the other tool's next sync (Argo CD, Flux
 *    and `kubectl apply` re-assert what is in Git): the two would fight over the ALB's
 *    certificates. One-off edits (`kubectl edit`/`annotate`, `kubectl create`) are taken over,
 *    and the action's reason names them; with `adopt` the reason names what was taken.
 *
 * Which of our certificates the Ingress lists is {@link planListenerCertificates}: this run's
 * plus those of every other namespace still provisioned and active, computed when the step
 * applies. Every Ingress write carries a precondition (the resourceVersion read, or "absent"),
 * and our own Ingress names its class in `spec.ingressClassName` (IngressClass `alb`).
 *
 * Every function here is pure: the ConfigureCluster step (shared/steps/configureCluster.ts)
 * reads the objects and applies the plan through the KubePort.
 */
import { InvalidRequestError, ObjectOwnedByAnotherError, PrerequisiteMissingError } from '../errors';
import { FIELD_MANAGER, isOwnedObject, ownedLabels, TAG_DOMAIN, TAG_SCOPE } from '../ownership';
import { describeClaims, describeEdits, fieldClaims } from './fieldOwnership';
import type { ApplyPrecondition, CertificateDetail, JsonPatchOp, KubeObject, ObjectRef } from '../ports';
import { ALB_MAX_CERTIFICATES, namespaceWildcard, type JwtAuth, type ProvisionRequest } from '../request';
import { SHARD_LABEL, shardIngressName } from './shards';
import { checkJwtListeners, jwksEndpointOf, jwtValidationAnnotation } from './jwt';

// ------------------------------------------------------------------ names and constants

export const KNATIVE_NAMESPACE = 'knative-serving';
export const CONFIG_DOMAIN = 'config-domain';
/** Keys of Knative's stock config-domain that the guide says to remove. */
export const CONFIG_DOMAIN_PLACEHOLDER_KEYS = ['_example', 'example.com'] as const;
export const ISTIO_NAMESPACE = 'istio-system';
export const INGRESS_API_VERSION = 'networking.k8s.io/v1';
export const AUTHZ_API_VERSION = 'security.istio.io/v1beta1';
/** Cognito: the header-guarded Ingress the api overlay creates (its own ALB). */
export const COGNITO_INGRESS = 'istio-ingress-api';
/** Dex: Kubeflow's own Ingress, which the https overlay updates. */
export const DEX_INGRESS = 'istio-ingress';
export const AUTHORIZATION_POLICY_NAMES = ['allow-predictor', 'allow-transformer'] as const;
/** JWT: our Ingress whose rule verifies tokens (explicit IngressGroup {@link jwtIngressGroup}). */
export const JWT_INGRESS = 'istio-ingress-jwt';
/** JWT migration: the header rule on the JWT mode's ALB, evaluated before the token rule. */
export const JWT_HEADER_INGRESS = 'istio-ingress-jwt-header';
/** `group.order` of the header rule and of the token rule (lower is evaluated first). */
export const JWT_HEADER_GROUP_ORDER = '10';
export const JWT_GROUP_ORDER = '20';
export const REQUEST_AUTHENTICATION_API_VERSION = 'security.istio.io/v1beta1';
/** Our Istio RequestAuthentication for the issuer (Kubeflow 1.9+). */
export const REQUEST_AUTHENTICATION_NAME = 'kserve-edge-jwt';
/** Kubeflow 1.9+ installs oauth2-proxy in this namespace (kubeflow/manifests `common/oauth2-proxy`). */
export const OAUTH2_PROXY_NAMESPACE = 'oauth2-proxy';
/** The ingress gateway's pods: what Kubeflow's own RequestAuthentications select. */
export const INGRESS_GATEWAY_SELECTOR = { app: 'istio-ingressgateway' } as const;
/** The label kustomize's `commonLabels` puts on the overlay's objects. */
export const KUSTOMIZE_COMPONENT_LABEL = { 'kustomize.component': 'istio-ingress' } as const;

const ALB = 'alb.ingress.kubernetes.io';
/**
 * The deprecated class annotation. We write `spec.ingressClassName` instead
 * (a controller run with `--disable-ingress-class-annotation` refuses the
 * annotation through its webhook), and keep the annotation only on an
 * Ingress that already carries it.
 */
export const ANNOTATION_INGRESS_CLASS = 'kubernetes.io/ingress.class';
/** The IngressClass our Ingresses name: the AWS Load Balancer Controller's. */
export const INGRESS_CLASS_NAME = 'alb';
/** `spec.controller` of the AWS Load Balancer Controller's IngressClass. */
export const ALB_INGRESS_CONTROLLER = 'ingress.k8s.aws/alb';
/** Reference to the IngressClass `alb` (cluster-scoped). */
export const INGRESS_CLASS_REF: ObjectRef = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', name: INGRESS_CLASS_NAME };
export const ANNOTATION_CERTIFICATE_ARN = `${ALB}/certificate-arn`;
export const ANNOTATION_LISTEN_PORTS = `${ALB}/listen-ports`;
/** The conditions annotation is named after the backend service it guards. */
export const ANNOTATION_CONDITIONS = `${ALB}/conditions.istio-ingressgateway`;
export const ANNOTATION_ACTIONS = `${ALB}/actions.istio-ingressgateway`;
export const ANNOTATION_JWT_VALIDATION = `${ALB}/jwt-validation`;
export const ANNOTATION_GROUP_NAME = `${ALB}/group.name`;
export const ANNOTATION_GROUP_ORDER = `${ALB}/group.order`;
const LISTEN_HTTPS = '[{"HTTPS":443}]';
/** Verbatim from overlays/api/ingress.yaml. */
const ACTIONS_VALUE =
  '{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"istio-ingressgateway","ServicePort":"80","Weight":100}]}}';
/** What {@link redactClusterPlan} puts in place of each header value. */
export const REDACTED_HEADER_VALUE = '***';

/** The KServe paths the sidecar must allow (issue #82 comment, with the v2 protocol). */
export const AUTHORIZATION_POLICY_PATHS = ['/metrics', '/healthz', '/ready', '/wait-for-drain', '/v1/models/*', '/v2/models/*'];

const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

// ------------------------------------------------------------------ desired state

/** The config-domain change: one key set, the placeholders removed, nothing else touched. */
export interface DesiredConfigDomain {
  ref: ObjectRef;
  domain: string;
  removeKeys: string[];
}

/** Everything the cluster should hold for one request. */
export interface DesiredClusterState {
  configDomain: DesiredConfigDomain;
  authorizationPolicies: KubeObject[];
  /** The whole Ingress as the overlay renders it, plus our labels. */
  ingress: KubeObject;
  /**
   * `owned`: an Ingress we create (Cognito's `istio-ingress-api`).
   * `shared`: Kubeflow's `istio-ingress` (Dex), of which we take only two annotations.
   */
  ingressMode: 'owned' | 'shared';
  /** The ALB certificates this request wants, in order. */
  certificateArns: string[];
  /** JWT mode only: the migration's other Ingresses and the Istio RequestAuthentication. */
  jwt?: DesiredJwtState;
}

/** JWT mode's objects besides its Ingress. */
export interface DesiredJwtState {
  issuer: string;
  jwksEndpoint: string;
  /** Transition: the header-rule Ingress to apply; after it: `undefined` (ours is deleted). */
  headerIngress?: KubeObject;
  headerIngressRef: ObjectRef;
  /** Cognito's header Ingress (its own ALB): kept during the transition, deleted (when ours) after it. */
  retiredIngressRef: ObjectRef;
  transition: boolean;
  requestAuthenticationMode: JwtAuth['istioRequestAuthentication'];
  requestAuthentication: KubeObject;
}

/** `kustomize` `$(httpHeaderName)`/`$(httpHeaderValues)` substitution of overlays/api, byte for byte. */
export function conditionsAnnotation(headerName: string, headerValues: readonly string[]): string {
  // The template quotes the name itself and pastes the values as a raw JSON array.
  // JSON.stringify of a header-name token is the name in quotes, so this is the template's output.
  return `[{"Field":"http-header","HttpHeaderConfig":{"HttpHeaderName": ${JSON.stringify(headerName)}, "Values":${JSON.stringify(headerValues)}}}]`;
}

/**
 * Base annotations of `awsconfigs/common/istio-ingress/base` (v1.7+), with the
 * https listener, without the deprecated class annotation (the class is
 * `spec.ingressClassName`, see {@link ANNOTATION_INGRESS_CLASS}).
 */
function baseAnnotations(scheme: string, certificateArns: readonly string[]): Record<string, string> {
  return {
    [`${ALB}/load-balancer-attributes`]: 'routing.http.drop_invalid_header_fields.enabled=true',
    [`${ALB}/scheme`]: scheme,
    [ANNOTATION_LISTEN_PORTS]: LISTEN_HTTPS,
    [`${ALB}/target-type`]: 'ip',
    [ANNOTATION_CERTIFICATE_ARN]: certificateArns.join(','),
  };
}

/**
 * The annotations of the rendered `overlays/api` Ingress (awslabs/kubeflow-manifests `awsconfigs/common/istio-ingress/overlays/api`, as `kustomize build` renders it), exactly.
 *
 * @example
 *   cognitoIngressAnnotations({ scheme: 'internet-facing', certificateArns: [arn], headerName: 'x-api-key', headerValues: ['token1'] })
 */
export function cognitoIngressAnnotations(input: {
  scheme: string;
  certificateArns: readonly string[];
  headerName: string;
  headerValues: readonly string[];
}): Record<string, string> {
  return {
    ...baseAnnotations(input.scheme, input.certificateArns),
    [ANNOTATION_CONDITIONS]: conditionsAnnotation(input.headerName, input.headerValues),
    [ANNOTATION_ACTIONS]: ACTIONS_VALUE,
  };
}

/** The explicit IngressGroup of JWT mode's Ingresses: one ALB for the header rule and the token rule. */
export function jwtIngressGroup(ownerId: string): string {
  // ownerId is 1-40 of [a-z0-9-], so this is a valid group name (≤ 63, lowercase, '-' or '.').
  return `kserve-edge.${ownerId}`;
}

/**
 * JWT mode's Ingress annotations: the base ones, the group (name and order)
 * and `jwt-validation` as the controller documents it.
 *
 * @throws InvalidRequestError when a listener would not be HTTPS (JWT verification runs on HTTPS listeners only).
 */
export function jwtIngressAnnotations(input: {
  scheme: string;
  certificateArns: readonly string[];
  ownerId: string;
  auth: Pick<JwtAuth, 'issuer' | 'jwksEndpoint' | 'claims'>;
}): Record<string, string> {
  const base = baseAnnotations(input.scheme, input.certificateArns);
  checkJwtListeners(base[ANNOTATION_LISTEN_PORTS] ?? '');
  return {
    ...base,
    [ANNOTATION_GROUP_NAME]: jwtIngressGroup(input.ownerId),
    [ANNOTATION_GROUP_ORDER]: JWT_GROUP_ORDER,
    [ANNOTATION_JWT_VALIDATION]: jwtValidationAnnotation({
      issuer: input.auth.issuer,
      jwksEndpoint: jwksEndpointOf(input.auth),
      claims: input.auth.claims,
    }),
  };
}

/**
 * The migration's header Ingress: the overlays/api rule (same conditions and
 * action as Cognito's), in JWT mode's group, evaluated before the token rule.
 * Same base annotations and certificates, so the group's settings never conflict.
 */
export function jwtHeaderIngressAnnotations(input: {
  scheme: string;
  certificateArns: readonly string[];
  ownerId: string;
  headerName: string;
  headerValues: readonly string[];
}): Record<string, string> {
  return {
    ...cognitoIngressAnnotations(input),
    [ANNOTATION_GROUP_NAME]: jwtIngressGroup(input.ownerId),
    [ANNOTATION_GROUP_ORDER]: JWT_HEADER_GROUP_ORDER,
  };
}

/**
 * Istio RequestAuthentication for the issuer on the ingress gateway: with
 * oauth2-proxy (Kubeflow 1.9+) a request carrying `Authorization: Bearer` is
 * not sent to oauth2-proxy, and Istio refuses a token from an issuer no
 * RequestAuthentication names. `forwardOriginalToken` keeps the header for
 * whatever checks it behind the gateway.
 */
export function requestAuthentication(input: { issuer: string; jwksUri: string; ownerId: string }): KubeObject {
  return {
    apiVersion: REQUEST_AUTHENTICATION_API_VERSION,
    kind: 'RequestAuthentication',
    metadata: { name: REQUEST_AUTHENTICATION_NAME, namespace: ISTIO_NAMESPACE, labels: ownedLabels(input.ownerId) },
    spec: {
      selector: { matchLabels: { ...INGRESS_GATEWAY_SELECTOR } },
      jwtRules: [{ issuer: input.issuer, jwksUri: input.jwksUri, forwardOriginalToken: true }],
    },
  };
}

/** Reference to our RequestAuthentication. */
export const REQUEST_AUTHENTICATION_REF: ObjectRef = {
  apiVersion: REQUEST_AUTHENTICATION_API_VERSION,
  kind: 'RequestAuthentication',
  namespace: ISTIO_NAMESPACE,
  name: REQUEST_AUTHENTICATION_NAME,
};

/** Reference to the Namespace whose presence says "Kubeflow 1.9+ with oauth2-proxy". */
export const OAUTH2_PROXY_NAMESPACE_REF: ObjectRef = { apiVersion: 'v1', kind: 'Namespace', name: OAUTH2_PROXY_NAMESPACE };

/** An Ingress in istio-system by name. */
export function ingressRef(name: string): ObjectRef {
  return { apiVersion: INGRESS_API_VERSION, kind: 'Ingress', namespace: ISTIO_NAMESPACE, name };
}

/** The annotations of the rendered `overlays/https` Ingress: base + certificate-arn + HTTPS 443. */
export function dexIngressAnnotations(input: { scheme: string; certificateArns: readonly string[] }): Record<string, string> {
  return baseAnnotations(input.scheme, input.certificateArns);
}

/** The base Ingress spec: the `alb` class, every path to istio-ingressgateway:80. */
function ingressSpec(): Record<string, unknown> {
  return {
    ingressClassName: INGRESS_CLASS_NAME,
    rules: [
      {
        http: {
          paths: [
            {
              path: '/*',
              pathType: 'ImplementationSpecific',
              backend: { service: { name: 'istio-ingressgateway', port: { number: 80 } } },
            },
          ],
        },
      },
    ],
  };
}

function authorizationPolicy(name: string, component: string, ownerId: string): KubeObject {
  return {
    apiVersion: AUTHZ_API_VERSION,
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace: ISTIO_NAMESPACE, labels: ownedLabels(ownerId) },
    spec: {
      selector: { matchLabels: { component } },
      action: 'ALLOW',
      rules: [{ to: [{ operation: { paths: [...AUTHORIZATION_POLICY_PATHS] } }] }],
    },
  };
}

/** The name of the deployment's Ingress of today (shard 0): `istio-ingress-api` (Cognito) or Kubeflow's `istio-ingress` (Dex). */
export function baseIngressName(request: Pick<ProvisionRequest, 'auth'>): string {
  return request.auth.provider === 'cognito' ? COGNITO_INGRESS : request.auth.provider === 'jwt' ? JWT_INGRESS : DEX_INGRESS;
}

/** The Ingress that carries ALB shard `shard` (default 0: the one ALB of a deployment that needs no more). */
export function ingressRefFor(request: Pick<ProvisionRequest, 'auth'>, shard = 0): ObjectRef {
  return {
    apiVersion: INGRESS_API_VERSION,
    kind: 'Ingress',
    namespace: ISTIO_NAMESPACE,
    name: shardIngressName(baseIngressName(request), shard),
  };
}

/** Reference to Knative's config-domain ConfigMap. */
export const CONFIG_DOMAIN_REF: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: KNATIVE_NAMESPACE, name: CONFIG_DOMAIN };

/** References to the two AuthorizationPolicies. */
export function authorizationPolicyRef(name: string): ObjectRef {
  return { apiVersion: AUTHZ_API_VERSION, kind: 'AuthorizationPolicy', namespace: ISTIO_NAMESPACE, name };
}

/**
 * What the cluster should hold. Pure.
 *
 * @param input.headerValues the Cognito tokens, or JWT's transition tokens (already validated); ignored for Dex.
 * @throws InvalidRequestError when the certificate list is empty, too long or not ACM ARNs.
 */
export function desiredClusterState(input: {
  request: ProvisionRequest;
  certificateArns: readonly string[];
  headerValues?: readonly string[];
  /** The ALB shard this Ingress is (shared/plan/shards.ts); 0 (default) is the deployment's Ingress of today. */
  shard?: number;
  /** Certificates one listener takes, the default included (the account's quota + 1); default {@link ALB_MAX_CERTIFICATES}. */
  maxCertificates?: number;
}): DesiredClusterState {
  const { request } = input;
  const shard = input.shard ?? 0;
  const maxCertificates = input.maxCertificates ?? ALB_MAX_CERTIFICATES;
  const certificateArns = [...new Set(input.certificateArns)];
  if (certificateArns.length === 0)
    throw new InvalidRequestError('no certificate ARN to put on the load balancer', { path: 'certificateArns' });
  if (certificateArns.length > maxCertificates) {
    throw new InvalidRequestError(
      `${certificateArns.length} certificates; an ALB listener takes at most ${maxCertificates} (quota certificates-per-application-load-balancer + the default)`,
      { path: 'certificateArns' },
    );
  }
  const badArn = certificateArns.find((arn) => !ACM_ARN.test(arn));
  if (badArn !== undefined) throw new InvalidRequestError(`"${badArn}" is not an ACM certificate ARN`, { path: 'certificateArns' });

  const ref = ingressRefFor(request, shard);
  const scheme = request.ingress.scheme;
  let annotations: Record<string, string>;
  let jwt: DesiredJwtState | undefined;
  const auth = request.auth;
  if (auth.provider === 'cognito') {
    const headerValues = input.headerValues ?? [];
    if (headerValues.length === 0)
      throw new InvalidRequestError('Cognito needs at least one header value', { path: 'auth.headerValuesSecretId' });
    annotations = cognitoIngressAnnotations({ scheme, certificateArns, headerName: auth.headerName, headerValues });
  } else if (auth.provider === 'jwt') {
    annotations = jwtIngressAnnotations({ scheme, certificateArns, ownerId: request.ownerId, auth });
    const headerIngressRef = ingressRef(JWT_HEADER_INGRESS);
    jwt = {
      issuer: auth.issuer,
      jwksEndpoint: jwksEndpointOf(auth),
      headerIngressRef,
      retiredIngressRef: ingressRef(COGNITO_INGRESS),
      transition: auth.transition !== undefined,
      requestAuthenticationMode: auth.istioRequestAuthentication,
      requestAuthentication: requestAuthentication({ issuer: auth.issuer, jwksUri: jwksEndpointOf(auth), ownerId: request.ownerId }),
    };
    if (auth.transition) {
      const headerValues = input.headerValues ?? [];
      if (headerValues.length === 0)
        throw new InvalidRequestError('the transition needs at least one header value', { path: 'auth.transition.headerValuesSecretId' });
      jwt.headerIngress = {
        apiVersion: INGRESS_API_VERSION,
        kind: 'Ingress',
        metadata: {
          name: JWT_HEADER_INGRESS,
          namespace: ISTIO_NAMESPACE,
          labels: { ...KUSTOMIZE_COMPONENT_LABEL, ...ownedLabels(request.ownerId) },
          annotations: jwtHeaderIngressAnnotations({
            scheme,
            certificateArns,
            ownerId: request.ownerId,
            headerName: auth.transition.headerName,
            headerValues,
          }),
        },
        spec: ingressSpec(),
      };
    }
  } else {
    annotations = dexIngressAnnotations({ scheme, certificateArns });
  }

  return {
    configDomain: { ref: CONFIG_DOMAIN_REF, domain: request.domain, removeKeys: [...CONFIG_DOMAIN_PLACEHOLDER_KEYS] },
    authorizationPolicies: [
      authorizationPolicy('allow-predictor', 'predictor', request.ownerId),
      authorizationPolicy('allow-transformer', 'transformer', request.ownerId),
    ],
    ingress: {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: {
        name: ref.name,
        namespace: ref.namespace,
        labels: { ...KUSTOMIZE_COMPONENT_LABEL, ...ownedLabels(request.ownerId), ...(shard > 0 ? { [SHARD_LABEL]: String(shard) } : {}) },
        annotations,
      },
      spec: ingressSpec(),
    },
    // Dex: shard 0 is Kubeflow's own Ingress (shared); further shards, Cognito's and JWT's are Ingresses of ours.
    ingressMode: request.auth.provider === 'dex' && shard === 0 ? 'shared' : 'owned',
    certificateArns,
    ...(jwt ? { jwt } : {}),
  };
}

// ------------------------------------------------------------------ current state

/** What the cluster holds now; `undefined` = absent. */
export interface ClusterState {
  configDomain: KubeObject | undefined;
  /** By policy name. */
  authorizationPolicies: Record<string, KubeObject | undefined>;
  ingress: KubeObject | undefined;
  /** The IngressClass `alb` ({@link INGRESS_CLASS_REF}). */
  ingressClass: KubeObject | undefined;
  /** JWT mode only: what the migration and the Kubeflow check compare. */
  jwt?: JwtClusterState;
}

/** What JWT mode reads besides its Ingress. */
export interface JwtClusterState {
  headerIngress: KubeObject | undefined;
  retiredIngress: KubeObject | undefined;
  /** The Namespace `oauth2-proxy` exists (Kubeflow 1.9+); read in `auto` mode only. */
  oauth2Proxy: boolean;
  /** Ours, by name (`apply`, or `auto` with oauth2-proxy). */
  requestAuthentication: KubeObject | undefined;
  /** Every RequestAuthentication in istio-system (`verify` only). */
  requestAuthentications: KubeObject[];
}

// ------------------------------------------------------------------ listener certificates

/** One certificate of the listener list, and why it is added, kept or removed. */
export interface ListenerCertificateChange {
  arn: string;
  action: 'add' | 'keep' | 'remove';
  /** `ours` (owner tag) or `foreign`. */
  owner: 'ours' | 'foreign';
  /** The namespaces it serves (`*.<ns>.<domain>` among its names), for ours. */
  namespaces: string[];
  reason: string;
  /** The ALB shard whose listener it is on, when a deployment has several (shared/plan/shards.ts). */
  shard?: number;
}

/** What {@link planListenerCertificates} compares. */
export interface ListenerCertificatesInput {
  domain: string;
  /** `owned`: our own Ingress (every ARN on it is ours to set); `shared`: Kubeflow's, whose foreign ARNs stay first. */
  ingressMode: 'owned' | 'shared';
  /** This run's namespaces. */
  runNamespaces: readonly string[];
  /** This run's certificates, in listener order (the first is the default certificate). */
  runArns: readonly string[];
  /** Our certificates (owner tag) for the domain, as read now. */
  owned: readonly CertificateDetail[];
  /** ARNs known to be ours besides `owned` (e.g. requested moments ago). */
  alsoOurs?: readonly string[];
  /** The Ingress's certificate-arn list now (empty when there is no Ingress). */
  current: readonly string[];
  /** Namespaces that exist and are not terminating. */
  activeNamespaces: ReadonlySet<string>;
  /** Namespaces whose ownership TXT names our owner. */
  provisionedNamespaces: ReadonlySet<string>;
  /**
   * With ALB shards: the namespaces this listener serves besides the run's
   * (shared/plan/shards.ts assigns them); others' certificates are neither
   * added nor kept here. Without it: every namespace (one ALB).
   */
  servedNamespaces?: ReadonlySet<string>;
  /** Certificates one listener takes, the default included; default {@link ALB_MAX_CERTIFICATES}. */
  maxCertificates?: number;
}

/** What the listener should carry: our ARNs in order, and every change with its reason. */
export interface ListenerCertificatesPlan {
  /** Ours, in listener order: this run's, then those kept for other namespaces. */
  arns: string[];
  /** ARNs on the Ingress that are not ours (kept first on the shared Ingress). */
  foreign: string[];
  /** One entry per certificate on the listener now or after the write. */
  changes: ListenerCertificateChange[];
}

/** The namespaces a certificate serves: `<ns>` for every `*.<ns>.<domain>` among its names. */
export function certificateNamespaces(cert: Pick<CertificateDetail, 'names'>, domain: string): string[] {
  const suffix = `.${domain}`;
  const out = new Set<string>();
  for (const name of cert.names) {
    if (!name.startsWith('*.') || !name.endsWith(suffix)) continue;
    const label = name.slice(2, name.length - suffix.length);
    if (label !== '' && !label.includes('.')) out.add(label);
  }
  return [...out].sort();
}

/**
 * The certificate list of the ALB listener, computed when ConfigureCluster
 * applies (not when the run started): this run's certificates, then, for
 * every other namespace that still has an active Namespace and is
 * provisioned (its ownership TXT is ours) or already served (one of our
 * certificates for it is on the listener), one ISSUED certificate of ours for
 * it (the one on the listener if any, else the newest). Without that, a run
 * for `[staging]` would take prod's certificate off the listener, and of two
 * overlapping runs the later would drop the earlier's namespace. Pure.
 *
 * The certificate of a namespace that is gone or terminating is left where it
 * is and never put back: taking it off is deprovisioning's job. Ours that no
 * namespace needs any more (replaced by a newer one) go. On the shared Ingress every ARN that is not ours stays,
 * first, in its order.
 *
 * @throws InvalidRequestError when the listener would hold more than
 *   {@link ALB_MAX_CERTIFICATES} certificates, foreign ones included.
 */
export function planListenerCertificates(input: ListenerCertificatesInput): ListenerCertificatesPlan {
  const { domain } = input;
  const runArns = [...new Set(input.runArns)];
  const runNamespaces = new Set(input.runNamespaces);
  const current = [...new Set(input.current)];
  const onListener = new Set(current);
  const details = new Map(input.owned.map((c) => [c.arn, c]));
  const ours = new Set([...details.keys(), ...(input.alsoOurs ?? []), ...runArns]);
  const served = (arn: string): string[] => {
    const c = details.get(arn);
    return c ? certificateNamespaces(c, domain) : [];
  };

  const arns = [...runArns];
  const reasons = new Map<string, string>();
  for (const arn of runArns) {
    const ns = served(arn);
    reasons.set(
      arn,
      `this run's certificate${ns.length > 0 ? ` for ${ns.join(', ')}` : ''}${arn === runArns[0] ? ' (listener default)' : ''}`,
    );
  }
  const covered = new Set(arns.flatMap(served));
  const why = new Map<string, string>(); // namespace → why it is not kept
  const others = [...new Set(input.owned.filter((c) => c.tags[TAG_DOMAIN] === domain).flatMap((c) => certificateNamespaces(c, domain)))]
    .filter((ns) => !runNamespaces.has(ns))
    .sort();
  for (const ns of others) {
    if (covered.has(ns)) continue;
    // Another shard's namespace: its certificate belongs on that shard's listener (unless it is gone and still listed here).
    if (input.servedNamespaces && !input.servedNamespaces.has(ns) && input.activeNamespaces.has(ns)) {
      why.set(ns, `namespace ${ns} is served by another ALB shard`);
      continue;
    }
    const wildcard = namespaceWildcard({ domain }, ns);
    const issued = input.owned
      .filter((c) => c.tags[TAG_DOMAIN] === domain && c.status === 'ISSUED' && c.names.includes(wildcard))
      .sort(
        (a, b) => Number(onListener.has(b.arn)) - Number(onListener.has(a.arn)) || (b.createdAt ?? '').localeCompare(a.createdAt ?? ''),
      );
    const provisioned = input.provisionedNamespaces.has(ns);
    const listed = issued.some((c) => onListener.has(c.arn));
    if (!input.activeNamespaces.has(ns)) {
      // Taking a namespace's certificate off is deprovisioning's job (it does so with a guarded
      // patch, then waits for ACM to let go of it): leave what is there, never put it back.
      for (const c of input.owned.filter((x) => x.tags[TAG_DOMAIN] === domain && x.names.includes(wildcard) && onListener.has(x.arn))) {
        if (arns.includes(c.arn)) continue;
        arns.push(c.arn);
        reasons.set(c.arn, `namespace ${ns} is gone or terminating: left for deprovisioning to take off`);
      }
      why.set(ns, `namespace ${ns} is gone or terminating (deprovisioning takes its certificate off)`);
      continue;
    }
    if (!provisioned && !listed) {
      why.set(ns, `namespace ${ns} is not provisioned (no ownership record of ours) and not on the listener`);
      continue;
    }
    const best = issued[0];
    if (!best) {
      why.set(ns, `no issued certificate of ours for ${wildcard}`);
      continue;
    }
    arns.push(best.arn);
    for (const n of served(best.arn)) covered.add(n);
    reasons.set(
      best.arn,
      `namespace ${served(best.arn).join(', ')} is still ${provisioned ? 'provisioned (ownership record ours)' : 'served (its certificate is on the listener)'} and active`,
    );
  }

  const foreign = current.filter((arn) => !ours.has(arn));
  const changes: ListenerCertificateChange[] = [];
  const shared = input.ingressMode === 'shared';
  for (const arn of foreign) {
    changes.push({
      arn,
      action: shared ? 'keep' : 'remove',
      owner: 'foreign',
      namespaces: [],
      reason: shared ? 'not ours (Kubeflow or another tool put it there); kept, in front' : 'not ours, on the Ingress kserve-edge owns',
    });
  }
  const kept = new Set(arns);
  for (const arn of arns) {
    changes.push({
      arn,
      action: onListener.has(arn) ? 'keep' : 'add',
      owner: 'ours',
      namespaces: served(arn),
      reason: reasons.get(arn) ?? '',
    });
  }
  for (const arn of current) {
    if (!ours.has(arn) || kept.has(arn)) continue;
    const ns = served(arn);
    const replaced = ns.filter((n) => covered.has(n));
    const gone = ns.map((n) => why.get(n)).filter((r): r is string => r !== undefined);
    const scope = details.get(arn)?.tags[TAG_SCOPE];
    const reason =
      gone.length > 0
        ? gone.join('; ')
        : replaced.length > 0
          ? `replaced: ${replaced.join(', ')} served by ${runNamespaces.has(replaced[0] ?? '') ? "this run's" : 'another'} certificate`
          : scope === 'base' || scope === 'single'
            ? `our ${scope} certificate, replaced by this run's`
            : 'ours and needed by no namespace any more';
    changes.push({ arn, action: 'remove', owner: 'ours', namespaces: ns, reason });
  }

  const total = (shared ? foreign.length : 0) + arns.length;
  const max = input.maxCertificates ?? ALB_MAX_CERTIFICATES;
  if (total > max) {
    throw new InvalidRequestError(
      `the listener would hold ${total} certificates (${shared ? foreign.length : 0} not ours, ${arns.length} of kserve-edge); ` +
        `an ALB listener takes at most ${max} (the default + ${max - 1} SNI, quota certificates-per-application-load-balancer): remove certificates or namespaces`,
      { path: 'namespaces' },
    );
  }
  return { arns, foreign, changes };
}

// ------------------------------------------------------------------ plan

/** One step of a {@link ClusterPlan}. JSON-serialisable. */
export interface ClusterAction {
  action: 'apply' | 'patch' | 'none';
  ref: ObjectRef;
  /** Human-readable why, e.g. "create", "adopt (adopt=true)", "up to date". */
  reason: string;
  /**
   * For `apply`: the server-side apply configuration (only the fields we manage).
   * For Cognito's Ingress it holds the header values: pass the plan through
   * {@link redactClusterPlan} before logging or returning it.
   */
  object?: KubeObject;
  /** For `apply`: take over fields another field manager holds. */
  force?: boolean;
  /**
   * For `apply` of the Ingress: the write fails with PatchConflictError when
   * the object changed (or appeared) since it was read, so a list computed from
   * a stale read never overwrites a newer one (the step reads again and re-plans).
   */
  precondition?: ApplyPrecondition;
  /** For `patch`: RFC 6902 operations. */
  ops?: JsonPatchOp[];
}

/** The ordered actions that bring the cluster to the desired state: config-domain, policies, then the Ingress. */
export type ClusterPlan = ClusterAction[];

/** Options of {@link planCluster}. */
export interface PlanClusterOptions {
  ownerId: string;
  /** Take over objects that exist without our labels (the request's `adopt`). */
  adopt: boolean;
  /**
   * Certificates that are ours (e.g. tagged with our owner id), besides the desired ones.
   * On Dex's shared Ingress they are dropped when no longer desired; any other ARN is kept.
   */
  ownedArns?: readonly string[];
  /** Certificates one listener takes, the default included; default {@link ALB_MAX_CERTIFICATES}. */
  maxCertificates?: number;
  /**
   * Whether KServe's Knative mode is in use (shared/plan/hostnameConfig.ts). When it is not (a
   * Standard-only cluster), Knative's config-domain is neither needed nor touched. Default true.
   */
  knative?: boolean;
}

/** `kind ns/name`, for messages. */
export function formatRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** JSON Pointer (RFC 6901) token escaping. */
function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** True when every field of `want` is in `have` with the same value (server defaults in `have` are ignored). */
export function containsSubset(have: unknown, want: unknown): boolean {
  if (want === null || typeof want !== 'object') return Object.is(have, want);
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => containsSubset(have[i], w));
  }
  if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
  return Object.entries(want as Record<string, unknown>).every(([k, w]) => containsSubset((have as Record<string, unknown>)[k], w));
}

/** Splits an ALB certificate-arn annotation into ARNs. */
export function splitArns(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * The certificate-arn value for Dex's shared Ingress: every ARN already there
 * that is not ours, in its order (the first is the listener's default
 * certificate, which must not change under other hosts), then ours.
 */
export function mergeCertificateArns(current: string | undefined, desired: readonly string[], ownedArns: readonly string[]): string {
  const ours = new Set([...desired, ...ownedArns]);
  const foreign = splitArns(current).filter((arn) => !ours.has(arn));
  return [...new Set([...foreign, ...desired])].join(',');
}

function planConfigDomain(current: KubeObject | undefined, desired: DesiredConfigDomain): ClusterAction {
  const ref = desired.ref;
  if (!current) {
    throw new PrerequisiteMissingError(`${formatRef(ref)} not found: is Knative Serving (KServe's serverless mode) installed?`, {
      missing: formatRef(ref),
    });
  }
  const data = (current as { data?: Record<string, string> | null }).data ?? undefined;
  const ops: JsonPatchOp[] = [];
  const changes: string[] = [];
  if (data === undefined) {
    ops.push({ op: 'add', path: '/data', value: { [desired.domain]: '' } });
    changes.push(`set ${desired.domain}`);
  } else {
    for (const key of desired.removeKeys) {
      if (key === desired.domain || !(key in data)) continue;
      const path = `/data/${pointerToken(key)}`;
      // `test` first: if someone changed the key since we read it, the whole patch fails and nothing is clobbered.
      ops.push({ op: 'test', path, value: data[key] }, { op: 'remove', path });
      changes.push(`remove ${key}`);
    }
    const path = `/data/${pointerToken(desired.domain)}`;
    if (!(desired.domain in data)) {
      ops.push({ op: 'add', path, value: '' });
      changes.push(`set ${desired.domain}`);
    } else if (data[desired.domain] !== '') {
      // A selector on our domain key would limit it to some routes; the guide sets it unconditionally.
      ops.push({ op: 'test', path, value: data[desired.domain] }, { op: 'replace', path, value: '' });
      changes.push(`set ${desired.domain}`);
    }
  }
  if (ops.length === 0) return { action: 'none', ref, reason: `up to date (${desired.domain} is the default domain)` };
  return { action: 'patch', ref, reason: `Knative default domain: ${changes.join(', ')}`, ops };
}

function refOf(obj: KubeObject): ObjectRef {
  return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

/** Plans an object that is wholly ours: create, keep, update, or refuse/adopt when foreign. */
function planOwnedObject(
  current: KubeObject | undefined,
  desired: KubeObject,
  options: PlanClusterOptions,
  foreignButEqualIsFine: boolean,
): ClusterAction {
  const ref = refOf(desired);
  if (!current) return { action: 'apply', ref, reason: 'create', object: desired, force: false };
  const equal =
    containsSubset(current.metadata.annotations ?? {}, desired.metadata.annotations ?? {}) &&
    containsSubset((current as Record<string, unknown>).spec, (desired as Record<string, unknown>).spec);
  const ownership = fieldClaims(current, desired, FIELD_MANAGER);
  if (isOwnedObject(current.metadata.labels, options.ownerId)) {
    const labelsOk = containsSubset(current.metadata.labels ?? {}, desired.metadata.labels ?? {});
    if (equal && labelsOk) return { action: 'none', ref, reason: 'up to date' };
    // Ours by label: re-assert our fields even if someone edited them once (force), as a controller would;
    // but not against a tool that keeps applying its own values (footnote 5).
    const why = forcedApplyReason('update (differs from desired)', ref, ownership, options);
    return { action: 'apply', ref, reason: why, object: desired, force: true };
  }
  if (foreignButEqualIsFine && equal) {
    return { action: 'none', ref, reason: 'exists with the desired spec (created by hand); left as is' };
  }
  if (options.adopt) {
    const taken = ownership.claims.length > 0 ? `; took ${describeClaims(ownership.claims)}` : '';
    return {
      action: 'apply',
      ref,
      reason: `adopt (adopt=true): take over an object we did not create${taken}`,
      object: desired,
      force: true,
    };
  }
  const managers = ownership.claims.length > 0 ? ` (${describeClaims(ownership.claims)})` : '';
  throw new ObjectOwnedByAnotherError(
    `${formatRef(ref)} exists and is not managed by kserve-edge (owner "${options.ownerId}")${managers}; remove it, or set "adopt": true to take it over`,
  );
}

/**
 * The reason of a forced apply, after the ownership check of footnote 5.
 *
 * @throws ObjectOwnedByAnotherError naming the managers and fields when another tool would set them back, unless `adopt`.
 */
function forcedApplyReason(reason: string, ref: ObjectRef, ownership: ReturnType<typeof fieldClaims>, options: PlanClusterOptions): string {
  let why = reason;
  if (ownership.claims.length > 0) {
    if (!options.adopt) {
      throw new ObjectOwnedByAnotherError(
        `${formatRef(ref)}: ${describeClaims(ownership.claims)}, and would set them back after kserve-edge changed them; ` +
          `hand the fields over to kserve-edge (README "Running beside Argo CD or Flux"), or set "adopt": true to take them`,
      );
    }
    why += `; adopt (adopt=true): took ${describeClaims(ownership.claims)}`;
  }
  if (ownership.edits.length > 0) why += `; takes over one-off edits by ${describeEdits(ownership.edits)}`;
  return why;
}

function planSharedIngress(current: KubeObject, desired: DesiredClusterState, options: PlanClusterOptions): ClusterAction {
  const ref = refOf(desired.ingress);
  const annotations = current.metadata.annotations ?? {};
  const certificateArn = mergeCertificateArns(annotations[ANNOTATION_CERTIFICATE_ARN], desired.certificateArns, options.ownedArns ?? []);
  const total = splitArns(certificateArn).length;
  const max = options.maxCertificates ?? ALB_MAX_CERTIFICATES;
  if (total > max) {
    // Count what the listener would really hold: Kubeflow's (or anyone's) certificates count against the quota too.
    throw new InvalidRequestError(
      `${formatRef(ref)} would hold ${total} certificates (${total - desired.certificateArns.length} not ours, ${desired.certificateArns.length} of kserve-edge); ` +
        `an ALB listener takes at most ${max} (the default + ${max - 1} SNI, quota certificates-per-application-load-balancer): remove certificates or namespaces`,
      { path: 'namespaces' },
    );
  }
  const want = { [ANNOTATION_CERTIFICATE_ARN]: certificateArn, [ANNOTATION_LISTEN_PORTS]: LISTEN_HTTPS };
  if (containsSubset(annotations, want))
    return { action: 'none', ref, reason: "up to date (Kubeflow's Ingress already carries our certificates)" };
  const kept = splitArns(certificateArn).length - desired.certificateArns.length;
  // Only the two annotations: server-side apply then manages just these fields.
  const object: KubeObject = {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, namespace: ref.namespace, annotations: want },
  };
  // Forcing takes them from whoever set them once; a tool that keeps applying them is refused first (footnote 5).
  const reason = forcedApplyReason(
    `Kubeflow's Ingress: set certificate-arn and listen-ports only${kept > 0 ? ` (keeping ${kept} certificate(s) that are not ours first)` : ''}`,
    ref,
    fieldClaims(current, object, FIELD_MANAGER),
    options,
  );
  return { action: 'apply', ref, reason, object, force: true, ...guardFor(current) };
}

/** The Ingress write's precondition: the version read, or "still absent". */
function guardFor(current: KubeObject | undefined): { precondition: ApplyPrecondition } {
  const version = current?.metadata.resourceVersion;
  return { precondition: current === undefined ? 'absent' : version ? { resourceVersion: version } : 'absent' };
}

/**
 * The Ingress as we write it, given the one there: an Ingress that already
 * names its class with the deprecated annotation keeps it (and gets no
 * `spec.ingressClassName`: the API server refuses both on one object);
 * anything else names the class in `spec.ingressClassName`.
 */
function withClassOf(current: KubeObject | undefined, desired: KubeObject): KubeObject {
  const legacy = current?.metadata.annotations?.[ANNOTATION_INGRESS_CLASS];
  const spec = (current as { spec?: { ingressClassName?: unknown } } | undefined)?.spec;
  if (legacy === undefined || spec?.ingressClassName !== undefined) return desired;
  const { ingressClassName: _omitted, ...rest } = (desired as unknown as { spec: Record<string, unknown> }).spec;
  return {
    ...desired,
    metadata: { ...desired.metadata, annotations: { [ANNOTATION_INGRESS_CLASS]: legacy, ...desired.metadata.annotations } },
    spec: rest,
  };
}

/** The IngressClass our Ingress names must exist and belong to the AWS Load Balancer Controller. */
function checkIngressClass(ingressClass: KubeObject | undefined): void {
  const controller = (ingressClass as { spec?: { controller?: unknown } } | undefined)?.spec?.controller;
  if (controller === ALB_INGRESS_CONTROLLER) return;
  const what = `IngressClass ${INGRESS_CLASS_NAME}`;
  throw new PrerequisiteMissingError(
    ingressClass === undefined
      ? `${what} not found: is the AWS Load Balancer Controller installed (its chart creates the class)?`
      : `${what} belongs to controller "${String(controller)}", not ${ALB_INGRESS_CONTROLLER}: the AWS Load Balancer Controller would ignore our Ingress`,
    { missing: `${what} (controller ${ALB_INGRESS_CONTROLLER})` },
  );
}

/**
 * Compares current and desired state and returns the actions. Pure.
 *
 * @throws ObjectOwnedByAnotherError for a foreign object we would have to change, or fields of one that another tool keeps applying (footnote 5), unless `adopt`.
 * @throws PrerequisiteMissingError when Knative's config-domain is missing, or the IngressClass `alb` when our Ingress names it.
 * @throws InvalidRequestError when the shared Ingress would hold more certificates than a listener takes.
 */
export function planCluster(current: ClusterState, desired: DesiredClusterState, options: PlanClusterOptions): ClusterPlan {
  const plan: ClusterPlan = options.knative === false ? [] : [planConfigDomain(current.configDomain, desired.configDomain)];
  for (const policy of desired.authorizationPolicies) {
    plan.push(planOwnedObject(current.authorizationPolicies[policy.metadata.name], policy, options, true));
  }
  // JWT: the RequestAuthentication and the header rule go first, so the token rule's ALB is never
  // built without them; the old header-token Ingress is retired last.
  const jwtSteps = desired.jwt ? planJwtCompanions(current, desired.jwt, options) : [];
  plan.push(...jwtSteps.slice(0, -1));
  plan.push(planIngress(current.ingress, current.ingressClass, desired, options));
  plan.push(...jwtSteps.slice(-1));
  return plan;
}

/** The issuers a RequestAuthentication's `jwtRules` accept. */
export function requestAuthenticationIssuers(obj: KubeObject): string[] {
  const rules = (obj as { spec?: { jwtRules?: Array<{ issuer?: unknown }> } }).spec?.jwtRules ?? [];
  return rules.map((r) => r.issuer).filter((i): i is string => typeof i === 'string');
}

function planRequestAuthentication(
  current: JwtClusterState | undefined,
  desired: DesiredJwtState,
  options: PlanClusterOptions,
): ClusterAction {
  const ref = REQUEST_AUTHENTICATION_REF;
  const mode = desired.requestAuthenticationMode;
  if (mode === 'off') return { action: 'none', ref, reason: 'istioRequestAuthentication: off (not checked)' };
  if (mode === 'verify') {
    const match = (current?.requestAuthentications ?? []).find((ra) => requestAuthenticationIssuers(ra).includes(desired.issuer));
    if (!match) {
      throw new PrerequisiteMissingError(
        `no RequestAuthentication in ${ISTIO_NAMESPACE} names issuer ${desired.issuer}: Istio would refuse the Bearer tokens the ALB accepts; create one, or set auth.istioRequestAuthentication to "apply"`,
        { missing: `RequestAuthentication for ${desired.issuer} in ${ISTIO_NAMESPACE}` },
      );
    }
    return { action: 'none', ref: refOf(match), reason: `verified: names issuer ${desired.issuer}` };
  }
  if (mode === 'auto' && !current?.oauth2Proxy) {
    return {
      action: 'none',
      ref,
      reason: `not needed: no ${OAUTH2_PROXY_NAMESPACE} namespace (not Kubeflow 1.9+ with oauth2-proxy); set istioRequestAuthentication "apply" to write it anyway`,
    };
  }
  const step = planOwnedObject(current?.requestAuthentication, desired.requestAuthentication, options, true);
  if (step.action === 'apply' && step.reason === 'create')
    step.reason = `create: Bearer requests skip oauth2-proxy and need Istio to accept issuer ${desired.issuer}`;
  return step;
}

/** True when the Ingress names no class: the load balancer controller no longer serves it. */
export function isDetachedIngress(ingress: KubeObject): boolean {
  const spec = (ingress as { spec?: { ingressClassName?: unknown } }).spec;
  return spec?.ingressClassName === undefined && ingress.metadata.annotations?.[ANNOTATION_INGRESS_CLASS] === undefined;
}

/**
 * Takes one of our Ingresses off its load balancer without deleting it (the
 * workflow holds no delete permission, deploy/rbac.yaml): a JSON Patch that
 * removes `spec.ingressClassName` and every `alb.ingress.kubernetes.io/*`
 * annotation (the header tokens of the conditions with them), guarded by a
 * `test` of the resourceVersion read. A JSON Patch, not a server-side apply
 * that leaves the fields out: an Ingress we created with a plain create (the
 * "absent" precondition) holds them under an Update entry, which an apply
 * does not take away. An Ingress without a class is no member of any
 * IngressGroup (controller `pkg/ingress/group_loader.go`: a member that leaves
 * is an "inactive member", removed from the ALB, and an implicit group that
 * empties deletes its ALB). It stays as an inert object that can be deleted by hand.
 */
function planDetach(current: KubeObject, ref: ObjectRef, ingressClass: KubeObject | undefined, reason: string): ClusterAction {
  if (isDetachedIngress(current))
    return { action: 'none', ref, reason: 'detached already (no class: no load balancer serves it); delete it by hand when you like' };
  const byHand = `kubectl delete ingress -n ${ref.namespace ?? ISTIO_NAMESPACE} ${ref.name}`;
  if (current.metadata.annotations?.[ANNOTATION_INGRESS_CLASS] !== undefined) {
    return {
      action: 'none',
      ref,
      reason: `${reason}: it names its class with the kubernetes.io/ingress.class annotation, which we do not take away; run ${byHand}`,
    };
  }
  if (ingressClass?.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true') {
    return {
      action: 'none',
      ref,
      reason: `${reason}: IngressClass ${INGRESS_CLASS_NAME} is the default class, so an Ingress without a class stays on it; run ${byHand}`,
    };
  }
  const ops: JsonPatchOp[] = [];
  const version = current.metadata.resourceVersion;
  if (version) ops.push({ op: 'test', path: '/metadata/resourceVersion', value: version });
  ops.push({ op: 'remove', path: '/spec/ingressClassName' });
  for (const key of Object.keys(current.metadata.annotations ?? {}).filter((k) => k.startsWith(`${ALB}/`))) {
    ops.push({ op: 'remove', path: `/metadata/annotations/${pointerToken(key)}` });
  }
  return {
    action: 'patch',
    ref,
    reason: `${reason} (detach: class and load balancer annotations removed; the object stays until deleted by hand)`,
    ops,
  };
}

/** JWT mode: RequestAuthentication, the migration's header Ingress, and (last) Cognito's old Ingress. */
function planJwtCompanions(current: ClusterState, desired: DesiredJwtState, options: PlanClusterOptions): ClusterPlan {
  const plan: ClusterPlan = [planRequestAuthentication(current.jwt, desired, options)];
  const header = current.jwt?.headerIngress;
  const retired = current.jwt?.retiredIngress;
  if (desired.headerIngress) {
    const step = planOwnedObject(header, desired.headerIngress, options, false);
    if (step.action === 'apply') {
      checkIngressClass(current.ingressClass);
      Object.assign(step, guardFor(header));
      step.reason = `transition: header tokens still accepted on the JWT load balancer (rule before the token rule); ${step.reason}`;
    }
    plan.push(step);
  } else if (header === undefined) {
    plan.push({ action: 'none', ref: desired.headerIngressRef, reason: 'absent (no transition)' });
  } else if (isOwnedObject(header.metadata.labels, options.ownerId) || options.adopt) {
    plan.push(
      planDetach(
        header,
        desired.headerIngressRef,
        current.ingressClass,
        'transition over: header rule removed, header tokens refused from now on',
      ),
    );
  } else {
    throw new ObjectOwnedByAnotherError(
      `${formatRef(desired.headerIngressRef)} exists in our IngressGroup and is not managed by kserve-edge: it would keep a rule on the JWT load balancer; remove it, or set "adopt": true`,
    );
  }
  if (retired === undefined) {
    plan.push({ action: 'none', ref: desired.retiredIngressRef, reason: 'absent (no header-token load balancer to retire)' });
  } else if (!isOwnedObject(retired.metadata.labels, options.ownerId)) {
    plan.push({ action: 'none', ref: desired.retiredIngressRef, reason: 'not ours: left as is' });
  } else if (desired.transition) {
    plan.push({
      action: 'none',
      ref: desired.retiredIngressRef,
      reason: isDetachedIngress(retired)
        ? 'detached already'
        : 'transition: kept, its load balancer serves header clients until DNS has moved to the JWT load balancer',
    });
  } else {
    plan.push(
      planDetach(
        retired,
        desired.retiredIngressRef,
        current.ingressClass,
        'transition over: the header-token load balancer is retired (no longer in DNS)',
      ),
    );
  }
  return plan;
}

/**
 * The Ingress step of {@link planCluster} alone: what an ALB shard other than
 * shard 0 needs (config-domain and the policies are the deployment's, planned once).
 */
export function planIngress(
  ingress: KubeObject | undefined,
  ingressClass: KubeObject | undefined,
  desired: DesiredClusterState,
  options: PlanClusterOptions,
): ClusterAction {
  if (desired.ingressMode === 'shared' && ingress && !isOwnedObject(ingress.metadata.labels, options.ownerId)) {
    return planSharedIngress(ingress, desired, options);
  }
  const object = withClassOf(ingress, desired.ingress);
  const step = planOwnedObject(ingress, object, options, false);
  if (step.action === 'apply') {
    if ((object as { spec?: { ingressClassName?: unknown } }).spec?.ingressClassName !== undefined) checkIngressClass(ingressClass);
    Object.assign(step, guardFor(ingress));
  }
  return step;
}

/** True when the plan writes anything. */
export function hasChanges(plan: ClusterPlan): boolean {
  return plan.some((a) => a.action !== 'none');
}

/** Replaces the header values inside a conditions annotation with {@link REDACTED_HEADER_VALUE}. */
export function redactConditionsAnnotation(value: string): string {
  try {
    const parsed = JSON.parse(value) as Array<{ HttpHeaderConfig?: { HttpHeaderName?: string; Values?: unknown[] } }>;
    const first = parsed[0]?.HttpHeaderConfig;
    if (parsed.length === 1 && first && typeof first.HttpHeaderName === 'string' && Array.isArray(first.Values)) {
      return conditionsAnnotation(
        first.HttpHeaderName,
        first.Values.map(() => REDACTED_HEADER_VALUE),
      );
    }
  } catch {
    // Not the shape we write: hide it all below.
  }
  return REDACTED_HEADER_VALUE;
}

/**
 * A copy of the plan that is safe to log or return: every ALB conditions
 * annotation has its header values (secrets) replaced by `***`.
 */
export function redactClusterPlan(plan: ClusterPlan): ClusterPlan {
  return plan.map((step) => {
    const annotations = step.object?.metadata.annotations;
    if (!step.object || !annotations) return { ...step };
    const redacted: Record<string, string> = {};
    for (const [key, value] of Object.entries(annotations)) {
      redacted[key] = key.startsWith(`${ALB}/conditions.`) ? redactConditionsAnnotation(value) : value;
    }
    return { ...step, object: { ...step.object, metadata: { ...step.object.metadata, annotations: redacted } } };
  });
}

/** `status.loadBalancer.ingress[0].hostname` of an Ingress, once the load balancer controller has set it. */
export function loadBalancerAddress(ingress: KubeObject | undefined): string | undefined {
  const status = ingress?.status as { loadBalancer?: { ingress?: Array<{ hostname?: unknown }> } } | undefined;
  const hostname = status?.loadBalancer?.ingress?.[0]?.hostname;
  return typeof hostname === 'string' && hostname !== '' ? hostname : undefined;
}
