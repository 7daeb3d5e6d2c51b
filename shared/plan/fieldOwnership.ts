/**
 * Who else keeps writing the fields we are about to change: a pure reading of
 * an object's `metadata.managedFields` (and, for client-side apply, of its
 * `kubectl.kubernetes.io/last-applied-configuration`), made before any write.
 *
 * Why this is needed at all. Kubernetes server-side apply refuses an apply
 * that changes a field "owned by another manager" unless it is forced
 * ("When trying to apply an object, fields that have a different value and
 * are owned by another manager will result in a conflict"; "Writes to objects
 * with managed fields can be forced, in which case the value of any
 * conflicted field will be overridden, and the ownership will be
 * transferred": https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts).
 * ConfigureCluster forces its Ingress writes (it must take the two
 * annotations of Kubeflow's Ingress from whoever installed it), and a JSON
 * Patch or update never conflicts at all (only `Apply` operations do), so the
 * API server alone would never tell us that a GitOps tool owns the field and
 * will set it back on its next sync. Hence this check, over the object read.
 *
 * Which managers would fight us (a "claim" on the field):
 *
 * | managedFields entry of another manager            | claim? | who does that                                   |
 * |---------------------------------------------------|--------|-------------------------------------------------|
 * | `operation: Apply` owning the field                | yes    | Argo CD (ServerSideApply=true), Flux's kustomize-controller, `kubectl apply --server-side`, Helm 4 |
 * | `operation: Update` owning the field, and the field recorded in `kubectl.kubernetes.io/last-applied-configuration` | yes | client-side apply: `kubectl apply`, Argo CD's default sync; the next apply's three-way merge sets the field back to that value |
 * | `operation: Update` owning the field, nothing recorded | no | a one-off edit (`kubectl edit`/`annotate`/`patch`, `kubectl create`): nobody re-asserts it; we take the field over and say so |
 * | an entry for a subresource (`status`)               | no     | controllers writing status                       |
 * | our own manager (`kserve-edge`), Apply or Update    | no     | ours                                             |
 * | another manager owning only other fields           | no     | fields we do not write are not compared          |
 *
 * A field whose value already equals ours is not a conflict either (shared
 * ownership, as server-side apply treats it), so it is never reported.
 *
 * Field paths are written as the API server writes them in conflict
 * messages: `.metadata.annotations.alb.ingress.kubernetes.io/certificate-arn`.
 */
import type { KubeObject } from '../ports';

/** The annotation client-side `kubectl apply` (and Argo CD's default sync) computes its next patch from. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** One manager that would set fields we change back to its own value. */
export interface FieldClaim {
  manager: string;
  /** `Apply` (server-side apply) or `Update` (client-side apply). */
  operation: string;
  /** How it would set them back, for messages: `server-side apply` or `client-side apply`. */
  via: 'server-side apply' | 'client-side apply';
  /** The fields of ours it owns, e.g. `.metadata.annotations.alb.ingress.kubernetes.io/certificate-arn`. */
  fields: string[];
}

/** A manager that set a field we change once (an `Update` nobody re-applies): taken over without asking. */
export interface FieldEdit {
  manager: string;
  fields: string[];
}

/** What {@link fieldClaims} found for the fields a write would change. */
export interface FieldOwnership {
  /** Managers that would fight us: refuse unless `adopt`. */
  claims: FieldClaim[];
  /** Managers of one-off edits to fields we change (taken over with the force the write carries). */
  edits: FieldEdit[];
  /** Every field the write would change (value differs from the object read), as paths. */
  changed: string[];
}

type Path = readonly string[];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** The leaves of an apply configuration: maps are walked, lists and scalars are leaves (Ingress lists are atomic). */
function leaves(value: unknown, prefix: string[] = []): Array<{ path: Path; value: unknown }> {
  if (!isPlainObject(value) || Object.keys(value).length === 0) return [{ path: prefix, value }];
  return Object.entries(value).flatMap(([k, v]) => leaves(v, [...prefix, k]));
}

