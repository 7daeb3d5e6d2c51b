/**
 * Deprovisioning one namespace, plan first: remove only what is ours. Pure.
 *
 * | what                                   | removed when                                                          |
 * |----------------------------------------|-----------------------------------------------------------------------|
 * | `*.<ns>.<domain>` (CNAME / alias A)    | the ownership TXT is ours; DELETE carries the record exactly as read  |
 * | `_kserve-edge.<ns>.<domain>` TXT       | every value in it is ours                                             |
 * | the certificate ARN on the ALB Ingress | it is one of ours for this namespace (JSON Patch, guarded by `test`)  |
 * | the certificate (scope `namespace:<ns>`) | ACM says it is in use by nothing (`InUseBy` empty)                  |
 * | its validation CNAME                   | the certificate goes now, the record holds exactly ACM's value, and   |
 * |                                        | no other certificate in the region has a name validated by it         |
 * | its ALB shard's Ingress (n ≥ 1)        | ours, and no namespace certificate of ours left on it, on a pass      |
 * |                                        | after the one that deleted the records (shared/plan/shards.ts)        |
 *
 * Anything else is kept and reported with the reason. A certificate still in
 * use (the load balancer controller has not updated the listener yet) is
 * waited for by the deprovision state machine, which runs the same plan
 * again; the sweep cleans up whatever is left after its deadline.
 */
import type { CertificateDetail, JsonPatchOp, KubeObject, ObjectRef, RecordChange, RecordSet } from '../ports';
import { HERITAGE, parseOwnershipValue, TAG_DOMAIN, TAG_SCOPE } from '../ownership';
import { ANNOTATION_CERTIFICATE_ARN, certificateNamespaces, splitArns } from './cluster';
import { shardRemovable } from './shards';
import { ownershipOf, type Ownership } from './records';

const ADDRESS_TYPES = new Set(['CNAME', 'A', 'AAAA']);

/** What is there now, as read by the step. */
export interface DeprovisionCurrent {
  namespace: string;
  domain: string;
  ownerId: string;
  /** Every record set at `*.<ns>.<domain>`. */
  target: RecordSet[];
  /** Every record set at `_kserve-edge.<ns>.<domain>`. */
  ownership: RecordSet[];
  /** Our certificates (owner tag) for the domain. */
  certificates: CertificateDetail[];
  /** Every certificate in the region with its names (ours included); empty = only ours are known. */
  allCertificates: Array<{ arn: string; names: string[] }>;
  /** The record sets currently at the validation names of this namespace's certificates. */
  validationRecords: RecordSet[];
  /** The ALB Ingress whose listener serves the namespace (its shard's; shard 0's when none lists it), if it exists. */
  ingress?: KubeObject;
  /** That Ingress's shard index (0 when absent). */
  shard?: number;
  /** The Ingress carries our owner labels. */
  ingressOwned?: boolean;
}

/** Something left in place, and why. */
export interface KeptItem {
  what: string;
  reason: string;
}

export interface DeprovisionPlan {
  namespace: string;
  ownership: Ownership;
  /** DELETEs, in one Route 53 batch. */
  recordChanges: RecordChange[];
  ingressPatch?: { ref: ObjectRef; ops: JsonPatchOp[]; removedArns: string[] };
  /** The namespace's ALB shard (n ≥ 1) serves nothing any more: its Ingress (and so its ALB) goes now, its records being gone. */
  deleteIngress?: ObjectRef;
  /** The shard empties with this pass: its Ingress goes on the next pass, after the records of this one. */
  shardEmptying?: ObjectRef;
  /** Certificates to delete now. */
  deleteCertificates: string[];
  /** Our certificates for the namespace that are still in use: deleted by a later pass. */
  inUse: Array<{ arn: string; inUseBy: string[] }>;
  kept: KeptItem[];
}

/** True when the plan changes anything. */
export function deprovisionHasChanges(plan: DeprovisionPlan): boolean {
  return (
    plan.recordChanges.length > 0 ||
    plan.ingressPatch !== undefined ||
    plan.deleteCertificates.length > 0 ||
    plan.deleteIngress !== undefined
  );
}

