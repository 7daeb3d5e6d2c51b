/**
 * In-memory {@link KubePort}: a small, honest model of the API server parts we use.
 *
 * - Objects live in a map keyed `apiVersion/kind/namespace/name`.
 * - Server-side apply merges and tracks field managers at the granularity
 *   the planner cares about: each label, annotation and `data` key, and every
 *   other top-level field (`spec`, …) as a whole. Another manager's field with
 *   a different value is a conflict (ObjectOwnedByAnotherError, as the adapter
 *   maps a 409) unless `force`; equal values are shared, as in real SSA.
 *   Fields this manager applied before and now omits are removed.
 * - JSON Patch supports add, replace, remove and test (a failed test fails all).
 * - Failures: `unreachable` makes every call fail with ClusterUnreachableError;
 *   `forbid(verb)` makes that verb fail with AccessDeniedError (RBAC).
 */
import { AccessDeniedError, ClusterUnreachableError, ObjectOwnedByAnotherError } from '../../shared/errors';
import {
  PatchConflictError,
  type ApplyPrecondition,
  type JsonPatchOp,
  type KubeObject,
  type KubePort,
  type ObjectRef,
} from '../../shared/ports';

/** RBAC verbs as the adapter issues them (server-side apply is a `patch`). */
export type FakeKubeVerb = 'get' | 'list' | 'patch' | 'delete';

const MAP_FIELDS = [['metadata', 'labels'], ['metadata', 'annotations'], ['data']] as const;
/** Top-level keys the server owns or that identify the object; never "fields" of a manager. */
const NOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'status']);

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function keyOf(ref: { apiVersion: string; kind: string; namespace?: string; name: string }): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

function refOf(obj: KubeObject): ObjectRef {
  return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** The manager-tracked fields of an object, as `path → value`. */
function fieldsOf(obj: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const path of MAP_FIELDS) {
    let cur: unknown = obj;
    for (const seg of path) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    if (cur && typeof cur === 'object') {
      for (const [k, v] of Object.entries(cur as Record<string, unknown>)) out.set(`${path.join('.')}.${k}`, v);
    }
  }
  for (const [k, v] of Object.entries(obj)) {
    if (!NOT_FIELDS.has(k) && k !== 'data' && v !== undefined) out.set(k, v);
  }
  return out;
}

/** Reads or writes a tracked field path on an object. */
function fieldPath(path: string): string[] {
  for (const prefix of MAP_FIELDS) {
    const p = `${prefix.join('.')}.`;
    if (path.startsWith(p)) return [...prefix, path.slice(p.length)];
  }
  return [path];
}

function setField(obj: Record<string, unknown>, path: string, value: unknown): void {
  const segs = fieldPath(path);
  let cur = obj;
  for (const seg of segs.slice(0, -1)) {
    if (!cur[seg] || typeof cur[seg] !== 'object') cur[seg] = {};
    cur = cur[seg] as Record<string, unknown>;
  }
  cur[segs[segs.length - 1] as string] = clone(value);
}

function deleteField(obj: Record<string, unknown>, path: string): void {
  const segs = fieldPath(path);
  let cur: unknown = obj;
  for (const seg of segs.slice(0, -1)) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
  if (cur && typeof cur === 'object') delete (cur as Record<string, unknown>)[segs[segs.length - 1] as string];
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** RFC 6901 pointer → tokens. */
function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies RFC 6902 ops to a document (in place); throws like the API server's 422 on failure. */
export function applyJsonPatch(doc: Record<string, unknown>, ops: readonly JsonPatchOp[]): void {
  for (const op of ops) {
    const tokens = parsePointer(op.path);
    const last = tokens.pop();
    if (last === undefined) throw new Error(`cannot ${op.op} the document root`);
    let parent: unknown = doc;
    for (const t of tokens) {
      parent = parent && typeof parent === 'object' ? (parent as Record<string, unknown>)[t] : undefined;
    }
    if (!parent || typeof parent !== 'object') throw new Error(`path ${op.path}: parent does not exist`);
    const container = parent as Record<string, unknown>;
    const exists = Object.prototype.hasOwnProperty.call(container, last);
    switch (op.op) {
      case 'test':
        if (!exists || !equal(container[last], op.value)) throw new Error(`testing value ${op.path} failed`);
        break;
      case 'remove':
        if (!exists) throw new Error(`path ${op.path}: cannot remove a missing value`);
        if (Array.isArray(container)) container.splice(Number(last), 1);
        else delete container[last];
        break;
      case 'replace':
        if (!exists) throw new Error(`path ${op.path}: cannot replace a missing value`);
        container[last] = clone(op.value);
        break;
      case 'add':
        if (Array.isArray(container)) {
          container.splice(last === '-' ? container.length : Number(last), 0, clone(op.value));
        } else container[last] = clone(op.value);
        break;
    }
  }
}

/** A field selector of equality terms (`involvedObject.name=x`), as the API server applies it. */
function matchesFields(object: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^([^!=]+)(!=|==?)(.*)$/.exec(term.trim());
    if (!m) return false;
    let value: unknown = object;
    for (const key of m[1]!.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
    const equal = String(value ?? '') === m[3];
    return m[2] === '!=' ? !equal : equal;
  });
}

