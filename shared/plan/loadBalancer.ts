/**
 * Does the ALB serve what a run asked for? The pure half of
 * GetLoadBalancerAddress (#10 §4.3, "a hostname is not a deployment").
 *
 * The AWS Load Balancer Controller writes `status.loadBalancer` after its
 * first successful deploy and keeps it when a later deploy fails: an unknown
 * or un-issued certificate, more than 25 certificates, a bad annotation. It
 * reports those failures only as Events on the Ingress (`FailedBuildModel`,
 * `FailedDeployModel`). So a hostname proves nothing about this run's write;
 * the ALB it names must be found in ELBv2 with this run's scheme and every
 * certificate of this run on its HTTPS:443 listener, and a refusal the
 * controller reported after the write ends the wait at once.
 */
import type { KubeObject } from '../ports';

/** Event reasons with which the controller refuses to deploy an Ingress (pkg/ingress/event.go). */
export const REFUSAL_REASONS = ['FailedBuildModel', 'FailedDeployModel'] as const;
/** The reason of the controller's event after a deploy that went through. */
export const SUCCESS_REASON = 'SuccessfullyReconciled';
/** The controller's default scheme when the Ingress names none. */
export const DEFAULT_SCHEME = 'internal';
/** The listener the product's Ingresses ask for (`listen-ports: [{"HTTPS":443}]`). */
export const HTTPS_PORT = 443;

const ANNOTATION_CERTIFICATE_ARN = 'alb.ingress.kubernetes.io/certificate-arn';
const ANNOTATION_SCHEME = 'alb.ingress.kubernetes.io/scheme';

/**
 * What the controller must have deployed for this run: read back from the
 * Ingress right after ConfigureCluster's write, so it holds every
 * certificate on it (ours and, on Kubeflow's shared Ingress, others'), not
 * only this run's.
 */
export interface ExpectedLoadBalancer {
  /** Every certificate ARN of the `certificate-arn` annotation, in order. */
  certificateArns: string[];
  /** `internet-facing` or `internal`. */
  scheme: string;
  /** The Ingress's `metadata.resourceVersion` after the write. */
  resourceVersion?: string;
  /** The Ingress's `metadata.uid`: events about another object of the same name do not count. */
  uid?: string;
  /** When the write began (ISO 8601): refusals reported before it are about an earlier write. */
  writtenAt: string;
  /**
   * Certificates the listener must no longer hold (a superseded bundle this
   * write took off, certificates.mode "bundled"): it is deleted only after
   * the ALB has let go of it.
   */
  absent?: string[];
}

/**
 * The expectation for the Ingress as ConfigureCluster left it.
 *
 * @example
 *   expectedLoadBalancer(ingress, '2026-12-02T06:00:00.000Z') // { certificateArns: [arn], scheme: 'internet-facing', ... }
 */
export function expectedLoadBalancer(ingress: KubeObject, writtenAt: string): ExpectedLoadBalancer {
  const annotations = ingress.metadata.annotations ?? {};
  const out: ExpectedLoadBalancer = {
    certificateArns: (annotations[ANNOTATION_CERTIFICATE_ARN] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    scheme: annotations[ANNOTATION_SCHEME]?.trim() || DEFAULT_SCHEME,
    writtenAt,
  };
  if (ingress.metadata.resourceVersion !== undefined) out.resourceVersion = ingress.metadata.resourceVersion;
  if (ingress.metadata.uid !== undefined) out.uid = ingress.metadata.uid;
  return out;
}

/** What ELBv2 says about the load balancer the status names; `undefined` parts were not found. */
export interface ObservedLoadBalancer {
  /** `status.loadBalancer.ingress[0].hostname`, if any. */
  hostname?: string;
  /** The load balancer with that DNS name, if ELBv2 has one. */
  loadBalancer?: { scheme: string; state?: string };
  /** Certificates on its HTTPS:443 listener; `undefined` when there is no such listener. */
  listenerCertificates?: string[];
  /** Core/v1 Events in the Ingress's namespace (all of them: the decision picks the Ingress's own). */
  events: KubeObject[];
}

export type LoadBalancerReadiness =
  { state: 'ready'; hostname: string } | { state: 'waiting'; reason: string } | { state: 'rejected'; reason: string; message: string };

interface EventView {
  reason: string;
  message: string;
  at: number;
  resourceVersion?: string;
}

/** The latest time an Event was seen: series, lastTimestamp, eventTime, firstTimestamp, creation, in that order. */
function eventTime(event: KubeObject): number {
  const e = event as { series?: { lastObservedTime?: unknown }; lastTimestamp?: unknown; eventTime?: unknown; firstTimestamp?: unknown };
  for (const v of [e.series?.lastObservedTime, e.lastTimestamp, e.eventTime, e.firstTimestamp, event.metadata.creationTimestamp]) {
    if (typeof v === 'string' && v !== '') {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) return t;
    }
  }
  return Number.NaN;
}

/** The Events whose involvedObject is the Ingress (kind, name, and uid when both sides know it). */
function eventsAbout(events: readonly KubeObject[], ingress: { namespace: string; name: string }, uid: string | undefined): EventView[] {
  const out: EventView[] = [];
  for (const event of events) {
    const e = event as {
      involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string; resourceVersion?: string };
      reason?: unknown;
      message?: unknown;
    };
    const io = e.involvedObject;
    if (!io || io.kind !== 'Ingress' || io.name !== ingress.name) continue;
    if (io.namespace !== undefined && io.namespace !== ingress.namespace) continue;
    if (uid !== undefined && io.uid !== undefined && io.uid !== uid) continue;
    const view: EventView = { reason: String(e.reason ?? ''), message: String(e.message ?? ''), at: eventTime(event) };
    if (io.resourceVersion !== undefined) view.resourceVersion = io.resourceVersion;
    out.push(view);
  }
  return out;
}

