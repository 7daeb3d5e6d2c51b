/**
 * The event path: Kubernetes audit events, as a CloudWatch Logs subscription
 * delivers them, turned into namespace lifecycle events. Pure except for the
 * gunzip of the payload.
 *
 * ```
 *  Lambda event    { "awslogs": { "data": base64( gzip( {
 *                      "messageType": "DATA_MESSAGE",
 *                      "logGroup": "/aws/eks/<cluster>/cluster",
 *                      "logStream": "kube-apiserver-audit-…",
 *                      "logEvents": [ { "id", "timestamp", "message": "<audit.k8s.io/v1 Event JSON>" } ] } ) ) } }
 *
 *  audit Event     { "kind": "Event", "stage": "ResponseComplete", "verb": "create" | "delete",
 *                    "auditID": "…", "objectRef": { "resource": "namespaces" | "profiles",
 *                    "apiGroup": "" | "kubeflow.org", "name": "team-a", "uid"?: "…" },
 *                    "responseStatus": { "code": 201 }, "responseObject"?: { "metadata": { "uid", "labels" } } }
 * ```
 *
 * A Profile's namespace has the Profile's name (Kubeflow's profile controller
 * creates it), so both resources map to one namespace name. The labels are
 * only in the event at `RequestResponse` audit level; the handler asks the
 * cluster anyway, which is the truth at the time it runs.
 */
import { gunzipSync } from 'node:zlib';
import { DNS_LABEL } from '../request';
import { isProfileLabels } from './lifecycle';

/** CloudWatch Logs filter pattern of the subscription (serverless.yml uses the same text). */
export const AUDIT_FILTER_PATTERN =
  '{ ($.objectRef.resource = "namespaces" || $.objectRef.resource = "profiles") && ($.verb = "create" || $.verb = "delete") && $.stage = "ResponseComplete" }';

/** What a CloudWatch Logs subscription hands a Lambda, decoded. */
export interface LogsSubscriptionData {
  messageType: string;
  logGroup?: string;
  logStream?: string;
  logEvents: Array<{ id?: string; timestamp?: number; message: string }>;
}

/** One namespace lifecycle event. */
export interface NamespaceEvent {
  action: 'created' | 'deleted';
  namespace: string;
  /** The resource the audit event was about. */
  resource: 'namespaces' | 'profiles';
  /** The object's uid when the event carries it. */
  uid?: string;
  /** True/false when the event carries the namespace's labels; undefined when it does not say. */
  profileLabel?: boolean;
  auditId: string;
  at?: string;
}

/**
 * Decodes `event.awslogs.data` (base64 of gzip of JSON).
 *
 * @throws TypeError when the event is not a Logs subscription event.
 */
export function decodeLogsEvent(event: unknown): LogsSubscriptionData {
  const data = (event as { awslogs?: { data?: unknown } } | null)?.awslogs?.data;
  if (typeof data !== 'string') throw new TypeError('not a CloudWatch Logs subscription event (no awslogs.data)');
  const parsed = JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as LogsSubscriptionData;
  if (!Array.isArray(parsed.logEvents)) throw new TypeError('CloudWatch Logs payload has no logEvents');
  return parsed;
}

interface AuditEvent {
  kind?: string;
  stage?: string;
  verb?: string;
  auditID?: string;
  objectRef?: { resource?: string; apiGroup?: string; name?: string; uid?: string };
  responseStatus?: { code?: number };
  requestObject?: { metadata?: { name?: string; uid?: string; labels?: Record<string, string> } };
  responseObject?: { metadata?: { name?: string; uid?: string; labels?: Record<string, string> } };
  stageTimestamp?: string;
}

/** One audit event (a log message) as a {@link NamespaceEvent}, or undefined when it is not one. */
export function namespaceEventFromAudit(message: string): NamespaceEvent | undefined {
  let e: AuditEvent;
  try {
    e = JSON.parse(message) as AuditEvent;
  } catch {
    return undefined;
  }
  if (e.kind !== undefined && e.kind !== 'Event') return undefined;
  if (e.stage !== 'ResponseComplete') return undefined;
  const resource = e.objectRef?.resource;
  if (resource === 'namespaces' && (e.objectRef?.apiGroup ?? '') !== '') return undefined;
  if (resource === 'profiles' && e.objectRef?.apiGroup !== 'kubeflow.org') return undefined;
  if (resource !== 'namespaces' && resource !== 'profiles') return undefined;
  const action = e.verb === 'create' ? 'created' : e.verb === 'delete' ? 'deleted' : undefined;
  if (!action) return undefined;
  const code = e.responseStatus?.code ?? 0;
  if (code < 200 || code >= 300) return undefined;
  // Sub-resources (namespaces/finalize, .../status) have a subresource field; objectRef.name is the object.
  if ((e.objectRef as { subresource?: string } | undefined)?.subresource) return undefined;
  const meta = e.responseObject?.metadata ?? e.requestObject?.metadata;
  const namespace = e.objectRef?.name || meta?.name;
  if (!namespace || !DNS_LABEL.test(namespace)) return undefined;
  const uid = e.objectRef?.uid || meta?.uid;
  const out: NamespaceEvent = { action, namespace, resource, auditId: e.auditID ?? '' };
  if (uid) out.uid = uid;
  if (resource === 'namespaces' && meta?.labels) out.profileLabel = isProfileLabels(meta.labels);
  if (resource === 'profiles') out.profileLabel = true;
  if (e.stageTimestamp) out.at = e.stageTimestamp;
  return out;
}

/** A log message of the subscription that is not an audit event at all (not a JSON object). */
export interface UnparsedAuditMessage {
  /** The CloudWatch Logs event id (find the line with it), `''` when the payload had none. */
  id: string;
  reason: string;
}

/**
 * Why a message cannot be an audit event, or undefined when it is a JSON
 * object. (An object that is simply not a namespace event is filtered, not
 * unparsed: the subscription filter lets through only what looks like one.)
 */
function unparsableReason(message: unknown): string | undefined {
  if (typeof message !== 'string') return 'message is not a string';
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'JSON but not an object';
  return undefined;
}

/**
 * The namespace events of a subscription payload (as
 * {@link namespaceEventsFromAudit}) and the messages that could not be parsed,
 * with their log event ids, so the caller counts and logs them instead of
 * dropping them in silence.
 *
 * @example
 *   const { events, unparsed } = parseAuditPayload(decodeLogsEvent(event));
 *   // unparsed: [{ id: '3813…', reason: 'not JSON (Unexpected token …)' }]
 */
export function parseAuditPayload(data: LogsSubscriptionData): { events: NamespaceEvent[]; unparsed: UnparsedAuditMessage[] } {
  const last = new Map<string, NamespaceEvent>();
  const unparsed: UnparsedAuditMessage[] = [];
  for (const le of data.logEvents) {
    const reason = unparsableReason(le?.message);
    if (reason) {
      unparsed.push({ id: typeof le?.id === 'string' ? le.id : '', reason });
      continue;
    }
    const ev = namespaceEventFromAudit(le.message);
    if (!ev) continue;
    last.delete(ev.namespace);
    last.set(ev.namespace, ev);
  }
  return { events: [...last.values()], unparsed };
}

/**
 * Every namespace event in a subscription payload, in order; the last event
 * per namespace wins (create then delete in one batch = deleted).
 */
export function namespaceEventsFromAudit(data: LogsSubscriptionData): NamespaceEvent[] {
  return parseAuditPayload(data).events;
}