function matchesSelector(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  return selector
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .every((term) => {
      let m: RegExpExecArray | null;
      if ((m = /^([^!=]+)!=(.*)$/.exec(term))) return l[m[1]!.trim()] !== m[2]!.trim();
      if ((m = /^([^!=]+)==?(.*)$/.exec(term))) return l[m[1]!.trim()] === m[2]!.trim();
      if (term.startsWith('!')) return !(term.slice(1) in l);
      return term in l;
    });
}

/** In-memory {@link KubePort}; see the module comment. */
export class FakeKube implements KubePort {
  /** When true every call fails as if the API server were down. */
  unreachable = false;
  /** Every call made, as `verb kind ns/name`, for tests that care (e.g. "a dry run writes nothing"). */
  readonly calls: string[] = [];
  private readonly objects = new Map<string, KubeObject>();
  /** key → field path → managers. */
  private readonly managers = new Map<string, Map<string, Set<string>>>();
  private readonly forbidden = new Set<string>();
  private version = 1;

  constructor(initial: Array<{ object: KubeObject; manager?: string }> = []) {
    for (const { object, manager } of initial) this.seed(object, manager);
  }

  /** Puts an object in place as if another tool (`manager`, default kubectl) had created it. */
  seed(object: KubeObject, manager = 'kubectl-client-side-apply'): void {
    const key = keyOf(refOf(object));
    const stored = clone(object);
    stored.metadata.resourceVersion = String(this.version++);
    stored.metadata.uid ??= `uid-${this.version}`;
    this.objects.set(key, stored);
    const fields = new Map<string, Set<string>>();
    for (const path of fieldsOf(stored).keys()) fields.set(path, new Set([manager]));
    this.managers.set(key, fields);
  }

  /** Makes `verb` (optionally only for `kind`) fail with AccessDeniedError. */
  forbid(verb: FakeKubeVerb, kind?: string): void {
    this.forbidden.add(`${verb}:${kind ?? '*'}`);
  }

  /** The stored object (a copy), or undefined. */
  peek(ref: ObjectRef): KubeObject | undefined {
    return clone(this.objects.get(keyOf(ref)));
  }

