/**
 * ACM adapter: the calls the certificate steps make.
 *
 * Our certificates are found by their owner tag through the Resource Groups
 * Tagging API (GetResources), which answers with the tags: one call per 100
 * of ours, then one DescribeCertificate per certificate of ours, however many
 * other certificates the region holds. (Reading the tags of every certificate
 * in the region took one call per certificate: ~480 certificates exceeded a
 * Lambda's 60 s.) ACM allows DescribeCertificate at 10/s; describes fan out
 * with a small concurrency cap and are paced.
 *
 * The tagging API is eventually consistent: a certificate tagged seconds ago
 * may not be listed yet. See {@link AcmAdapter.listOwnedCertificates} for why
 * that is safe for the callers.
 */
import {
  type ACMClient,
  type CertificateDetail as AwsCertificateDetail,
  type CertificateStatus as AwsCertificateStatus,
  type KeyAlgorithm,
  type CertificateSummary,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  RequestCertificateCommand,
} from '@aws-sdk/client-acm';
import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { AcmPort, CertificateDetail, CertificateStatus, RequestCertificateInput, ValidationRecord } from '../ports';
import { TAG_OWNER } from '../ownership';
import { isAwsError, mapAwsError, withAws } from './errors';
import { ACM_QUOTAS, ACM_RATES, paceClient, RateLimiter } from './rateLimit';

/** Every status except none: an owned certificate in any state must be found (to reuse, replace or delete it). */
export const ALL_CERTIFICATE_STATUSES: AwsCertificateStatus[] = [
  'PENDING_VALIDATION',
  'ISSUED',
  'FAILED',
  'VALIDATION_TIMED_OUT',
  'EXPIRED',
  'INACTIVE',
  'REVOKED',
];

/**
 * ListCertificates returns only RSA_2048 certificates unless told otherwise;
 * we ask for every key type so a certificate someone re-requested with another
 * algorithm is still seen as ours.
 */
const ALL_KEY_TYPES: KeyAlgorithm[] = ['RSA_1024', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'EC_prime256v1', 'EC_secp384r1', 'EC_secp521r1'];

/** Parallel per-certificate calls; well under ACM's 10 rps for Describe/ListTags. */
const FAN_OUT = 4;

