/**
 * ValidateRequest: everything that can be checked before anything is written.
 *
 * 1. the request schema (names, limits, unknown fields) — pure;
 * 2. the hosted zone: found from the domain, or the given id serves the domain;
 * 3. the secrets exist and hold what the auth provider needs (strong tokens, a login,
 *    the canary's client id and secret);
 * 4. JWT: the issuer's discovery document (when an endpoint is not given) and
 *    its JWKS, against the ALB's limits (RS256 only, ≤ 150 KB, ≤ 10 keys);
 * 5. the EKS cluster exists;
 * 6. the network: a stack whose functions run outside any VPC refuses what only
 *    the VPC reaches, an internal ALB (`ingress.scheme: internal`) and a
 *    private-only EKS endpoint ({@link VpcRequiredError}, naming the deploy
 *    parameters to set). The endpoint's access comes from the DescribeCluster
 *    that step 5 makes anyway.
 * 7. the hostnames (when the handler gives a cluster client): the KServe modes
 *    in use, a layout switch without `confirmHostnameChange`
 *    (HostnameChangeUnconfirmed), a hostname setting someone else owns
 *    (ObjectOwnedByAnother), an InferenceService whose host DNS cannot hold
 *    (InvalidRequest): all before any write (shared/plan/hostnameConfig.ts).
 *    The canary's host of each namespace is filled into `canary.hosts` when
 *    it differs from the layout's (KServe's `status.url` wins). An API server
 *    that does not answer (ClusterUnreachable) skips this: ConfigureCluster
 *    retries it and makes the same checks before it writes to the cluster.
 * 8. the account's quotas hold the namespaces: the ALB shards they need
 *    (ELBv2 DescribeAccountLimits: certificates per ALB, ALBs per region) and
 *    ACM's certificates (shared/plan/shards.ts); for `bundled`, ACM's names
 *    per certificate (Service Quotas L-FB94F0B0) times the listener's SNI
 *    slots (shared/plan/bundles.ts) — InvalidRequest naming the quota. Flat
 *    hostnames need one certificate (no shards); JWT mode runs on one ALB, so
 *    a JWT request that would need a second shard is refused here.
 * 9. `certificates.release` (bundled): a released namespace whose ownership
 *    TXT is still ours is still provisioned — InvalidRequest "deprovision it
 *    first" ({@link refuseProvisionedReleases}, checked right after the zone).
 *
 * Reads only. Its output is the normalised request (defaults filled, hosted
 * zone id resolved; for JWT the JWKS and token endpoints discovered) that
 * every later step receives.
 */
import {
  AccessDeniedError,
  CanaryFailedError,
  ClusterNotFoundError,
  ClusterUnreachableError,
  HostedZoneNotFoundError,
  InvalidRequestError,
  VpcRequiredError,
} from '../errors';
import type { Logger } from '../log';
import type {
  CertificateQuotasPort,
  ClusterAccessPort,
  ClusterConnection,
  HttpGetPort,
  KubePort,
  LoadBalancersPort,
  Route53Port,
  SecretsPort,
} from '../ports';
import { checkBundleQuotas } from '../plan/bundles';
import { checkShardQuotas, quotasFrom, shardsNeeded } from '../plan/shards';
import { modelHost, parseProvisionRequest, type JwtAuth, type ProvisionRequest } from '../request';
import { planHostnames, type HostnameClusterState } from '../plan/hostnameConfig';
import { readHostnameState } from './configureCluster';
import {
  checkJwks,
  discoveryUrl,
  JWKS_MAX_BYTES,
  parseClientCredentialsSecret,
  parseDiscoveryDocument,
  type JwksSummary,
} from '../plan/jwt';
import { ALB_HOSTED_ZONE_IDS, ownershipOf, recordsNamed } from '../plan/records';
import { ownershipRecordName } from '../ownership';
import { parseDexLogin, parseHeaderValuesSecret } from '../plan/secrets';

