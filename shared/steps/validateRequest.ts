/**
 * ValidateRequest: everything that can be checked before anything is written.
 *
 * 1. the request schema (names, limits, unknown fields) — pure;
 * 2. the hosted zone: found from the domain, or the given id serves the domain;
 * 3. the secrets exist and hold what the auth provider needs (strong tokens, a login,
 *    the canary's client id and secret);
 * 4. JWT: the issuer's discovery document (when an endpoint is not given) and
 *    its JWKS, against the ALB's limits (RS256 only, ≤ 150 KB, ≤ 10 keys);
 * 5. the EKS cluster exists.
 *
 * Reads only. Its output is the normalised request (defaults filled, hosted
 * zone id resolved; for JWT the JWKS and token endpoints discovered) that
 * every later step receives.
 */
import { AccessDeniedError, CanaryFailedError, ClusterNotFoundError, HostedZoneNotFoundError, InvalidRequestError } from '../errors';
import type { Logger } from '../log';
import type { ClusterAccessPort, HttpGetPort, Route53Port, SecretsPort } from '../ports';
import { parseProvisionRequest, type JwtAuth, type ProvisionRequest } from '../request';
import {
  checkJwks,
  discoveryUrl,
  JWKS_MAX_BYTES,
  parseClientCredentialsSecret,
  parseDiscoveryDocument,
  type JwksSummary,
} from '../plan/jwt';
import { ALB_HOSTED_ZONE_IDS } from '../plan/records';
import { parseDexLogin, parseHeaderValuesSecret } from '../plan/secrets';

export interface ValidateRequestDeps {
  route53: Route53Port;
  secrets: SecretsPort;
  cluster: ClusterAccessPort;
  /** HTTPS GETs of the issuer's discovery document and JWKS (JWT mode only). */
  http?: HttpGetPort;
  log: Logger;
  /** The clock, for the default run id of a local run. */
  now: () => Date;
}

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

  try {
    await deps.cluster.connect(request.cluster);
  } catch (err) {
    // Same for the cluster: the role may describe only the stack's cluster (parameter clusterName,
    // in the stack's cluster region), so another name is AccessDenied whether it exists or not.
    if (!(err instanceof AccessDeniedError)) throw err;
    throw new ClusterNotFoundError(
      `EKS cluster ${request.cluster.name} in ${request.cluster.region} does not exist or is not this deployment's cluster (stack parameters clusterName, clusterRegion)`,
      { path: 'cluster', cause: err },
    );
  }

  deps.log.info('request is valid', {
    domain: request.domain,
    namespaces: request.namespaces,
    hostedZoneId,
    auth: request.auth.provider,
    certificateMode: request.certificates.mode,
    ...(jwks ? { jwks: { keys: jwks.keys, bytes: jwks.bytes } } : {}),
  });
  return { request: { ...request, hostedZoneId }, runId: input.runId ?? `local-${deps.now().getTime()}` };
}