function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Converts ACM's `CertificateDetail` into the port's shape.
 *
 * `x` and `*.x` get the same validation CNAME from ACM; it is listed once so a
 * Route 53 batch never carries the same record twice (aws-cdk#9248).
 */
export function toCertificateDetail(cert: AwsCertificateDetail, tags: Record<string, string>): CertificateDetail {
  const validationRecords: ValidationRecord[] = [];
  const seen = new Set<string>();
  const namesWithoutRecord: string[] = [];
  for (const dv of cert.DomainValidationOptions ?? []) {
    const rr = dv.ResourceRecord;
    if (rr?.Name && rr.Value) {
      const name = stripDot(rr.Name);
      const key = name.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      // The value keeps ACM's trailing dot: it is what goes into Route 53 verbatim.
      validationRecords.push({ name, type: 'CNAME', value: rr.Value });
    } else if (dv.DomainName) {
      namesWithoutRecord.push(dv.DomainName);
    }
  }
  const domainName = cert.DomainName ?? '';
  const names = cert.SubjectAlternativeNames?.length ? [...cert.SubjectAlternativeNames] : domainName ? [domainName] : [];
  if (domainName && !names.includes(domainName)) names.unshift(domainName);
  // Right after RequestCertificate, ACM may answer with no DomainValidationOptions
  // at all (or fewer entries than names): that is "not published yet", not
  // "nothing to publish". Every name needs an entry with its record.
  const withRecord = new Set(
    (cert.DomainValidationOptions ?? []).filter((dv) => dv.ResourceRecord?.Name && dv.ResourceRecord.Value).map((dv) => dv.DomainName),
  );
  for (const name of names) {
    if (!withRecord.has(name) && !namesWithoutRecord.includes(name)) namesWithoutRecord.push(name);
  }
  const detail: CertificateDetail = {
    arn: cert.CertificateArn ?? '',
    domainName,
    names,
    status: (cert.Status ?? 'PENDING_VALIDATION') as CertificateStatus,
    validationRecords,
    namesWithoutRecord,
    inUseBy: [...(cert.InUseBy ?? [])],
    tags,
  };
  if (cert.FailureReason) detail.failureReason = cert.FailureReason;
  if (cert.NotAfter) detail.notAfter = cert.NotAfter.toISOString();
  if (cert.CreatedAt) detail.createdAt = cert.CreatedAt.toISOString();
  return detail;
}

/** One per process: every ACM adapter in a Lambda container draws from the same quotas. */
const sharedAcmLimiter = new RateLimiter({ perSecond: ACM_RATES, quota: ACM_QUOTAS });

/**
 * {@link AcmPort} over the AWS SDK.
 *
 * @example
 *   const acm = new AcmAdapter(acmClient(config, 'us-west-2'), taggingClient(config, 'us-west-2'));
 *   const mine = await acm.listOwnedCertificates('prod-kubeflow');
 */
export class AcmAdapter implements AcmPort {
  /**
   * @param tagging Resource Groups Tagging API client of the same region:
   * finds our certificates by tag. Only {@link listOwnedCertificates} needs
   * it; functions that only describe certificates leave it out.
   * @param limiter paces calls to ACM's per-second quotas; one per process by
   * default, so every adapter in a Lambda shares it.
   */
  constructor(
    private readonly client: ACMClient,
    private readonly tagging?: ResourceGroupsTaggingAPIClient,
    limiter: RateLimiter = sharedAcmLimiter,
  ) {
    paceClient(client, limiter, 'kserveEdgeAcmPacing');
  }

  /**
   * Every certificate tagged `kserve-edge:owner=<ownerId>`, any status, with
   * tags and details: GetResources (filtered by the tag, resource type
   * `acm:certificate`, all pages) gives the ARNs and their tags, then only
   * those are described.
   *
   * The tagging API is eventually consistent: a certificate tagged seconds
   * ago (RequestCertificate carries the tags) may be missing for a while, and
   * one deleted seconds ago may still be listed. What that means for callers:
   *
   * - EnsureCertificates may not see a certificate that a retry of the same
   *   run, or a racing run, requested moments ago, and request it again. The
   *   request carries the same IdempotencyToken (a function of the owner and
   *   the name set, `shared/plan/certificates.ts`), which ACM honours for an
   *   hour, so the same ARN comes back and no duplicate is made. The lag is
   *   seconds to minutes, well inside that hour.
   * - A certificate still listed after its deletion answers ResourceNotFound
   *   to DescribeCertificate and is skipped.
   * - Deprovisioning racing a provisioning run may miss a certificate tagged
   *   seconds ago. It stays tagged ours, so the next sweep sees a namespace
   *   with our certificate and deprovisions it again; a foreign certificate
   *   is never touched, since only what carries our owner tag is described or
   *   deleted (and IAM requires that tag too).
   */
  async listOwnedCertificates(ownerId: string): Promise<CertificateDetail[]> {
    const owned = await this.taggedCertificates(ownerId);
    const details = await mapLimit(owned, FAN_OUT, (t) => this.describeOrGone(t.arn, t.tags));
    return details.filter((d): d is CertificateDetail => d !== undefined);
  }

  /** ARNs and tags of the certificates carrying our owner tag, every page of GetResources (100 per page). */
  private async taggedCertificates(ownerId: string): Promise<Array<{ arn: string; tags: Record<string, string> }>> {
    const tagging = this.tagging;
    if (!tagging)
      throw new Error('AcmAdapter: listing our certificates needs a Resource Groups Tagging API client (wiring/clients.ts taggingClient)');
    const out: Array<{ arn: string; tags: Record<string, string> }> = [];
    let token: string | undefined;
    do {
      const page = await withAws('tag:GetResources', () =>
        tagging.send(
          new GetResourcesCommand({
            TagFilters: [{ Key: TAG_OWNER, Values: [ownerId] }],
            ResourceTypeFilters: ['acm:certificate'],
            ResourcesPerPage: 100,
            PaginationToken: token,
          }),
        ),
      );
      for (const mapping of page.ResourceTagMappingList ?? []) {
        if (!mapping.ResourceARN) continue;
        const tags: Record<string, string> = {};
        for (const t of mapping.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
        // The filter already did this; checking again costs nothing and keeps a foreign certificate out
        // whatever the service answers.
        if (tags[TAG_OWNER] === ownerId) out.push({ arn: mapping.ResourceARN, tags });
      }
      // GetResources ends with an empty string, not an absent token.
      token = page.PaginationToken || undefined;
    } while (token);
    return out;
  }

  /**
   * Every certificate in the region with the names its list summary carries
   * (DomainName + SubjectAlternativeNameSummaries): no per-certificate call,
   * so foreign certificates are seen without permission to describe them.
   */
  async listAllCertificateNames(): Promise<Array<{ arn: string; names: string[] }>> {
    return (await this.listSummaries()).map((s) => ({
      arn: s.CertificateArn as string,
      names: [...new Set([s.DomainName ?? '', ...(s.SubjectAlternativeNameSummaries ?? [])].filter((n) => n !== ''))],
    }));
  }

  /** Every certificate summary in the region, any status and key type, all pages (ListCertificates' 1,000 per page). */
  private async listSummaries(): Promise<CertificateSummary[]> {
    const out: CertificateSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await withAws('acm:ListCertificates', () =>
        this.client.send(
          new ListCertificatesCommand({
            CertificateStatuses: ALL_CERTIFICATE_STATUSES,
            Includes: { keyTypes: ALL_KEY_TYPES },
            MaxItems: 1000,
            NextToken: nextToken,
          }),
        ),
      );
      out.push(...(page.CertificateSummaryList ?? []).filter((s) => s.CertificateArn));
      nextToken = page.NextToken || undefined;
    } while (nextToken);
    return out;
  }

  /** Requests a DNS-validated certificate and returns its ARN. Same token within an hour gives the same ARN. */
  async requestCertificate(input: RequestCertificateInput): Promise<string> {
    const sans = input.subjectAlternativeNames.length > 0 ? input.subjectAlternativeNames : undefined;
    const out = await withAws('acm:RequestCertificate', () =>
      this.client.send(
        new RequestCertificateCommand({
          DomainName: input.domainName,
          SubjectAlternativeNames: sans,
          ValidationMethod: 'DNS',
          IdempotencyToken: input.idempotencyToken,
          Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      ),
    );
    if (!out.CertificateArn) throw new Error('failed to acm:RequestCertificate: no CertificateArn in the answer');
    return out.CertificateArn;
  }

  /** Details and tags of one certificate. */
  async describeCertificate(arn: string): Promise<CertificateDetail> {
    const tags = await withAws('acm:ListTagsForCertificate', () => this.tags(arn));
    return this.describe(arn, tags);
  }

  /** Deletes a certificate; one that is already gone counts as deleted (Step Functions may retry us). */
  async deleteCertificate(arn: string): Promise<void> {
    try {
      await this.client.send(new DeleteCertificateCommand({ CertificateArn: arn }));
    } catch (err) {
      if (isAwsError(err, 'ResourceNotFoundException')) return;
      throw mapAwsError(err, 'acm:DeleteCertificate');
    }
  }

  private async tags(arn: string): Promise<Record<string, string>> {
    const out = await this.client.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
    const tags: Record<string, string> = {};
    for (const t of out.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? '';
    return tags;
  }

  private async describe(arn: string, tags: Record<string, string>): Promise<CertificateDetail> {
    const out = await withAws('acm:DescribeCertificate', () => this.client.send(new DescribeCertificateCommand({ CertificateArn: arn })));
    if (!out.Certificate) throw new Error(`failed to acm:DescribeCertificate: no certificate in the answer for ${arn}`);
    return toCertificateDetail(out.Certificate, tags);
  }

  /** A certificate deleted after GetResources listed it is skipped, not an error. */
  private async describeOrGone(arn: string, tags: Record<string, string>): Promise<CertificateDetail | undefined> {
    try {
      return await this.describe(arn, tags);
    } catch (err) {
      if (isAwsError(err, 'ResourceNotFoundException')) return undefined;
      throw err;
    }
  }
}
