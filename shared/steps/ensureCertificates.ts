/**
 * EnsureCertificates: one owned ACM certificate per desired name set.
 *
 * Certificates are found by their tags first (so a rerun, or a run after a
 * crash, reuses what exists); only the missing ones are requested, with DNS
 * validation, ownership tags and an idempotency token.
 *
 * {@link planEnsureCertificates} is the read-and-plan half, which
 * `kserve-edge plan` shows; the step requests what it says.
 */
import type { Logger } from '../log';
import type { AcmPort, CertificateDetail, CertificateQuotasPort, CertificateStatus, LoadBalancersPort } from '../ports';
import { bundleCertificate } from '../plan/certificates';
import { certificateNamespaces } from '../plan/cluster';
import { checkBundleQuotas, planBundles, type BundleCertificate, type BundlePlan } from '../plan/bundles';
import { quotasFrom } from '../plan/shards';
import type { ProvisionRequest } from '../request';
import {
  certificateTags,
  desiredCertificates,
  FAILED_STATUSES,
  idempotencyToken,
  planCertificates,
  type DesiredCertificate,
} from '../plan/certificates';
import { TAG_DOMAIN, TAG_NAMES, TAG_SCOPE } from '../ownership';

export interface CertificateItem {
  scope: string;
  arn: string;
  names: string[];
  status: CertificateStatus;
  requested: boolean;
}

export interface EnsureCertificatesOutput {
  /** In listener order: the first is the default certificate. */
  items: CertificateItem[];
  /**
   * The certificates of ours for this domain besides `items` (the Dex Ingress keeps foreign ARNs, replaces
   * these and the items'). Consumers take `items` with it.
   */
  ownedArns: string[];
  /** When this run started waiting for validation (the deadline counts from here). */
  requestedAt: string;
}

export interface EnsureCertificatesDeps {
  acm: AcmPort;
  /** `bundled`: ACM's names-per-certificate quota (Service Quotas); without it, ACM's default. */
  certificateQuotas?: CertificateQuotasPort;
  /** `bundled`: the listener's SNI quota (DescribeAccountLimits); without it, ELBv2's default. */
  loadBalancers?: Pick<LoadBalancersPort, 'accountLimits'>;
  log: Logger;
  now: () => Date;
}

/** One desired certificate and what the step does for it, in listener order. */
export type CertificateAction =
  | { action: 'reuse'; desired: DesiredCertificate; existing: CertificateDetail }
  | {
      action: 'request';
      desired: DesiredCertificate;
      /** Our failed certificates for these names: they change the idempotency token, so ACM gives a new certificate. */
      retired: string[];
      /** `bundled`: the bundle certificate this one supersedes (a swap); it changes the idempotency token too. */
      replaces?: string;
    };

/** What {@link planEnsureCertificates} returns. */
export interface EnsureCertificatesPlan {
  actions: CertificateAction[];
  /** Our certificates for this domain, as read. */
  owned: CertificateDetail[];
  /** `bundled`: the bundles after this run (shared/plan/bundles.ts). */
  bundles?: BundlePlan;
}

