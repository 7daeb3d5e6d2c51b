/**
 * Which ACM certificates a request needs, and which of the ones we already own
 * can serve.
 *
 * | mode            | certificates                                                       |
 * |-----------------|--------------------------------------------------------------------|
 * | `per-namespace` | `*.<domain>` (listener default) + one `*.<ns>.<domain>` per namespace |
 * | `single`        | one certificate: `*.<domain>` + every `*.<ns>.<domain>` (the guide) |
 * | `bundled`       | `*.<domain>` + bundles of several `*.<ns>.<domain>` (shared/plan/bundles.ts) |
 *
 * With flat hostnames (`hostnames: "flat"`) both modes need only `*.<domain>`.
 *
 * `per-namespace` is the default: adding a namespace adds a certificate and
 * leaves the others alone (an ACM certificate's names can never change, so in
 * `single` mode a new namespace means a new certificate and a swap), it stays
 * clear of ACM's 10-names-per-certificate quota, and one listener takes 25 SNI
 * certificates besides its default.
 */
import type { CertificateDetail, CertificateStatus, RecordSet, ValidationRecord } from '../ports';
import type { ProvisionRequest } from '../request';
import { baseWildcard, namespaceWildcard } from '../request';
import { namesHash, TAG_DOMAIN, TAG_NAMES, TAG_OWNER, TAG_SCOPE } from '../ownership';
import { createHash } from 'node:crypto';

export interface DesiredCertificate {
  /** `base`, `namespace:<ns>` or `single`. */
  scope: string;
  domainName: string;
  subjectAlternativeNames: string[];
  /** domainName + SANs. */
  names: string[];
  namesHash: string;
}

/** The certificates a request needs, in listener order (the first is the default certificate). */
export function desiredCertificates(req: ProvisionRequest): DesiredCertificate[] {
  const make = (scope: string, domainName: string, sans: string[]): DesiredCertificate => {
    const names = [domainName, ...sans];
    return { scope, domainName, subjectAlternativeNames: sans, names, namesHash: namesHash(names) };
  };
  // Flat hostnames (`<model>-<ns>.<domain>`): `*.<domain>` covers every namespace, whatever the mode.
  if (req.hostnames === 'flat') return [make('base', baseWildcard(req), [])];
  if (req.certificates.mode === 'bundled') {
    // The bundles depend on the certificates we own (shared/plan/bundles.ts): EnsureCertificates adds them.
    return [make('base', baseWildcard(req), [])];
  }
  if (req.certificates.mode === 'single') {
    return [
      make(
        'single',
        baseWildcard(req),
        req.namespaces.map((ns) => namespaceWildcard(req, ns)),
      ),
    ];
  }
  return [make('base', baseWildcard(req), []), ...req.namespaces.map((ns) => make(`namespace:${ns}`, namespaceWildcard(req, ns), []))];
}

/** The certificate of one bundle (scope `bundle`): its namespaces' wildcards, the first as the domain name. */
export function bundleCertificate(req: Pick<ProvisionRequest, 'domain'>, namespaces: readonly string[]): DesiredCertificate {
  const [first, ...rest] = [...namespaces].sort().map((ns) => namespaceWildcard(req, ns));
  if (first === undefined) throw new RangeError('a bundle needs at least one namespace');
  const names = [first, ...rest];
  return { scope: 'bundle', domainName: first, subjectAlternativeNames: rest, names, namesHash: namesHash(names) };
}

/** Statuses from which a certificate can still serve (or become Issued). */
const USABLE: ReadonlySet<CertificateStatus> = new Set(['ISSUED', 'PENDING_VALIDATION']);

export interface CertificatePlan {
  /** Certificates we own that already match. */
  reuse: Array<{ desired: DesiredCertificate; existing: CertificateDetail }>;
  /** Certificates to request. */
  request: DesiredCertificate[];
}