/**
 * Event times have whole seconds (`lastTimestamp`), so an event of the same
 * second as the write counts as after it; a refusal of an earlier write
 * within that second is then taken for this write's, which ends the run with
 * the controller's message rather than waiting out the deadline on an ALB
 * that does not serve it.
 */
function isAfterWrite(event: EventView, expected: ExpectedLoadBalancer): boolean {
  if (expected.resourceVersion !== undefined && event.resourceVersion === expected.resourceVersion) return true;
  const writtenAt = Date.parse(expected.writtenAt);
  if (Number.isNaN(writtenAt) || Number.isNaN(event.at)) return false;
  return event.at >= Math.floor(writtenAt / 1000) * 1000;
}

/**
 * A refusal is final once this long has passed without a success after it.
 * The controller may be finishing a reconcile of the previous version of the
 * Ingress when the write lands; that one's refusal is followed within
 * seconds by the reconcile of this write, whose success
 * (`SuccessfullyReconciled`) or refusal then decides.
 */
export const REFUSAL_SETTLE_SECONDS = 10;

/**
 * The decision, in this order:
 *
 * 1. `ready` when the load balancer the status names exists in ELBv2 with
 *    the expected scheme and every expected certificate on its HTTPS:443
 *    listener (what else the controller may have refused, this run did not
 *    ask for), and none of the `absent` ones;
 * 2. `rejected`, with the controller's message, when a refusal was reported
 *    after the write, no success at or after it, and it is at least
 *    {@link REFUSAL_SETTLE_SECONDS} old;
 * 3. otherwise `waiting`, saying what is missing: the hostname, the load
 *    balancer of that DNS name, the scheme (a scheme change makes the
 *    controller replace the ALB: a new DNS name follows), the HTTPS:443
 *    listener, or certificates.
 *
 * @example
 *   loadBalancerReadiness({ namespace: 'istio-system', name: 'istio-ingress-api' }, expected,
 *     { hostname, loadBalancer: { scheme: 'internet-facing' }, listenerCertificates: [arn], events: [] }, now) // { state: 'ready', hostname }
 */
export function loadBalancerReadiness(
  ingress: { namespace: string; name: string },
  expected: ExpectedLoadBalancer,
  observed: ObservedLoadBalancer,
  now: Date,
): LoadBalancerReadiness {
  const waiting = whatIsMissing(expected, observed);
  if (waiting === undefined && observed.hostname) return { state: 'ready', hostname: observed.hostname };

  const about = eventsAbout(observed.events, ingress, expected.uid);
  const refusal = about
    .filter((e) => (REFUSAL_REASONS as readonly string[]).includes(e.reason) && isAfterWrite(e, expected))
    .sort((a, b) => b.at - a.at)[0];
  const lastSuccess = Math.max(-Infinity, ...about.filter((e) => e.reason === SUCCESS_REASON).map((e) => e.at));
  if (refusal && lastSuccess < refusal.at && now.getTime() - refusal.at >= REFUSAL_SETTLE_SECONDS * 1000) {
    return { state: 'rejected', reason: refusal.reason, message: refusal.message };
  }
  return { state: 'waiting', reason: waiting ?? 'no load balancer address in the Ingress status yet' };
}

/** Why the observed load balancer does not serve the expectation yet; `undefined` when it does. */
function whatIsMissing(expected: ExpectedLoadBalancer, observed: ObservedLoadBalancer): string | undefined {
  const { hostname } = observed;
  if (!hostname) return 'no load balancer address in the Ingress status yet';
  if (!observed.loadBalancer) return `ELBv2 has no load balancer named ${hostname}`;
  if (observed.loadBalancer.scheme !== expected.scheme) {
    return `load balancer ${hostname} is ${observed.loadBalancer.scheme || 'of no scheme'}, the Ingress asks for ${expected.scheme} (the controller replaces it)`;
  }
  // A new ALB serves no traffic while `provisioning` (it takes minutes in AWS): pointing DNS at it then
  // would cut off clients that follow the new name (a JWT migration moves names to a new ALB).
  const state = observed.loadBalancer.state;
  if (state !== undefined && state !== 'active' && state !== 'active_impaired') {
    return `load balancer ${hostname} is ${state}, not active yet`;
  }
  if (observed.listenerCertificates === undefined) return `load balancer ${hostname} has no HTTPS:${HTTPS_PORT} listener`;
  const on = new Set(observed.listenerCertificates);
  const missing = expected.certificateArns.filter((arn) => !on.has(arn));
  if (missing.length > 0) {
    return `the HTTPS:${HTTPS_PORT} listener of ${hostname} lacks ${missing.length} certificate(s) of the Ingress: ${missing.join(', ')}`;
  }
  const stale = (expected.absent ?? []).filter((arn) => on.has(arn));
  if (stale.length > 0) {
    return `the HTTPS:${HTTPS_PORT} listener of ${hostname} still holds ${stale.length} superseded certificate(s): ${stale.join(', ')}`;
  }
  return undefined;
}