/** Our per-namespace certificates for this namespace. */
export function namespaceCertificates(current: Pick<DeprovisionCurrent, 'certificates' | 'domain' | 'namespace'>): CertificateDetail[] {
  return current.certificates.filter(
    (c) => c.tags[TAG_DOMAIN] === current.domain && c.tags[TAG_SCOPE] === `namespace:${current.namespace}`,
  );
}

const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');
/** The name a validation record validates: `_abc.x.y` validates `x.y` and `*.x.y`. */
const validatedBase = (recordName: string): string => norm(recordName).replace(/^[^.]+\./, '');
const baseOf = (certName: string): string => norm(certName).replace(/^\*\./, '');

/**
 * The validation CNAMEs that go with certificates being deleted. Pure.
 *
 * A record goes only when it holds exactly the value ACM gave the deleted
 * certificate and no remaining certificate in the region (ours or not) has a
 * name it validates (`_x.a.b` validates `a.b` and `*.a.b`); each other one is
 * kept with the reason. Deprovisioning and the end of a bundle swap
 * (ConfigureCluster) use the same rule.
 *
 * @param input.going the certificates deleted now, with their validation records as ACM described them.
 * @param input.remaining every other certificate in the region with its names.
 * @param input.records the record sets at those validation names, as read.
 */
export function planValidationRecordDeletions(input: {
  going: ReadonlyArray<Pick<CertificateDetail, 'validationRecords'>>;
  remaining: ReadonlyArray<{ names: readonly string[] }>;
  records: readonly RecordSet[];
}): { deletes: RecordChange[]; kept: KeptItem[] } {
  const deletes: RecordChange[] = [];
  const kept: KeptItem[] = [];
  const neededBases = new Set(input.remaining.flatMap((c) => c.names).map(baseOf));
  const seen = new Set<string>();
  for (const c of input.going) {
    for (const v of c.validationRecords) {
      const name = norm(v.name);
      if (seen.has(name)) continue;
      seen.add(name);
      if (neededBases.has(validatedBase(name))) {
        kept.push({ what: `validation CNAME ${name}`, reason: 'another certificate still validates through it' });
        continue;
      }
      const existing = input.records.find((r) => norm(r.name) === name && r.type === 'CNAME');
      if (!existing) continue;
      const values = (existing.values ?? []).map(norm);
      if (values.length === 1 && values[0] === norm(v.value)) deletes.push({ action: 'DELETE', record: existing });
      else kept.push({ what: `validation CNAME ${name}`, reason: 'its value is not the one ACM gave this certificate' });
    }
  }
  return { deletes, kept };
}

/**
 * Plans the removal. Pure: the DeprovisionNamespace step
 * (shared/steps/deprovisionNamespace.ts) reads `current` and applies the plan.
 *
 * @example
 *   const plan = planDeprovision(current);
 *   const todo = deprovisionHasChanges(plan) ? plan.recordChanges.length : 0;
 */
