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
  return createHash('sha256')
    .update([...names].sort().join(','))
    .digest('hex')
    .slice(0, 16);
}

/** Name of the TXT record that says who owns `*.<namespace>.<domain>`. */
export function ownershipRecordName(namespace: string, domain: string): string {
  return `_kserve-edge.${namespace}.${domain}`;
}

/** A DNS TXT character-string holds at most 255 octets (RFC 1035 §3.3); Route 53 refuses longer ones. */
export const TXT_MAX_STRING = 255;

/**
 * TXT value (with Route 53's quotes) in the external-dns style:
 * `"heritage=kserve-edge,kserve-edge/owner=<id>,kserve-edge/resource=<record name>"`.
 *
 * With a long owner id, namespace and domain the text reaches ~350
 * characters, past the 255 of one TXT string, so it is cut into several
 * strings of at most 255 (`"…" "…"`, one Route 53 value). Readers join the
 * strings of a value without a separator, as RFC 7208 §3.3 does for SPF; a
 * short value stays one string, exactly as before.
 */
export function ownershipRecordValue(ownerId: string, recordName: string): string {
  const text = `heritage=${HERITAGE},${HERITAGE}/owner=${ownerId},${HERITAGE}/resource=${recordName}`;
  const strings: string[] = [];
  for (let i = 0; i < text.length; i += TXT_MAX_STRING) strings.push(text.slice(i, i + TXT_MAX_STRING));
  return strings.map((part) => `"${part}"`).join(' ');
}

/** The character-strings of one TXT value (`"a" "b"` → `['a', 'b']`); an unquoted value is one string. */
export function txtStrings(value: string): string[] {
  const quoted = [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replace(/\\(.)/g, '$1'));
  return quoted.length > 0 ? quoted : [value];
}

export interface OwnershipLabels {
  heritage?: string;
  owner?: string;
  resource?: string;
}

/** Parses a TXT value written by {@link ownershipRecordValue} (one string or several); unknown text gives `{}`. */
export function parseOwnershipValue(value: string): OwnershipLabels {
  const text = txtStrings(value).join('');
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