/** Reads our certificates for the request's domain and decides, per desired certificate, reuse or request. No writes. */
export async function planEnsureCertificates(
  request: ProvisionRequest,
  deps: Pick<EnsureCertificatesDeps, 'acm' | 'certificateQuotas' | 'loadBalancers'>,
): Promise<EnsureCertificatesPlan> {
  const desired = desiredCertificates(request);
  const owned = (await deps.acm.listOwnedCertificates(request.ownerId)).filter((c) => c.tags[TAG_DOMAIN] === request.domain);
  let bundles: BundlePlan | undefined;
  /** Swapped bundles: the certificate each new one supersedes (part of its idempotency token). */
  const replacing = new Map<DesiredCertificate, string>();
  /** Kept bundles: the certificate that is the bundle (another one with the same names may be an older, superseded one). */
  const keeping = new Map<DesiredCertificate, string>();
  if (request.certificates.mode === 'bundled') {
    // The bundles come from the certificates we own: those that hold one of this run's namespaces are
    // kept, or re-requested with the new ones (a swap, which ConfigureCluster completes make-before-break).
    const [names, limits] = await Promise.all([
      deps.certificateQuotas?.namesPerCertificate(),
      deps.loadBalancers?.accountLimits ? deps.loadBalancers.accountLimits() : Promise.resolve(undefined),
    ]);
    const sni = quotasFrom(limits).sniCertificatesPerAlb;
    const n = checkBundleQuotas(request, names?.value, sni);
    const certificates: BundleCertificate[] = owned
      .filter((c) => c.tags[TAG_SCOPE] === 'bundle')
      .map((c) => ({
        arn: c.arn,
        namespaces: certificateNamespaces(c, request.domain),
        status: c.status,
        ...(c.createdAt ? { createdAt: c.createdAt } : {}),
      }));
    bundles = planBundles({
      certificates,
      add: request.namespaces,
      remove: request.certificates.release ?? [],
      namesPerCertificate: n,
      growth: request.certificates.growth ?? 'fill',
      maxBundles: sni,
    });
    // A bundle that names one of this run's namespaces, and one that loses a released namespace even when none of
    // its remaining ones is this run's (a run may name a subset: the others keep their bundle, re-requested without
    // the released name). A bundle left with none is `dropped`: ConfigureCluster retires it.
    const run = new Set(request.namespaces);
    for (const b of bundles.bundles) {
      const losing = b.action === 'request' && b.removed.length > 0;
      if (!losing && !b.namespaces.some((ns) => run.has(ns))) continue;
      const want = bundleCertificate(request, b.namespaces);
      if (b.action === 'request' && b.replaces !== undefined) replacing.set(want, b.replaces);
      if (b.action === 'keep') keeping.set(want, b.arn);
      desired.push(want);
    }
  }
  const plan = planCertificates(desired, owned, { ownerId: request.ownerId, domain: request.domain });
  const createdAt = new Map(owned.map((c) => [c.arn, c.createdAt ?? '']));
  const actions = desired.map((want): CertificateAction => {
    const kept = owned.find((c) => c.arn === keeping.get(want));
    if (kept) return { action: 'reuse', desired: want, existing: kept };
    const reuse = plan.reuse.find((r) => r.desired === want);
    // A swap reuses only a certificate newer than the one it replaces: an older one with these names is a
    // bundle superseded earlier and not deleted yet ({a,b} while {a,b,c} was swapped in), which the newer
    // bundle outranks (currentBundles: newest first), so reusing it would leave the replaced bundle current.
    const replaced = replacing.get(want);
    if (reuse && replaced === undefined) return { action: 'reuse', desired: want, existing: reuse.existing };
    if (reuse && replaced !== undefined) {
      const after = createdAt.get(replaced) ?? '';
      // Without the replaced one's creation date nothing can be told apart: as before, the best match.
      if (after === '') return { action: 'reuse', desired: want, existing: reuse.existing };
      const newer = owned
        .filter((c) => c.tags[TAG_NAMES] === want.namesHash && !FAILED_STATUSES.has(c.status) && (c.createdAt ?? '') > after)
        .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''))[0];
      if (newer) return { action: 'reuse', desired: want, existing: newer };
    }
    const retired = owned.filter((c) => c.tags[TAG_NAMES] === want.namesHash && FAILED_STATUSES.has(c.status)).map((c) => c.arn);
    // A swap's token names the certificate it replaces: a name set can come back within ACM's token hour
    // ({a,b} → {a,b,c} → {a,b} once c is released), and the same token would give the first {a,b}'s ARN,
    // deleted by the swap since ("within one hour ... ACM ... will issue only one", RequestCertificate's
    // IdempotencyToken, ACM API Reference).
    const replaces = replacing.get(want);
    return { action: 'request', desired: want, retired, ...(replaces !== undefined ? { replaces } : {}) };
  });
  return bundles ? { actions, owned, bundles } : { actions, owned };
}

export async function ensureCertificates(
  input: { request: ProvisionRequest; runId: string },
  deps: EnsureCertificatesDeps,
): Promise<EnsureCertificatesOutput> {
  const { request } = input;
  const { actions, owned, bundles } = await planEnsureCertificates(request, deps);
  if (bundles) {
    const swaps = bundles.bundles.filter((b) => b.action === 'request' && b.replaces !== undefined);
    deps.log.info('bundles', {
      bundles: bundles.bundles.length,
      swaps: swaps.map((b) => ({
        replaces: b.action === 'request' ? b.replaces : undefined,
        added: b.action === 'request' ? b.added : [],
        removed: b.action === 'request' ? b.removed : [],
      })),
      dropped: bundles.dropped,
    });
  }

  const items: CertificateItem[] = [];
  for (const step of actions) {
    const want = step.desired;
    if (step.action === 'reuse') {
      items.push({ scope: want.scope, arn: step.existing.arn, names: want.names, status: step.existing.status, requested: false });
      deps.log.info('certificate exists', { scope: want.scope, arn: step.existing.arn, status: step.existing.status });
      continue;
    }
    const arn = await deps.acm.requestCertificate({
      domainName: want.domainName,
      subjectAlternativeNames: want.subjectAlternativeNames,
      tags: certificateTags(want, { ownerId: request.ownerId, domain: request.domain }),
      idempotencyToken: idempotencyToken(
        request.ownerId,
        want,
        step.replaces !== undefined ? [...step.retired, step.replaces] : step.retired,
      ),
    });
    deps.log.info('certificate requested', { scope: want.scope, arn, names: want.names, runId: input.runId, replacing: step.retired });
    items.push({ scope: want.scope, arn, names: want.names, status: 'PENDING_VALIDATION', requested: true });
  }
  // Only ours that are not items (replaced, failed, another scope): the items' ARNs are in the state already,
  // and at 500 namespaces listing them twice would cost ~45 KB of Step Functions' 256 KiB.
  const itemArns = new Set(items.map((i) => i.arn));
  return { items, ownedArns: ownedArnsOf(owned, items).filter((a) => !itemArns.has(a)), requestedAt: deps.now().toISOString() };
}

/** Every certificate of ours for the domain: the ones read plus the ones in the listener list. */
export function ownedArnsOf(owned: readonly Pick<CertificateDetail, 'arn'>[], items: readonly Pick<CertificateItem, 'arn'>[]): string[] {
  return [...new Set([...owned.map((c) => c.arn), ...items.map((i) => i.arn)])];
}