export interface ValidateRequestDeps {
  route53: Route53Port;
  secrets: SecretsPort;
  cluster: ClusterAccessPort;
  /** The account's ALB quotas (DescribeAccountLimits); without it, ELBv2's defaults are checked. */
  loadBalancers?: Pick<LoadBalancersPort, 'accountLimits'>;
  /** ACM's names-per-certificate quota (Service Quotas), for `bundled`; without it, ACM's default. */
  certificateQuotas?: CertificateQuotasPort;
  /** A client for the connected cluster; without it the hostname checks are left to ConfigureCluster. */
  kubeOf?: (connection: ClusterConnection) => KubePort;
  /** HTTPS GETs of the issuer's discovery document and JWKS (JWT mode only). */
  http?: HttpGetPort;
  log: Logger;
  /** The clock, for the default run id of a local run. */
  now: () => Date;
  /**
   * True when the functions run in the cluster's VPC (KSERVE_EDGE_IN_VPC, set by
   * the stack from its subnetIds / securityGroupIds parameters; locally, when the
   * machine reaches the VPC). False refuses internal ALBs and private-only endpoints.
   */
  inVpc: boolean;
}

/** What the refusal tells the user to do (README "VPC and private clusters"). */
export const VPC_PARAMETERS_HINT =
  'deploy the stack into the cluster VPC with the parameters subnetIds and securityGroupIds ' +
  '(--param "subnetIds=subnet-...,subnet-..." --param "securityGroupIds=sg-..."; README "VPC and private clusters")';

export interface ValidateRequestOutput {
  request: ProvisionRequest & { hostedZoneId: string };
  runId: string;
}

/** True when `name` is `zone` or below it, label-aligned. */
export function isWithinZone(name: string, zone: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const z = zone.toLowerCase().replace(/\.$/, '');
  return n === z || n.endsWith(`.${z}`);
}

/** Largest discovery document read (they are a few KB). */
const MAX_DISCOVERY_BYTES = 64 * 1024;

async function getDocument(http: HttpGetPort, url: string, maxBytes: number, path: string, what: string): Promise<Buffer> {
  let res;
  try {
    res = await http.get(url, { maxBytes });
  } catch (err) {
    if (!(err instanceof CanaryFailedError)) throw err;
    throw new InvalidRequestError(`${what} ${url} could not be read (${err.kind}): ${err.message}`, { path, cause: err });
  }
  if (res.status !== 200) throw new InvalidRequestError(`${what} ${url} answered HTTP ${res.status}`, { path });
  return res.body;
}

/**
 * JWT mode: the canary's client secret, the transition's header tokens, the
 * issuer's endpoints (discovered when not given) and its JWKS against the
 * ALB's limits. Returns the auth block with both endpoints filled in.
 */
async function validateJwt(auth: JwtAuth, deps: ValidateRequestDeps): Promise<{ auth: JwtAuth; jwks: JwksSummary }> {
  parseClientCredentialsSecret(await deps.secrets.getSecretString(auth.canary.clientSecretId));
  if (auth.transition) parseHeaderValuesSecret(await deps.secrets.getSecretString(auth.transition.headerValuesSecretId));
  const http = deps.http;
  if (!http) throw new TypeError('ValidateRequest needs an HTTP port for JWT mode');
  let jwksEndpoint = auth.jwksEndpoint;
  let tokenEndpoint = auth.canary.tokenEndpoint;
  if (jwksEndpoint === undefined || tokenEndpoint === undefined) {
    const url = discoveryUrl(auth.issuer);
    const meta = parseDiscoveryDocument(
      (await getDocument(http, url, MAX_DISCOVERY_BYTES, 'auth.issuer', 'the discovery document')).toString('utf8'),
      auth.issuer,
    );
    jwksEndpoint ??= meta.jwksUri;
    tokenEndpoint ??= meta.tokenEndpoint;
    if (tokenEndpoint === undefined) {
      throw new InvalidRequestError(`${url} names no https token_endpoint; set auth.canary.tokenEndpoint`, {
        path: 'auth.canary.tokenEndpoint',
      });
    }
  }
  // One byte more than the limit is read, so an oversized JWKS is seen as such.
  const jwks = checkJwks(await getDocument(http, jwksEndpoint, JWKS_MAX_BYTES, 'auth.jwksEndpoint', 'the JWKS'), jwksEndpoint);
  return { auth: { ...auth, jwksEndpoint, canary: { ...auth.canary, tokenEndpoint } }, jwks };
}

/**
 * `certificates.release` names namespaces that are gone: one whose ownership
 * TXT (`_kserve-edge.<ns>.<domain>`) still names our owner is still
 * provisioned (its record points at the ALB, its certificate must stay), so
 * taking it out of its bundle would break it. One read of the zone's listing.
 *
 * @throws InvalidRequestError naming `certificates.release[i]`.
 */