  /** Managers of each tracked field of an object (for assertions). */
  fieldManagers(ref: ObjectRef): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [path, set] of this.managers.get(keyOf(ref)) ?? []) out[path] = [...set].sort();
    return out;
  }

  /** Writes `.status` as a controller would (e.g. the load balancer controller's hostname). */
  setStatus(ref: ObjectRef, status: unknown): void {
    const obj = this.objects.get(keyOf(ref));
    if (!obj) throw new Error(`${describeRef(ref)} not found`);
    obj.status = clone(status);
    obj.metadata.resourceVersion = String(this.version++);
  }

  /** Number of writes (apply, patch, delete) that reached the store. */
  get writes(): number {
    return this.calls.filter((c) => !c.startsWith('get ') && !c.startsWith('list ')).length;
  }

  private check(verb: FakeKubeVerb, ref: { kind: string; namespace?: string; name?: string }): void {
    if (this.unreachable) throw new ClusterUnreachableError(`failed to ${verb} ${ref.kind}: cannot reach the API server (ECONNREFUSED)`);
    if (this.forbidden.has(`${verb}:*`) || this.forbidden.has(`${verb}:${ref.kind}`)) {
      throw new AccessDeniedError(
        `RBAC: system:serviceaccount:test:fake cannot ${verb} ${ref.kind.toLowerCase()}s in ${ref.namespace ?? 'the cluster scope'}`,
      );
    }
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    this.check('get', ref);
    this.calls.push(`get ${describeRef(ref)}`);
    return clone(this.objects.get(keyOf(ref)));
  }

  async apply(obj: KubeObject, options: { fieldManager: string; force: boolean; precondition?: ApplyPrecondition }): Promise<KubeObject> {
    const ref = refOf(obj);
    this.check('patch', ref);
    const key = keyOf(ref);
    const applied = fieldsOf(obj as Record<string, unknown>);
    const existing = this.objects.get(key);
    // As the API server: a create that finds the object (409 AlreadyExists), an apply at another resourceVersion (409 Conflict).
    const precondition = options.precondition;
    if (precondition === 'absent' && existing)
      throw new PatchConflictError(`${describeRef(ref)} was created by someone else since it was read`);
    if (precondition !== undefined && precondition !== 'absent') {
      if (!existing) throw new PatchConflictError(`${describeRef(ref)} is gone since it was read`);
      if (existing.metadata.resourceVersion !== precondition.resourceVersion) {
        throw new PatchConflictError(`${describeRef(ref)} changed since it was read (resourceVersion precondition)`);
      }
    }
    const owners = this.managers.get(key) ?? new Map<string, Set<string>>();

    if (existing) {
      const current = fieldsOf(existing as Record<string, unknown>);
      const conflicts: Array<{ path: string; managers: string[] }> = [];
      for (const [path, value] of applied) {
        const others = [...(owners.get(path) ?? [])].filter((m) => m !== options.fieldManager);
        if (others.length > 0 && !equal(current.get(path), value)) conflicts.push({ path, managers: others });
      }
      if (conflicts.length > 0 && !options.force) {
        const who = [...new Set(conflicts.flatMap((c) => c.managers))].map((m) => `"${m}"`).join(', ');
        throw new ObjectOwnedByAnotherError(
          `${describeRef(ref)}: fields (${conflicts.map((c) => c.path).join(', ')}) are managed by ${who}; not overwriting them`,
        );
      }
    }
    this.calls.push(`apply ${describeRef(ref)}`);

    const target = (
      existing ? clone(existing) : { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { ...clone(obj.metadata) } }
    ) as KubeObject & Record<string, unknown>;
    // Fields this manager set before and omits now are removed (unless someone else also manages them).
    for (const [path, set] of owners) {
      if (set.has(options.fieldManager) && !applied.has(path)) {
        set.delete(options.fieldManager);
        if (set.size === 0) {
          owners.delete(path);
          deleteField(target, path);
        }
      }
    }
    const current = fieldsOf(target);
    for (const [path, value] of applied) {
      const set = owners.get(path) ?? new Set<string>();
      // Force takes the field; an equal value is shared; a new field is ours alone.
      if (options.force || !equal(current.get(path), value)) set.clear();
      set.add(options.fieldManager);
      owners.set(path, set);
      setField(target, path, value);
    }
    target.metadata.resourceVersion = String(this.version++);
    target.metadata.uid ??= `uid-${this.version}`;
    target.metadata.creationTimestamp ??= '2024-01-01T00:00:00Z';
    this.objects.set(key, target);
    this.managers.set(key, owners);
    return clone(target);
  }

  async jsonPatch(ref: ObjectRef, ops: JsonPatchOp[], options: { fieldManager: string }): Promise<KubeObject> {
    this.check('patch', ref);
    const key = keyOf(ref);
    const existing = this.objects.get(key);
    // As the adapter: a guarded patch of an object gone since the read is a conflict (re-read, re-plan).
    if (!existing) throw new PatchConflictError(`${describeRef(ref)} is gone since it was read`);
    const next = clone(existing) as KubeObject & Record<string, unknown>;
    try {
      applyJsonPatch(next, ops);
    } catch (err) {
      // The API server answers 422 and changes nothing.
      throw new PatchConflictError(`failed to patch ${describeRef(ref)}: 422 ${(err as Error).message}`, { cause: err });
    }
    this.calls.push(`patch ${describeRef(ref)}`);
    // An Update operation: changed fields become this manager's, removed ones are nobody's.
    const owners = this.managers.get(key) ?? new Map<string, Set<string>>();
    const before = fieldsOf(existing as Record<string, unknown>);
    const after = fieldsOf(next);
    for (const path of before.keys()) if (!after.has(path)) owners.delete(path);
    for (const [path, value] of after) {
      if (!before.has(path) || !equal(before.get(path), value)) owners.set(path, new Set([options.fieldManager]));
    }
    next.metadata.resourceVersion = String(this.version++);
    this.objects.set(key, next);
    this.managers.set(key, owners);
    return clone(next);
  }

  async list(
    apiVersion: string,
    kind: string,
    options: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<KubeObject[]> {
    this.check('list', { kind, namespace: options.namespace });
    this.calls.push(`list ${kind} ${options.namespace ?? '*'}`);
    return [...this.objects.values()]
      .filter((o) => o.apiVersion === apiVersion && o.kind === kind)
      .filter((o) => options.namespace === undefined || o.metadata.namespace === options.namespace)
      .filter((o) => matchesSelector(o.metadata.labels, options.labelSelector))
      .filter((o) => matchesFields(o, options.fieldSelector))
      .map((o) => clone(o));
  }

  async delete(ref: ObjectRef): Promise<void> {
    this.check('delete', ref);
    this.calls.push(`delete ${describeRef(ref)}`);
    const key = keyOf(ref);
    this.objects.delete(key);
    this.managers.delete(key);
  }
}
