/**
 * Certificate bundles: several namespace wildcards in one ACM certificate
 * (`certificates.mode: "bundled"`), so a listener's SNI slots serve
 * `slots × namesPerCertificate` namespaces. Pure.
 *
 * **There is no database.** A bundle is a certificate of ours with scope
 * `bundle`; its namespaces are its `*.<ns>.<domain>` names. Each namespace's
 * bundle is the newest usable certificate that names it ({@link currentBundles}),
 * so while a swap is under way the new certificate already is the bundle and
 * the old one is only "superseded".
 *
 * **ACM certificates are immutable**: a bundle that gains or loses a namespace
 * is a NEW certificate for the new name set. {@link planBundles} changes as few
 * bundles as it can:
 *
 * | event                         | `fill` (default: fewer certificates)                      | `new` (fewer swaps)                  |
 * |-------------------------------|-----------------------------------------------------------|--------------------------------------|
 * | namespaces added              | the one bundle with the most room takes them (one swap), the rest form new bundles | new bundles only, no swap |
 * | a namespace removed           | its bundle is re-requested without it (one swap); the last one's bundle just goes | same |
 *
 * So adding or removing one namespace touches at most one bundle, and no
 * other namespace moves to another bundle.
 *
 * **Make-before-break** ({@link bundleListener}): a superseded certificate
 * stays on the listener until every namespace it serves has its new
 * certificate ISSUED *and* on the ALB; only then is it taken off, and deleted
 * once ACM says nothing uses it. So at every moment each namespace has an
 * Issued certificate on the listener.
 */
import { InvalidRequestError } from '../errors';
import type { CertificateStatus } from '../ports';
import type { ProvisionRequest } from '../request';

/**
 * ACM's default of "Domain names per ACM certificate" (Service Quotas code
 * {@link ACM_NAMES_QUOTA_CODE}; acm-limits.html: 10). Used when Service
 * Quotas does not answer.
 */
export const DEFAULT_ACM_NAMES_PER_CERTIFICATE = 10;
/** Service Quotas service code of ACM. */
export const ACM_SERVICE_CODE = 'acm';
/** Service Quotas code of "Domain names per ACM certificate". */
export const ACM_NAMES_QUOTA_CODE = 'L-FB94F0B0';
/** The quota's name, for messages. */
export const ACM_NAMES_QUOTA_NAME = 'Domain names per ACM certificate';

/** A certificate of ours with scope `bundle`, as read. */
export interface BundleCertificate {
  arn: string;
  /** The namespaces it names (`*.<ns>.<domain>`). */
  namespaces: readonly string[];
  status: CertificateStatus;
  createdAt?: string;
}

/** Statuses from which a bundle can serve or still become Issued. */
const USABLE: ReadonlySet<CertificateStatus> = new Set(['ISSUED', 'PENDING_VALIDATION']);