export async function refuseProvisionedReleases(
  request: Pick<ProvisionRequest, 'certificates' | 'domain' | 'ownerId'>,
  zoneId: string,
  route53: Pick<Route53Port, 'listRecordsNamed'>,
): Promise<void> {
  const release = request.certificates.release ?? [];
  if (release.length === 0) return;
  const txt = await route53.listRecordsNamed(
    zoneId,
    release.map((ns) => ownershipRecordName(ns, request.domain)),
  );
  for (const [i, ns] of release.entries()) {
    if (ownershipOf(recordsNamed(txt, ownershipRecordName(ns, request.domain)), request.ownerId) === 'ours') {
      throw new InvalidRequestError(
        `certificates.release: namespace "${ns}" is still provisioned (its ownership record ${ownershipRecordName(ns, request.domain)} is ours): deprovision it first`,
        { path: `certificates.release[${i}]` },
      );
    }
  }
}

/** Validates a raw request; see the module comment. */
export async function validateRequest(
  input: { request: unknown; runId?: string },
  deps: ValidateRequestDeps,
): Promise<ValidateRequestOutput> {
  let request = parseProvisionRequest(input.request);
  if (request.dns.recordType === 'ALIAS' && !ALB_HOSTED_ZONE_IDS[request.cluster.region]) {
    throw new InvalidRequestError(
      `dns.recordType: ALIAS records need the ALB hosted zone id of ${request.cluster.region}, which this version does not know; use CNAME`,
      { path: 'dns.recordType' },
    );
  }
  if (request.ingress.scheme === 'internal' && !deps.inVpc) {
    throw new VpcRequiredError(
      `ingress.scheme internal: the ALB would be reachable only inside the VPC, and this stack's functions (the canary among them) run outside it; ${VPC_PARAMETERS_HINT}`,
      { path: 'ingress.scheme' },
    );
  }

  let hostedZoneId: string;
  if (request.hostedZoneId) {
    let zone: Awaited<ReturnType<Route53Port['getHostedZone']>>;
    try {
      zone = await deps.route53.getHostedZone(request.hostedZoneId);
    } catch (err) {
      // The role may read only the zones the stack was deployed for (parameter hostedZoneIds), and IAM
      // decides before Route 53 looks: any other id, existing or not, is AccessDenied. For the request
      // that is a zone this deployment cannot use, which the user fixes in the request (or the stack).
      if (!(err instanceof AccessDeniedError)) throw err;
      throw new HostedZoneNotFoundError(
        `hosted zone ${request.hostedZoneId} does not exist or is not one of this deployment's zones (stack parameter hostedZoneIds)`,
        { path: 'hostedZoneId' },
      );
    }
    if (!zone) throw new HostedZoneNotFoundError(`hosted zone ${request.hostedZoneId} does not exist`, { path: 'hostedZoneId' });
    if (zone.privateZone) {
      throw new HostedZoneNotFoundError(`hosted zone ${request.hostedZoneId} is private; ACM validation needs a public zone`, {
        path: 'hostedZoneId',
      });
    }
    if (!isWithinZone(request.domain, zone.name)) {
      throw new HostedZoneNotFoundError(`hosted zone ${request.hostedZoneId} (${zone.name}) does not serve ${request.domain}`, {
        path: 'hostedZoneId',
      });
    }
    hostedZoneId = zone.id;
  } else {
    const zone = await deps.route53.findHostedZone(request.domain);
    if (!zone) {
      throw new HostedZoneNotFoundError(`no public Route 53 hosted zone serves ${request.domain}; create one or set hostedZoneId`, {
        path: 'domain',
      });
    }
    hostedZoneId = zone.id;
  }

  await refuseProvisionedReleases(request, hostedZoneId, deps.route53);

  let jwks: JwksSummary | undefined;
  if (request.auth.provider === 'cognito') {
    parseHeaderValuesSecret(await deps.secrets.getSecretString(request.auth.headerValuesSecretId));
  } else if (request.auth.provider === 'dex') {
    parseDexLogin(await deps.secrets.getSecretString(request.auth.loginSecretId));
  } else {
    const checked = await validateJwt(request.auth, deps);
    request = { ...request, auth: checked.auth };
    jwks = checked.jwks;
  }

  let connection: ClusterConnection;
  try {
    connection = await deps.cluster.connect(request.cluster);
  } catch (err) {
    // Same for the cluster: the role may describe only the stack's cluster (parameter clusterName,
    // in the stack's cluster region), so another name is AccessDenied whether it exists or not.
    if (!(err instanceof AccessDeniedError)) throw err;
    throw new ClusterNotFoundError(
      `EKS cluster ${request.cluster.name} in ${request.cluster.region} does not exist or is not this deployment's cluster (stack parameters clusterName, clusterRegion)`,
      { path: 'cluster', cause: err },
    );
  }
  if (connection.endpointPublicAccess === false && !deps.inVpc) {
    throw new VpcRequiredError(
      `EKS cluster ${request.cluster.name} in ${request.cluster.region} has a private-only API endpoint (endpointPublicAccess false), which this stack's functions, running outside the VPC, cannot reach; ${VPC_PARAMETERS_HINT}, or turn on the endpoint's public access`,
      { path: 'cluster' },
    );
  }

  let validated: ProvisionRequest = request;
  let hostnameState: HostnameClusterState | undefined;
  if (deps.kubeOf) {
    try {
      hostnameState = await readHostnameState(deps.kubeOf(connection), request);
    } catch (err) {
      // An API server that does not answer now is ConfigureCluster's to wait for (it retries ClusterUnreachable);
      // it plans the hostnames again and refuses the same way, only after the certificates.
      if (!(err instanceof ClusterUnreachableError)) throw err;
      deps.log.warn('cluster API unreachable: hostname checks left to ConfigureCluster', { reason: err.message });
    }
  }
  if (hostnameState) {
    const hostnames = planHostnames(request, hostnameState);
    // Only hosts that differ from the layout's rendering: the request travels through every state (payload limit).
    const hosts: Record<string, string> = { ...hostnames.hosts, ...request.canary.hosts };
    for (const [ns, host] of Object.entries(hosts))
      if (host === modelHost({ ...request, canary: { model: request.canary.model } }, ns)) delete hosts[ns];
    if (Object.keys(hosts).length > 0) validated = { ...request, canary: { ...request.canary, hosts } };
    deps.log.info('hostnames', {
      layout: hostnames.layout,
      defaultMode: hostnames.defaultMode,
      modes: hostnames.modes.map((m) => `${m.mode}:${m.current}${m.changes ? `→${hostnames.layout}` : ''}`),
      ...(hostnames.change ? { change: hostnames.change.confirmation } : {}),
    });
  }

  if (request.certificates.mode === 'per-namespace' && request.hostnames !== 'flat') {
    const limits = deps.loadBalancers?.accountLimits ? await deps.loadBalancers.accountLimits() : undefined;
    const quotas = quotasFrom(limits);
    checkShardQuotas(request.namespaces.length, quotas);
    const shards = shardsNeeded(request.namespaces.length, quotas.sniCertificatesPerAlb);
    if (request.auth.provider === 'jwt' && shards > 1) {
      // Not built: JWT mode's Ingresses (the token rule, the transition's header rule) share one IngressGroup, one ALB.
      throw new InvalidRequestError(
        `${request.namespaces.length} namespaces need ${shards} ALB shards at ${quotas.sniCertificatesPerAlb} certificates each (quota certificates-per-application-load-balancer); ` +
          `JWT mode ("auth.provider": "jwt") runs on one ALB: use "hostnames": "flat" (one certificate), or fewer namespaces`,
        { path: 'namespaces' },
      );
    }
  } else if (request.certificates.mode === 'bundled') {
    const [limits, names] = await Promise.all([
      deps.loadBalancers?.accountLimits ? deps.loadBalancers.accountLimits() : Promise.resolve(undefined),
      deps.certificateQuotas?.namesPerCertificate(),
    ]);
    if (names?.reason) deps.log.info('ACM quota defaulted', { quota: 'namesPerCertificate', value: names.value, reason: names.reason });
    checkBundleQuotas(request, names?.value, quotasFrom(limits).sniCertificatesPerAlb);
  }

  deps.log.info('request is valid', {
    domain: request.domain,
    namespaces: request.namespaces,
    hostedZoneId,
    auth: request.auth.provider,
    certificateMode: request.certificates.mode,
    ...(jwks ? { jwks: { keys: jwks.keys, bytes: jwks.bytes } } : {}),
  });
  return { request: { ...validated, hostedZoneId }, runId: input.runId ?? `local-${deps.now().getTime()}` };
}
