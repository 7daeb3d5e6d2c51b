/**
 * Narrow ports: only the calls the steps make. Adapters in `shared/aws` and
 * `shared/k8s` implement them over the AWS SDK and `@kubernetes/client-node`;
 * `test/fakes` implements them in memory. Steps receive ports as parameters
 * and never construct clients.
 *
 * Names are presentation form without the trailing dot, and a wildcard is
 * `*` (adapters unescape Route 53's `\052`).
 */

// ------------------------------------------------------------------ ACM

export type CertificateStatus = 'PENDING_VALIDATION' | 'ISSUED' | 'INACTIVE' | 'EXPIRED' | 'VALIDATION_TIMED_OUT' | 'REVOKED' | 'FAILED';

/** A DNS validation record ACM asks for. */
export interface ValidationRecord {
  /** e.g. `_abc.platform.example.com` */
  name: string;
  type: 'CNAME';
  /** e.g. `_def.xyz.acm-validations.aws.` kept as ACM gives it. */
  value: string;
}

export interface CertificateDetail {
  arn: string;
  domainName: string;
  /** DomainName plus SubjectAlternativeNames, as ACM lists them. */
  names: string[];
  status: CertificateStatus;
  /** One entry per name whose ResourceRecord ACM has published so far. */
  validationRecords: ValidationRecord[];
  /** Names whose validation record is not published yet. */
  namesWithoutRecord: string[];
  inUseBy: string[];
  tags: Record<string, string>;
  failureReason?: string;
  notAfter?: string;
  createdAt?: string;
}

export interface RequestCertificateInput {
  domainName: string;
  subjectAlternativeNames: string[];
  tags: Record<string, string>;
  /** ACM idempotency token (alphanumeric, at most 32 characters; 1 hour window). */
  idempotencyToken: string;
}

export interface AcmPort {
  /** Certificates tagged `kserve-edge:owner=<ownerId>` (any status), with tags and details. */
  listOwnedCertificates(ownerId: string): Promise<CertificateDetail[]>;
  requestCertificate(input: RequestCertificateInput): Promise<string>;
  describeCertificate(arn: string): Promise<CertificateDetail>;
  /** Deleting a certificate that is already gone succeeds. */
  deleteCertificate(arn: string): Promise<void>;
  /**
   * Every certificate in the region (ours or not) with its names, from the
   * list summaries only. Deprovisioning uses it to keep a validation CNAME
   * that another certificate still needs; without it only ours are considered.
   */
  listAllCertificateNames?(): Promise<Array<{ arn: string; names: string[] }>>;
}

// ------------------------------------------------------------------ Route 53

export interface AliasTarget {
  hostedZoneId: string;
  dnsName: string;
  evaluateTargetHealth: boolean;
}

export interface RecordSet {
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT' | 'NS' | 'SOA' | 'MX' | 'CAA' | string;
  ttl?: number;
  /** Resource record values as Route 53 stores them (TXT values keep their quotes). */
  values?: string[];
  alias?: AliasTarget;
}

export interface RecordChange {
  action: 'CREATE' | 'UPSERT' | 'DELETE';
  record: RecordSet;
}

export interface HostedZone {
  id: string;
  name: string;
  privateZone: boolean;
}

export type ChangeStatus = 'PENDING' | 'INSYNC';

export interface Route53Port {
  /** The public hosted zone whose name is the longest suffix of `domain`, if any. */
  findHostedZone(domain: string): Promise<HostedZone | undefined>;
  getHostedZone(id: string): Promise<HostedZone | undefined>;
  /** Every record set whose name is exactly `name` (all types). */
  listRecords(zoneId: string, name: string): Promise<RecordSet[]>;
  /**
   * Every record set whose name is one of `names` (all types), read in one
   * pass over the zone's listing rather than one read per name.
   */
  listRecordsNamed(zoneId: string, names: readonly string[]): Promise<RecordSet[]>;
  /**
   * Every record set of the zone, in the zone's listing order, read in as few
   * pages as Route 53 allows (the canary's testbed resolver: one read per run).
   */
  listZoneRecords(zoneId: string): Promise<RecordSet[]>;
  /** One transactional batch. */
  changeRecords(zoneId: string, changes: RecordChange[], comment: string): Promise<{ changeId: string; status: ChangeStatus }>;
  getChange(changeId: string): Promise<ChangeStatus>;
}

// ------------------------------------------------------------------ ELBv2

/** An application load balancer as DescribeLoadBalancers lists it. */
export interface LoadBalancerSummary {
  arn: string;
  /** e.g. `k8s-istiosys-istioing-0123456789-123456789.us-west-2.elb.amazonaws.com` */
  dnsName: string;
  /** `internet-facing` or `internal`. */
  scheme: string;
  /** ELBv2 `State.Code`: `provisioning`, `active`, `active_impaired`, `failed`. */
  state?: string;
}

export interface ListenerSummary {
  arn: string;
  port: number;
  /** `HTTP`, `HTTPS`, ... */
  protocol: string;
}

/**
 * What GetLoadBalancerAddress reads of ELBv2 to tell whether the ALB serves
 * what a run asked for. Reads only.
 */