/** Newest first; the ARN breaks ties so the order never depends on the listing's. */
function newestFirst(a: BundleCertificate, b: BundleCertificate): number {
  return (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.arn.localeCompare(b.arn);
}

/** One bundle as it stands: the certificate that is its current name set, and those namespaces. */
export interface CurrentBundle {
  arn: string;
  namespaces: string[];
  status: CertificateStatus;
}

/**
 * The bundles as they stand: each namespace belongs to the newest usable
 * certificate that names it; a certificate that is no namespace's newest is
 * superseded (it serves until {@link bundleListener} retires it).
 */
export function currentBundles(certificates: readonly BundleCertificate[]): { bundles: CurrentBundle[]; superseded: string[] } {
  const usable = certificates.filter((c) => USABLE.has(c.status)).sort(newestFirst);
  const owner = new Map<string, string>(); // namespace → arn
  for (const c of usable) for (const ns of c.namespaces) if (!owner.has(ns)) owner.set(ns, c.arn);
  const bundles: CurrentBundle[] = [];
  const superseded: string[] = [];
  for (const c of usable) {
    const mine = [...new Set(c.namespaces)].filter((ns) => owner.get(ns) === c.arn).sort();
    if (mine.length > 0) bundles.push({ arn: c.arn, namespaces: mine, status: c.status });
    else superseded.push(c.arn);
  }
  bundles.sort((a, b) => (a.namespaces[0] ?? '').localeCompare(b.namespaces[0] ?? ''));
  return { bundles, superseded: superseded.sort() };
}

/** One bundle after the plan. */
export type PlannedBundle =
  | { action: 'keep'; arn: string; namespaces: string[] }
  /** A new certificate for `namespaces`; `replaces` is the bundle certificate it supersedes (a swap), if any. */
  | { action: 'request'; namespaces: string[]; replaces?: string; added: string[]; removed: string[] };

/** What {@link planBundles} returns. */
export interface BundlePlan {
  bundles: PlannedBundle[];
  /** Bundle certificates that end with this plan (their namespaces all removed): retired once nothing needs them. */
  dropped: string[];
}

/** How new namespaces are placed: `fill` an existing bundle (fewer certificates) or open `new` ones (fewer swaps). */
export type BundleGrowth = 'fill' | 'new';

/**
 * The bundles for a change. Pure and stable (see the module comment).
 *
 * @param input.add namespaces that must be in a bundle (already bundled ones are left where they are).
 * @param input.remove namespaces to take out of their bundle.
 * @param input.namesPerCertificate namespace wildcards one certificate holds.
 * @param input.maxBundles bundles the listener takes (its SNI slots for ours); undefined = no check.
 * @throws InvalidRequestError when the bundles would not fit `maxBundles`, naming the quota.
 */
export function planBundles(input: {
  certificates: readonly BundleCertificate[];
  add: readonly string[];
  remove?: readonly string[];
  namesPerCertificate: number;
  growth?: BundleGrowth;
  maxBundles?: number;
}): BundlePlan {
  const n = input.namesPerCertificate;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`namesPerCertificate must be a positive integer, got ${n}`);
  const { bundles } = currentBundles(input.certificates);
  const remove = new Set(input.remove ?? []);
  const bundled = new Set(bundles.flatMap((b) => b.namespaces));
  const adding = [...new Set(input.add)].filter((ns) => !bundled.has(ns) && !remove.has(ns)).sort();

  type Work = { arn: string; namespaces: string[]; added: string[]; removed: string[] };
  const work: Work[] = bundles.map((b) => ({
    arn: b.arn,
    namespaces: b.namespaces.filter((ns) => !remove.has(ns)),
    added: [],
    removed: b.namespaces.filter((ns) => remove.has(ns)),
  }));

  if ((input.growth ?? 'fill') === 'fill' && adding.length > 0) {
    // One bundle takes the additions: a bundle that changes anyway (a removal) if it has room,
    // else the one with the most room (ties: the first by name). Only that bundle is swapped.
    const room = (w: Work) => n - w.namespaces.length;
    const candidates = work.filter((w) => w.namespaces.length > 0 && room(w) > 0);
    const changing = candidates.filter((w) => w.removed.length > 0);
    const pool = changing.length > 0 ? changing : candidates;
    const target = [...pool].sort((a, b) => room(b) - room(a))[0];
    if (target) {
      const take = adding.splice(0, room(target));
      target.namespaces.push(...take);
      target.added.push(...take);
    }
  }

  const planned: PlannedBundle[] = [];
  const dropped: string[] = [];
  for (const w of work) {
    if (w.namespaces.length === 0) {
      dropped.push(w.arn);
      continue;
    }
    if (w.added.length === 0 && w.removed.length === 0) {
      planned.push({ action: 'keep', arn: w.arn, namespaces: w.namespaces });
      continue;
    }
    planned.push({ action: 'request', namespaces: [...w.namespaces].sort(), replaces: w.arn, added: w.added, removed: w.removed });
  }
  for (let i = 0; i < adding.length; i += n) {
    const chunk = adding.slice(i, i + n);
    planned.push({ action: 'request', namespaces: chunk, added: chunk, removed: [] });
  }

  if (input.maxBundles !== undefined && planned.length > input.maxBundles) {
    throw new InvalidRequestError(
      `the namespaces need ${planned.length} bundle certificates of at most ${n} names each (quota "${ACM_NAMES_QUOTA_NAME}"); ` +
        `the listener takes ${input.maxBundles} besides *.domain (quota certificates-per-application-load-balancer): raise a quota or serve fewer namespaces`,
      { path: 'namespaces' },
    );
  }
  return { bundles: planned, dropped: dropped.sort() };
}

/** What {@link bundleListener} decides for the listener. */
export interface BundleListener {
  /** Bundle certificates the listener must carry now. */
  attach: string[];
  /** Superseded certificates that still serve a namespace whose new certificate is not Issued and on the ALB yet. */
  holding: Array<{ arn: string; waitingFor: string[] }>;
  /** Superseded certificates no namespace needs any more: off the listener now, deleted once ACM lets go of them. */
  retire: string[];
}

