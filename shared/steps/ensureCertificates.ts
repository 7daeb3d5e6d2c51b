/**
 * EnsureCertificates: one owned ACM certificate per desired name set.
 *
 * Certificates are found by their tags first (so a rerun, or a run after a
 * crash, reuses what exists); only the missing ones are requested, with DNS
 * validation, ownership tags and an idempotency token.
 */
import type { Logger } from '../log';
import type { AcmPort, CertificateStatus } from '../ports';
import type { ProvisionRequest } from '../request';
import { certificateTags, desiredCertificates, FAILED_STATUSES, idempotencyToken, planCertificates } from '../plan/certificates';
import { TAG_DOMAIN, TAG_NAMES } from '../ownership';

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
  /** Every certificate of ours for this domain (the Dex Ingress keeps foreign ARNs, replaces these). */
  ownedArns: string[];
  /** When this run started waiting for validation (the deadline counts from here). */
  requestedAt: string;
}

export interface EnsureCertificatesDeps {
  acm: AcmPort;
  log: Logger;
  now: () => Date;
}

export async function ensureCertificates(
  input: { request: ProvisionRequest; runId: string },
  deps: EnsureCertificatesDeps,
): Promise<EnsureCertificatesOutput> {
  const { request } = input;
  const desired = desiredCertificates(request);
  const owned = (await deps.acm.listOwnedCertificates(request.ownerId)).filter((c) => c.tags[TAG_DOMAIN] === request.domain);
  const plan = planCertificates(desired, owned, { ownerId: request.ownerId, domain: request.domain });

  const items: CertificateItem[] = [];
  for (const want of desired) {
    const reuse = plan.reuse.find((r) => r.desired === want);
    if (reuse) {
      items.push({ scope: want.scope, arn: reuse.existing.arn, names: want.names, status: reuse.existing.status, requested: false });
      deps.log.info('certificate exists', { scope: want.scope, arn: reuse.existing.arn, status: reuse.existing.status });
      continue;
    }
    // Our failed certificates for these names: they change the token, so ACM gives a new certificate.
    const retired = owned.filter((c) => c.tags[TAG_NAMES] === want.namesHash && FAILED_STATUSES.has(c.status)).map((c) => c.arn);
    const arn = await deps.acm.requestCertificate({
      domainName: want.domainName,
      subjectAlternativeNames: want.subjectAlternativeNames,
      tags: certificateTags(want, { ownerId: request.ownerId, domain: request.domain }),
      idempotencyToken: idempotencyToken(request.ownerId, want, retired),
    });
    deps.log.info('certificate requested', { scope: want.scope, arn, names: want.names, runId: input.runId, replacing: retired });
    items.push({ scope: want.scope, arn, names: want.names, status: 'PENDING_VALIDATION', requested: true });
  }
  const ownedArns = [...new Set([...owned.map((c) => c.arn), ...items.map((i) => i.arn)])];
  return { items, ownedArns, requestedAt: deps.now().toISOString() };
}