export function planDeprovision(current: DeprovisionCurrent): DeprovisionPlan {
  const kept: KeptItem[] = [];
  const recordChanges: RecordChange[] = [];
  const recordName = `*.${current.namespace}.${current.domain}`;

  // 1. The namespace record and its ownership TXT.
  const ownership = ownershipOf(current.ownership, current.ownerId);
  const occupying = current.target.filter((r) => ADDRESS_TYPES.has(r.type));
  if (ownership === 'ours') {
    for (const r of occupying) recordChanges.push({ action: 'DELETE', record: r });
    for (const txt of current.ownership.filter((r) => r.type === 'TXT')) {
      const allOurs = (txt.values ?? []).every((v) => {
        const l = parseOwnershipValue(v);
        return l.heritage === HERITAGE && l.owner === current.ownerId;
      });
      if (allOurs) recordChanges.push({ action: 'DELETE', record: txt });
      else kept.push({ what: `TXT ${txt.name}`, reason: 'holds values that are not ours' });
    }
  } else if (occupying.length > 0) {
    kept.push({
      what: `${occupying.map((r) => r.type).join('/')} ${recordName}`,
      reason: ownership === 'foreign' ? 'its ownership record names another owner' : 'it has no ownership record of ours',
    });
  }

  // 2. Certificates of this namespace: off the Ingress, then deleted once nothing uses them.
  const certs = namespaceCertificates(current);
  const certArns = new Set(certs.map((c) => c.arn));
  let ingressPatch: DeprovisionPlan['ingressPatch'];
  const ingress = current.ingress;
  if (ingress) {
    const annotation = ingress.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN];
    const arns = splitArns(annotation);
    const removed = arns.filter((a) => certArns.has(a));
    const remaining = arns.filter((a) => !certArns.has(a));
    if (removed.length > 0 && remaining.length === 0) {
      kept.push({
        what: `certificate-arn of Ingress ${ingress.metadata.namespace}/${ingress.metadata.name}`,
        reason: 'it would be left empty',
      });
    } else if (removed.length > 0 && annotation !== undefined) {
      const path = `/metadata/annotations/${ANNOTATION_CERTIFICATE_ARN.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      ingressPatch = {
        ref: { apiVersion: ingress.apiVersion, kind: ingress.kind, namespace: ingress.metadata.namespace, name: ingress.metadata.name },
        // `test` first: a concurrent edit of the annotation fails the patch instead of being overwritten.
        ops: [
          { op: 'test', path, value: annotation },
          { op: 'replace', path, value: remaining.join(',') },
        ],
        removedArns: removed,
      };
    }
  }
  const stillListed = new Set(ingressPatch ? [] : splitArns(ingress?.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]));
  const deleteCertificates: string[] = [];
  const inUse: DeprovisionPlan['inUse'] = [];
  for (const c of certs) {
    if (c.inUseBy.length > 0) inUse.push({ arn: c.arn, inUseBy: [...c.inUseBy] });
    else if (stillListed.has(c.arn)) kept.push({ what: `certificate ${c.arn}`, reason: 'still listed on the Ingress' });
    else deleteCertificates.push(c.arn);
  }

  // 3. Validation CNAMEs of the certificates deleted now, unless another certificate still needs them.
  const going = new Set(deleteCertificates);
  const validation = planValidationRecordDeletions({
    going: certs.filter((x) => going.has(x.arn)),
    remaining: [...current.allCertificates, ...current.certificates].filter((c) => !going.has(c.arn)),
    records: current.validationRecords,
  });
  recordChanges.push(...validation.deletes);
  kept.push(...validation.kept);

  const plan: DeprovisionPlan = { namespace: current.namespace, ownership, recordChanges, deleteCertificates, inUse, kept };
  if (ingressPatch) plan.ingressPatch = ingressPatch;

  // 4. The shard's Ingress, once no namespace of ours is left on it and this namespace's records are gone.
  const shard = current.shard ?? 0;
  if (ingress && shard > 0) {
    const ref: ObjectRef = {
      apiVersion: ingress.apiVersion,
      kind: ingress.kind,
      namespace: ingress.metadata.namespace,
      name: ingress.metadata.name,
    };
    const ours = new Map(current.certificates.map((c) => [c.arn, c]));
    const after = ingressPatch
      ? splitArns(ingress.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]).filter((a) => !ingressPatch.removedArns.includes(a))
      : splitArns(ingress.metadata.annotations?.[ANNOTATION_CERTIFICATE_ARN]);
    const listedNamespaces = [...new Set(after.flatMap((a) => (ours.has(a) ? certificateNamespaces(ours.get(a)!, current.domain) : [])))];
    const pending = recordChanges.length + (ingressPatch ? 1 : 0);
    const verdict = shardRemovable({
      index: shard,
      ingress,
      ownedByUs: current.ingressOwned ?? false,
      listedNamespaces,
      pendingRecordChanges: pending,
    });
    if (verdict.removable) plan.deleteIngress = ref;
    else if (listedNamespaces.length === 0 && (current.ingressOwned ?? false)) plan.shardEmptying = ref;
    else if (listedNamespaces.length === 0) kept.push({ what: `Ingress ${ref.namespace}/${ref.name}`, reason: verdict.reason });
  }
  return plan;
}