/**
 * Make-before-break for the listener. Pure.
 *
 * Every wanted namespace's current bundle is attached once ISSUED; a
 * superseded certificate (or a current one not yet Issued's predecessor)
 * stays attached while any wanted namespace it names lacks an ISSUED
 * certificate that the ALB already holds (`onAlb`: read from ELBv2, or the
 * Ingress as the controller last reconciled it). Only then is it retired.
 *
 * @param input.want namespaces that must stay served.
 * @param input.onAlb ARNs the ALB's HTTPS listener holds now.
 */
export function bundleListener(input: {
  certificates: readonly BundleCertificate[];
  want: readonly string[];
  onAlb: ReadonlySet<string>;
}): BundleListener {
  const { bundles, superseded } = currentBundles(input.certificates);
  const want = new Set(input.want);
  const attach = new Set<string>();
  const safe = new Set<string>(); // namespaces whose current bundle is Issued and on the ALB
  for (const b of bundles) {
    if (b.status !== 'ISSUED') continue;
    if (b.namespaces.some((ns) => want.has(ns))) attach.add(b.arn);
    if (input.onAlb.has(b.arn)) for (const ns of b.namespaces) safe.add(ns);
  }
  const current = new Map(bundles.map((b) => [b.arn, b.namespaces]));
  const isSuperseded = new Set(superseded);
  const holding: BundleListener['holding'] = [];
  const retire: string[] = [];
  for (const c of [...input.certificates].sort(newestFirst)) {
    if (attach.has(c.arn)) continue;
    // Every wanted namespace it names, not yet safe elsewhere: a superseded bundle during a swap, or the
    // bundle a namespace was removed from while its successor (without it) is still being validated.
    const waitingFor = [...new Set(c.namespaces)].filter((ns) => want.has(ns) && !safe.has(ns)).sort();
    if (c.status === 'ISSUED' && waitingFor.length > 0) {
      attach.add(c.arn);
      holding.push({ arn: c.arn, waitingFor });
    } else if (current.has(c.arn) && c.status === 'PENDING_VALIDATION') {
      // Being validated: attached once Issued.
    } else if (isSuperseded.has(c.arn) || !USABLE.has(c.status) || !(current.get(c.arn) ?? []).some((ns) => want.has(ns))) {
      // Superseded, failed, or the bundle of namespaces none of which is wanted any more (the others are safe elsewhere).
      retire.push(c.arn);
    }
  }
  return { attach: [...attach].sort(), holding, retire: [...new Set(retire)].sort() };
}

/**
 * Namespace wildcards one bundle may hold: the request's `namesPerCertificate`
 * (default: the quota) within ACM's names-per-certificate quota.
 *
 * @throws InvalidRequestError when the request asks for more than the quota, naming it.
 */
export function namesPerBundle(requested: number | undefined, quota: number): number {
  if (requested !== undefined && requested > quota) {
    throw new InvalidRequestError(
      `certificates.namesPerCertificate is ${requested}; the account's ACM quota "${ACM_NAMES_QUOTA_NAME}" (${ACM_NAMES_QUOTA_CODE}) is ${quota}: raise it in Service Quotas or ask for fewer`,
      { path: 'certificates.namesPerCertificate' },
    );
  }
  return requested ?? quota;
}

/**
 * Refuses, before any write, a bundled request the quotas cannot hold: the
 * namespace wildcards per certificate within ACM's quota, and the bundles
 * (`ceil(namespaces / namesPerCertificate)`) within one listener's SNI slots
 * (bundles use one ALB; the base `*.<domain>` is its default certificate).
 *
 * @param namesQuota ACM's "Domain names per ACM certificate" as read; undefined = the default.
 * @throws InvalidRequestError naming the quota.
 */
export function checkBundleQuotas(
  request: Pick<ProvisionRequest, 'namespaces' | 'certificates'>,
  namesQuota: number | undefined,
  sniQuota: number,
): number {
  const n = namesPerBundle(request.certificates.namesPerCertificate, namesQuota ?? DEFAULT_ACM_NAMES_PER_CERTIFICATE);
  const bundles = Math.ceil(request.namespaces.length / n);
  if (bundles > sniQuota) {
    throw new InvalidRequestError(
      `${request.namespaces.length} namespaces need ${bundles} bundle certificates of ${n} names (quota "${ACM_NAMES_QUOTA_NAME}", ${ACM_NAMES_QUOTA_CODE}); ` +
        `one ALB listener takes ${sniQuota} besides *.domain (quota certificates-per-application-load-balancer): raise a quota or serve fewer namespaces`,
      { path: 'namespaces' },
    );
  }
  return n;
}
