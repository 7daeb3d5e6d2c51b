/**
 * Typed errors whose `name` is what the state machine matches.
 *
 * Step Functions compares a Task's `ErrorEquals` with the `name` of the error a
 * Lambda throws. Each class therefore sets `this.name` to a string literal (it
 * survives minification, `constructor.name` does not). Errors are split into:
 *
 * - retryable: listed in the ASL `Retry` blocks (throttling, 5xx, not-yet-ready);
 * - terminal:  caught into NotifyFailure, then a `Fail` state of the same name.
 *
 * `test/statemachine/errors-asl.test.ts` checks, for both state machines, that
 * every name the ASL matches exists here and that every terminal error here ends
 * in its own Fail state.
 */

/** Options every automation error accepts. */
export interface AutomationErrorOptions {
  cause?: unknown;
  /** JSON path of the offending field, for input errors (e.g. `auth.headerName`). */
  path?: string;
}

/** Base class for every error this tool raises on purpose. */
export abstract class AutomationError extends Error {
  abstract override readonly name: ErrorName;
  /** True when the state machine retries it with backoff before giving up. */
  abstract readonly retryable: boolean;
  readonly path?: string;

  constructor(message: string, options: AutomationErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.path !== undefined) this.path = options.path;
  }

  /** Plain JSON for logs and step outputs; never includes `cause` (it may carry secrets or request ids). */
  toJSON(): { name: string; message: string; path?: string } {
    return this.path === undefined
      ? { name: this.name, message: this.message }
      : { name: this.name, message: this.message, path: this.path };
  }
}

// ---------------------------------------------------------------- terminal

/** The request (execution input) is malformed. Nothing was written. */
export class InvalidRequestError extends AutomationError {
  readonly name = 'InvalidRequest' as const;
  readonly retryable = false;
}

/** A Secrets Manager secret the request names is missing, unreadable or malformed, or holds weak tokens. */
export class InvalidSecretError extends AutomationError {
  readonly name = 'InvalidSecret' as const;
  readonly retryable = false;
}

/** No public hosted zone in Route 53 serves the domain (or the given id is not the domain's zone). */
export class HostedZoneNotFoundError extends AutomationError {
  readonly name = 'HostedZoneNotFound' as const;
  readonly retryable = false;
}

/** The EKS cluster named in the request does not exist in that region. */
export class ClusterNotFoundError extends AutomationError {
  readonly name = 'ClusterNotFound' as const;
  readonly retryable = false;
}

/**
 * The request needs the functions inside the cluster's VPC and this stack runs
 * them outside any VPC: an internal ALB (`ingress.scheme: internal`, reachable
 * only from the VPC, which the canary must probe) or an EKS cluster whose API
 * endpoint is private only. Raised by ValidateRequest, before any write; the
 * message names the deploy parameters to set (`subnetIds`, `securityGroupIds`).
 */
export class VpcRequiredError extends AutomationError {
  readonly name = 'VpcRequired' as const;
  readonly retryable = false;
}

/** IAM or Kubernetes RBAC refused a call: the deployment's permissions are incomplete. */
export class AccessDeniedError extends AutomationError {
  readonly name = 'AccessDenied' as const;
  readonly retryable = false;
}

/** ACM reports the certificate FAILED, VALIDATION_TIMED_OUT, REVOKED or EXPIRED. */
export class CertificateValidationFailedError extends AutomationError {
  readonly name = 'CertificateValidationFailed' as const;
  readonly retryable = false;
}

/** The certificate was still not Issued when the request's deadline passed. */
export class CertificateTimeoutError extends AutomationError {
  readonly name = 'CertificateTimeout' as const;
  readonly retryable = false;
}

/** The load balancer controller did not publish an address before the deadline. */
export class LoadBalancerTimeoutError extends AutomationError {
  readonly name = 'LoadBalancerTimeout' as const;
  readonly retryable = false;
}

/**
 * The AWS Load Balancer Controller refused to deploy the Ingress this run
 * wrote (a `FailedBuildModel` or `FailedDeployModel` event: an unknown or
 * un-issued certificate, too many certificates, a bad annotation). The ALB
 * keeps serving its previous configuration and the status its old hostname,
 * so no DNS record was written. The message is the controller's.
 */
export class LoadBalancerRejectedError extends AutomationError {
  readonly name = 'LoadBalancerRejected' as const;
  readonly retryable = false;
}