export interface LoadBalancersPort {
  /** The load balancer whose DNSName is `dnsName` (case-insensitive), if any; reads every page. */
  findByDnsName(dnsName: string): Promise<LoadBalancerSummary | undefined>;
  listListeners(loadBalancerArn: string): Promise<ListenerSummary[]>;
  /** Every certificate ARN on the listener, the default one included (DescribeListenerCertificates, every page). */
  listListenerCertificates(listenerArn: string): Promise<string[]>;
  /**
   * The account's ELBv2 quotas by name (DescribeAccountLimits), e.g.
   * `certificates-per-application-load-balancer` and `application-load-balancers`.
   */
  accountLimits?(): Promise<Record<string, number>>;
}

/** A quota's value and where it came from. */
export interface QuotaValue {
  value: number;
  /** `service-quotas`: the account's value; `default`: the documented default (see `reason`). */
  source: 'service-quotas' | 'default';
  /** Why the default stands, for the log. */
  reason?: string;
}

/** The account's ACM quotas that bundles depend on (Service Quotas). */
export interface CertificateQuotasPort {
  /** ACM "Domain names per ACM certificate" (L-FB94F0B0). */
  namesPerCertificate(): Promise<QuotaValue>;
}

// ------------------------------------------------------------------ HTTPS reads (OIDC discovery, JWKS)

/** One HTTPS GET's answer. */
export interface HttpGetResult {
  status: number;
  /** At most `maxBytes + 1` bytes: one more than asked means the document is larger. */
  body: Buffer;
}

/** Public documents over HTTPS with verified TLS (an issuer's discovery document and JWKS). */
export interface HttpGetPort {
  /** @throws CanaryFailedError (kind dns/tls/timeout/http) when no answer arrives. */
  get(url: string, options: { maxBytes: number }): Promise<HttpGetResult>;
}

// ------------------------------------------------------------------ Secrets, notifications

export interface SecretsPort {
  /** The secret's SecretString. Callers must never log it. */
  getSecretString(secretId: string): Promise<string>;
}

export interface NotifyPort {
  publish(subject: string, message: string): Promise<void>;
}

// ------------------------------------------------------------------ Cluster

export interface ClusterRef {
  name: string;
  region: string;
}

/** How to reach one cluster's API server. `token` is a credential: never log it. */
export interface ClusterConnection {
  server: string;
  /** PEM of the cluster CA. */
  caData: string;
  token: string;
  /**
   * EKS DescribeCluster's `resourcesVpcConfig.endpointPublicAccess`: false when
   * the API endpoint is private only (reachable from the cluster's VPC alone);
   * undefined when DescribeCluster did not say.
   */
  endpointPublicAccess?: boolean;
}

export interface ClusterAccessPort {
  connect(cluster: ClusterRef): Promise<ClusterConnection>;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  managedFields?: Array<{ manager?: string; operation?: string; fieldsV1?: unknown }>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export type JsonPatchOp =
  { op: 'remove'; path: string } | { op: 'test'; path: string; value: unknown } | { op: 'add' | 'replace'; path: string; value: unknown };

/**
 * A condition on a write: the object is still at the `resourceVersion` that
 * was read, or (`absent`) it still does not exist. When it does not hold the
 * write changes nothing and fails with PatchConflictError.
 */
export type ApplyPrecondition = { resourceVersion: string } | 'absent';

export interface KubePort {
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  /**
   * Server-side apply of `obj` under `fieldManager`.
   * @throws PatchConflictError when `precondition` does not hold (the object changed or appeared since it was read).
   */
  apply(obj: KubeObject, options: { fieldManager: string; force: boolean; precondition?: ApplyPrecondition }): Promise<KubeObject>;
  /** RFC 6902 JSON Patch. @throws PatchConflictError when a `test` op fails (the object changed since it was read). */
  jsonPatch(ref: ObjectRef, ops: JsonPatchOp[], options: { fieldManager: string }): Promise<KubeObject>;
  /** `fieldSelector`: equality terms only, e.g. `involvedObject.kind=Ingress,involvedObject.name=x` (what the API server supports for the kind). */
  list(
    apiVersion: string,
    kind: string,
    options?: { namespace?: string; labelSelector?: string; fieldSelector?: string },
  ): Promise<KubeObject[]>;
  /** Deleting an object that is already gone succeeds. */
  delete(ref: ObjectRef): Promise<void>;
}

// ------------------------------------------------------------------ Step Functions

/** What StartExecution answered: a new run, or the name is taken (running or closed). */
export type StartOutcome = 'started' | 'exists';

export type ExecutionStatusName = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

/**
 * Starting runs of one state machine by name. Step Functions refuses a second
 * execution with the same name (`ExecutionAlreadyExists`), which is how
 * duplicate triggers are dropped: the adapter turns that refusal into `exists`.
 */
export interface ExecutionsPort {
  start(name: string, input: unknown): Promise<StartOutcome>;
  /** Status of the execution of that name, `undefined` when there is none. */
  status(name: string): Promise<ExecutionStatusName | undefined>;
}

/** One run of a state machine as ListExecutions lists it. */
export interface ExecutionSummary {
  name: string;
  status: ExecutionStatusName;
  /** ISO timestamps. */
  startDate?: string;
  stopDate?: string;
}

/** Reading the recent runs of one state machine (`kserve-edge status`). Reads only. */
export interface ExecutionHistoryPort {
  /** The most recent runs first, at most `limit` of them. */
  listRecent(limit: number): Promise<ExecutionSummary[]>;
}

/** Lives in `./errors` (the ASL retries it by name); re-exported here beside the port that throws it. */
export { PatchConflictError } from './errors';
