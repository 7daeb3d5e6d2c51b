/**
 * How kserve-edge marks what it owns, so it never changes or deletes anything
 * else (the external-dns registry idea):
 *
 * | resource            | marker                                                        |
 * |---------------------|---------------------------------------------------------------|
 * | ACM certificate     | tags `kserve-edge:owner`, `:domain`, `:scope`, `:names`        |
 * | Route 53 record     | companion TXT `_kserve-edge.<namespace>.<domain>` (see below)  |
 * | Kubernetes object   | label `app.kubernetes.io/managed-by=kserve-edge` + owner label |
 * | Kubernetes fields   | server-side apply field manager `kserve-edge`                  |
 */
import { createHash } from 'node:crypto';

export const FIELD_MANAGER = 'kserve-edge';
export const HERITAGE = 'kserve-edge';

export const TAG_OWNER = 'kserve-edge:owner';
export const TAG_DOMAIN = 'kserve-edge:domain';
/** `base`, `namespace:<ns>` or `single`. */
export const TAG_SCOPE = 'kserve-edge:scope';
/** Short hash of the sorted name set, so a changed set is a different certificate. */
export const TAG_NAMES = 'kserve-edge:names';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_OWNER = 'kserve-edge.io/owner';

/** Hash of a set of names, order-insensitive, 16 hex characters. */
export function namesHash(names: readonly string[]): string {
  return createHash('sha256').update([...names].sort().join(',')).digest('hex').slice(0, 16);
}

/** Name of the TXT record that says who owns `*.<namespace>.<domain>`. */
export function ownershipRecordName(namespace: string, domain: string): string {
  return `_kserve-edge.${namespace}.${domain}`;
}

/**
 * TXT value (with Route 53's quotes) in the external-dns style:
 * `"heritage=kserve-edge,kserve-edge/owner=<id>,kserve-edge/resource=<record name>"`.
 */
export function ownershipRecordValue(ownerId: string, recordName: string): string {
  return `"heritage=${HERITAGE},${HERITAGE}/owner=${ownerId},${HERITAGE}/resource=${recordName}"`;
}

export interface OwnershipLabels {
  heritage?: string;
  owner?: string;
  resource?: string;
}

/** Parses a TXT value written by {@link ownershipRecordValue}; unknown text gives `{}`. */
export function parseOwnershipValue(value: string): OwnershipLabels {
  const text = value.replace(/^"|"$/g, '');
  const out: OwnershipLabels = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq);
    const val = part.slice(eq + 1);
    if (key === 'heritage') out.heritage = val;
    else if (key === `${HERITAGE}/owner`) out.owner = val;
    else if (key === `${HERITAGE}/resource`) out.resource = val;
  }
  return out;
}

/** Labels on every Kubernetes object kserve-edge creates. */
export function ownedLabels(ownerId: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: HERITAGE, [LABEL_OWNER]: ownerId };
}

/** True when the object carries our labels for this owner. */
export function isOwnedObject(labels: Record<string, string> | undefined, ownerId: string): boolean {
  return labels?.[LABEL_MANAGED_BY] === HERITAGE && labels?.[LABEL_OWNER] === ownerId;
}