/** The Route 53 change was not INSYNC before the deadline. */
export class DnsChangeTimeoutError extends AutomationError {
  readonly name = 'DnsChangeTimeout' as const;
  readonly retryable = false;
}

/** A DNS record the tool would write exists and carries no ownership record of ours. */
export class RecordOwnedByAnotherError extends AutomationError {
  readonly name = 'RecordOwnedByAnother' as const;
  readonly retryable = false;
}

/** A Kubernetes object the tool would write exists and is not managed by it. */
export class ObjectOwnedByAnotherError extends AutomationError {
  readonly name = 'ObjectOwnedByAnother' as const;
  readonly retryable = false;
}

/**
 * The run would change the hostname layout (nested ↔ flat) of models that are
 * served under the domain today, so every model's URL would change, and the
 * request does not confirm it (`confirmHostnameChange`). Nothing was written.
 */
export class HostnameChangeUnconfirmedError extends AutomationError {
  readonly name = 'HostnameChangeUnconfirmed' as const;
  readonly retryable = false;
}

/** Options of {@link PrerequisiteMissingError}. */
export interface PrerequisiteMissingOptions extends AutomationErrorOptions {
  /** What is missing, e.g. `ConfigMap knative-serving/config-domain`, `AuthorizationPolicy (security.istio.io/v1beta1)` or `namespace team-a`. */
  missing?: string;
}

/**
 * Something the run needs and does not create is not there: Knative's
 * `config-domain`, a CRD (Istio's AuthorizationPolicy, Kubeflow's Profile), the
 * namespace, or the Ingress ConfigureCluster wrote and someone deleted since.
 * Waiting does not help; install or restore it and run again.
 */
export class PrerequisiteMissingError extends AutomationError {
  readonly name = 'PrerequisiteMissing' as const;
  readonly retryable = false;
  /** What is missing, for the runbook and the SNS message. */
  readonly missing?: string;
  constructor(message: string, options: PrerequisiteMissingOptions = {}) {
    super(message, options);
    if (options.missing !== undefined) this.missing = options.missing;
  }
}

/**
 * The function's own configuration (its environment, set by the stack or the
 * CLI user) is invalid: a malformed variable, or one that would weaken the run
 * (Node's TLS-verification variable set to switch verification off, which is
 * refused). Raised before any step runs; fix the
 * deployment's parameters or the shell's environment and run again.
 */
export class ConfigError extends AutomationError {
  readonly name = 'ConfigError' as const;
  readonly retryable = false;
  /** The environment variable at fault. */
  readonly variable: string;
  constructor(variable: string, rule: string) {
    super(`${variable} ${rule}`);
    this.variable = variable;
  }
}

/**
 * The Kubernetes API server refused an object as invalid (HTTP 400 or 422: a
 * schema or validation error, or an admission webhook's denial). The message is
 * the API server's; retrying sends the same object again.
 */
export class ClusterRejectedError extends AutomationError {
  readonly name = 'ClusterRejected' as const;
  readonly retryable = false;
}

/**
 * TLS verification of the API server failed (the CA from EKS does not sign its
 * certificate, the certificate is self-signed, expired or for another name).
 * Not retried: the endpoint answers, it is just not the cluster we trust.
 */
export class ClusterCertificateMismatchError extends AutomationError {
  readonly name = 'ClusterCertificateMismatch' as const;
  readonly retryable = false;
}

/**
 * AWS refused a call as invalid (a 4xx other than throttling or access denied:
 * `LimitExceededException`, `InvalidChangeBatch`, `ValidationException`, …).
 * The message carries AWS's error code and text; retrying would send the same call.
 */
export class AwsRejectedError extends AutomationError {
  readonly name = 'AwsRejected' as const;
  readonly retryable = false;
}

/** The inference canary did not get the expected answer. `kind` says which layer failed. */
export class CanaryFailedError extends AutomationError {
  readonly name = 'CanaryFailed' as const;
  /**
   * Final when thrown: the provisioning run waits for a red canary that time can heal in its own
   * loop (RunCanary ⟲ WaitForCanary, `shared/plan/canaryWait.ts`), so what is thrown is past its deadline or permanent.
   */
  readonly retryable = false;
  readonly kind: CanaryFailureKind;
  constructor(kind: CanaryFailureKind, message: string, options: AutomationErrorOptions = {}) {
    super(`${kind}: ${message}`, options);
    this.kind = kind;
  }
}