/**
 * Matches desired certificates with owned ones by the owner, domain and name-set
 * tags. Among several matches the Issued one wins, then the newest. Owned
 * certificates that failed are never reused (a new request is made).
 */
export function planCertificates(
  desired: readonly DesiredCertificate[],
  owned: readonly CertificateDetail[],
  opts: { ownerId: string; domain: string },
): CertificatePlan {
  const plan: CertificatePlan = { reuse: [], request: [] };
  for (const want of desired) {
    const candidates = owned
      .filter(
        (c) =>
          c.tags[TAG_OWNER] === opts.ownerId &&
          c.tags[TAG_DOMAIN] === opts.domain &&
          c.tags[TAG_NAMES] === want.namesHash &&
          USABLE.has(c.status),
      )
      .sort((a, b) => rank(b) - rank(a) || (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    const best = candidates[0];
    if (best) plan.reuse.push({ desired: want, existing: best });
    else plan.request.push(want);
  }
  return plan;
}

function rank(c: CertificateDetail): number {
  return c.status === 'ISSUED' ? 1 : 0;
}

/**
 * Tags written on every certificate we request.
 *
 * Every tag is a function of the idempotency key (owner + name set): runs
 * that race with the same token must send the same request, or an ACM that
 * compares the whole request (moto does) creates one certificate per run.
 * That is why the execution that asked is logged, not tagged.
 */
export function certificateTags(want: DesiredCertificate, opts: { ownerId: string; domain: string }): Record<string, string> {
  return {
    [TAG_OWNER]: opts.ownerId,
    [TAG_DOMAIN]: opts.domain,
    [TAG_SCOPE]: want.scope,
    [TAG_NAMES]: want.namesHash,
  };
}

/**
 * ACM idempotency token: the same owner asking for the same names within an
 * hour gets the same certificate, so concurrent runs do not duplicate it.
 *
 * `retired` are the ARNs of our certificates for this name set that ended
 * FAILED / VALIDATION_TIMED_OUT / …: they are part of the token, so a rerun
 * after a failure gets a new certificate instead of the failed one back (ACM
 * would return it for the rest of the hour), while concurrent reruns still
 * agree on one token.
 */
export function idempotencyToken(ownerId: string, want: DesiredCertificate, retired: readonly string[] = []): string {
  const key = [`${ownerId}|${want.namesHash}`, ...[...retired].sort()].join('|');
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

/**
 * The validation records of several certificates, written once each: ACM gives
 * `x` and `*.x` the same CNAME, and a name shared by two certificates must not
 * appear twice in one Route 53 batch.
 */
export function uniqueValidationRecords(certs: ReadonlyArray<Pick<CertificateDetail, 'validationRecords'>>): ValidationRecord[] {
  const byName = new Map<string, ValidationRecord>();
  for (const c of certs) {
    for (const r of c.validationRecords) {
      const key = r.name.toLowerCase().replace(/\.$/, '');
      if (!byName.has(key)) byName.set(key, r);
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

const dnsName = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/**
 * The validation records the zone lacks: those without a CNAME at their name
 * holding exactly ACM's value (names compared as DNS does, case and final dot
 * aside). A record already right is not written again, so a rerun writes none.
 */
export function validationRecordsToWrite(
  records: readonly ValidationRecord[],
  present: ReadonlyArray<Pick<RecordSet, 'name' | 'type' | 'values'>>,
): ValidationRecord[] {
  const right = new Set(
    present.filter((r) => r.type === 'CNAME' && r.values?.length === 1).map((r) => `${dnsName(r.name)} ${dnsName(r.values?.[0] ?? '')}`),
  );
  return records.filter((r) => !right.has(`${dnsName(r.name)} ${dnsName(r.value)}`));
}

/** Statuses that end a validation for good. */
export const FAILED_STATUSES: ReadonlySet<CertificateStatus> = new Set([
  'FAILED',
  'VALIDATION_TIMED_OUT',
  'REVOKED',
  'EXPIRED',
  'INACTIVE',
]);