function at(value: unknown, path: Path): unknown {
  let node = value;
  for (const key of path) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** `.metadata.annotations.alb.ingress.kubernetes.io/certificate-arn`, as the API server prints field paths. */
export function formatFieldPath(path: Path): string {
  return path.map((k) => `.${k}`).join('');
}

/**
 * True when the `fieldsV1` set of a managedFields entry holds `path`: the
 * field itself (`f:<key>` at each level), something inside it, or an atomic
 * value above it (an empty set `{}` on the way down).
 */
export function ownsField(fieldsV1: unknown, path: Path): boolean {
  let node = fieldsV1;
  for (const [i, key] of path.entries()) {
    if (!isPlainObject(node)) return false;
    // A leaf set on the way down owns everything beneath it (an atomic map or list), except where
    // the API merges key by key: then `{}` is only the map itself (an apply of `annotations: {}`).
    if (Object.keys(node).length === 0 && !GRANULAR.has(path.slice(0, i).join('.'))) return true;
    node = node[`f:${key}`];
    if (node === undefined) return false;
  }
  return true;
}

/**
 * Fields whose children are tracked one by one whatever `fieldsV1` shows:
 * ObjectMeta is a struct and its labels and annotations are granular maps
 * (Kubernetes API conventions; server-side apply docs, "Merge strategy"),
 * so an empty set there never owns the keys beneath it.
 */
const GRANULAR = new Set(['metadata', 'metadata.labels', 'metadata.annotations']);

/** The fields of `desired` (an apply configuration) whose value differs in `current`. */
export function changedFields(current: KubeObject | undefined, desired: KubeObject): Path[] {
  const fields = leaves({ metadata: { labels: desired.metadata.labels, annotations: desired.metadata.annotations }, ...specOf(desired) });
  return fields.filter((f) => f.value !== undefined && !deepEqual(at(current, f.path), f.value)).map((f) => f.path);
}

/** Everything of an apply configuration besides identity and metadata (e.g. `spec`). */
function specOf(obj: KubeObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = obj;
  return rest;
}

function lastApplied(current: KubeObject): unknown {
  const raw = current.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    // Not JSON: kubectl would not use it either.
    return undefined;
  }
}

/**
 * The managers other than `self` that own fields `desired` would change on
 * `current`, split into claims (they would set them back) and one-off edits.
 * Pure; `current` is the object as read (with `metadata.managedFields`).
 */
export function fieldClaims(current: KubeObject | undefined, desired: KubeObject, self: string): FieldOwnership {
  const changed = changedFields(current, desired);
  const claims: FieldClaim[] = [];
  const edits: FieldEdit[] = [];
  if (current === undefined || changed.length === 0) return { claims, edits, changed: changed.map(formatFieldPath) };
  const applied = lastApplied(current);
  for (const entry of current.metadata.managedFields ?? []) {
    const manager = entry.manager ?? '';
    // Status writers touch another subresource; our own entries (Apply or Update) are ours.
    if (manager === self || (entry as { subresource?: string }).subresource) continue;
    const owned = changed.filter((path) => ownsField(entry.fieldsV1, path));
    if (owned.length === 0) continue;
    const operation = entry.operation ?? 'Update';
    const reapplied = operation === 'Apply' ? owned : owned.filter((path) => at(applied, path) !== undefined);
    if (reapplied.length > 0) {
      claims.push({
        manager,
        operation,
        via: operation === 'Apply' ? 'server-side apply' : 'client-side apply',
        fields: reapplied.map(formatFieldPath),
      });
    }
    const once = owned.filter((path) => !reapplied.includes(path));
    if (once.length > 0) edits.push({ manager, fields: once.map(formatFieldPath) });
  }
  return { claims, edits, changed: changed.map(formatFieldPath) };
}

/** `"argocd-controller" (server-side apply) owns .metadata.annotations.x; "kubectl-client-side-apply" (client-side apply) owns …` */
export function describeClaims(claims: readonly FieldClaim[]): string {
  return claims.map((c) => `"${c.manager}" (${c.via}) owns ${c.fields.join(', ')}`).join('; ');
}

/** `"kubectl-edit": .metadata.annotations.x` for one-off edits taken over. */
export function describeEdits(edits: readonly FieldEdit[]): string {
  return edits.map((e) => `"${e.manager}": ${e.fields.join(', ')}`).join('; ');
}