/** The layers a canary probe can fail in, outermost first. */
export const CANARY_FAILURE_KINDS = ['dns', 'tls', 'auth', 'http', 'protocol', 'prediction', 'timeout'] as const;
export type CanaryFailureKind = (typeof CANARY_FAILURE_KINDS)[number];

// ---------------------------------------------------------------- retryable

/** AWS throttled the call (ThrottlingException, Throttling, PriorRequestNotComplete, TooManyRequests). */
export class ThrottledError extends AutomationError {
  readonly name = 'Throttled' as const;
  readonly retryable = true;
}

/** AWS answered 5xx or the connection failed: try again. */
export class AwsUnavailableError extends AutomationError {
  readonly name = 'AwsUnavailable' as const;
  readonly retryable = true;
}

/** The Kubernetes API server could not be reached or answered 5xx. Retried, then terminal. */
export class ClusterUnreachableError extends AutomationError {
  readonly name = 'ClusterUnreachable' as const;
  readonly retryable = true;
}

/**
 * A guarded JSON Patch was refused (HTTP 422: a `test` op failed, or the path
 * it removes is gone): the object changed since it was read, e.g. by a run
 * racing this one. Nothing was written; read again and re-plan. The steps
 * re-plan a few times themselves; the state machine retries the Task after that.
 */
export class PatchConflictError extends AutomationError {
  readonly name = 'PatchConflict' as const;
  readonly retryable = true;
}

/** ACM has not published the DNS validation records yet (normal for a few seconds after the request). */
export class ValidationRecordsNotReadyError extends AutomationError {
  readonly name = 'ValidationRecordsNotReady' as const;
  readonly retryable = true;
}

/** Every error class, for lookups by name. */
export const ERROR_CLASSES = {
  InvalidRequest: InvalidRequestError,
  InvalidSecret: InvalidSecretError,
  HostedZoneNotFound: HostedZoneNotFoundError,
  ClusterNotFound: ClusterNotFoundError,
  VpcRequired: VpcRequiredError,
  AccessDenied: AccessDeniedError,
  CertificateValidationFailed: CertificateValidationFailedError,
  CertificateTimeout: CertificateTimeoutError,
  LoadBalancerTimeout: LoadBalancerTimeoutError,
  LoadBalancerRejected: LoadBalancerRejectedError,
  DnsChangeTimeout: DnsChangeTimeoutError,
  RecordOwnedByAnother: RecordOwnedByAnotherError,
  ObjectOwnedByAnother: ObjectOwnedByAnotherError,
  HostnameChangeUnconfirmed: HostnameChangeUnconfirmedError,
  PrerequisiteMissing: PrerequisiteMissingError,
  ConfigError: ConfigError,
  ClusterRejected: ClusterRejectedError,
  ClusterCertificateMismatch: ClusterCertificateMismatchError,
  AwsRejected: AwsRejectedError,
  CanaryFailed: CanaryFailedError,
  Throttled: ThrottledError,
  AwsUnavailable: AwsUnavailableError,
  ClusterUnreachable: ClusterUnreachableError,
  PatchConflict: PatchConflictError,
  ValidationRecordsNotReady: ValidationRecordsNotReadyError,
} as const;

export type ErrorName = keyof typeof ERROR_CLASSES;
export const ERROR_NAMES = Object.keys(ERROR_CLASSES) as ErrorName[];

/**
 * Errors that can end a run. Retryable ones are here too when they become
 * terminal once the ASL's retries are spent.
 */
export const TERMINAL_ERROR_NAMES: readonly ErrorName[] = [
  'InvalidRequest',
  'InvalidSecret',
  'HostedZoneNotFound',
  'ClusterNotFound',
  'VpcRequired',
  'AccessDenied',
  'CertificateValidationFailed',
  'CertificateTimeout',
  'LoadBalancerTimeout',
  'LoadBalancerRejected',
  'DnsChangeTimeout',
  'RecordOwnedByAnother',
  'ObjectOwnedByAnother',
  'HostnameChangeUnconfirmed',
  'PrerequisiteMissing',
  'ConfigError',
  'ClusterRejected',
  'ClusterCertificateMismatch',
  'AwsRejected',
  'CanaryFailed',
  'ClusterUnreachable',
  'Throttled',
  'AwsUnavailable',
  'PatchConflict',
  'ValidationRecordsNotReady',
];

/** Turns any thrown value into an Error without losing it. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

export function isAutomationError(value: unknown): value is AutomationError {
  return value instanceof AutomationError;
}
