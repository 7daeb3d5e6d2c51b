/**
 * PublishValidationRecords: the CNAMEs ACM asks for, in one Route 53 batch.
 *
 * `x` and `*.x` share one record, and two certificates can share one too, so
 * records are de-duplicated by name. UPSERT makes the step safe to repeat.
 * ACM publishes the records a few seconds after the request: until then the
 * step throws ValidationRecordsNotReady, which the state machine retries.
 */
import { ValidationRecordsNotReadyError } from '../errors';
import type { Logger } from '../log';
import type { AcmPort, RecordChange, Route53Port } from '../ports';
import type { ProvisionRequest } from '../request';
import { uniqueValidationRecords } from '../plan/certificates';
import type { EnsureCertificatesOutput } from './ensureCertificates';

/** TTL of validation records (CDK's choice; ACM rechecks them at renewal). */
export const VALIDATION_TTL = 300;

export interface PublishValidationRecordsOutput {
  changeId: string | null;
  records: Array<{ name: string; value: string }>;
}

export async function publishValidationRecords(
  input: { request: ProvisionRequest & { hostedZoneId: string }; certificates: EnsureCertificatesOutput },
  deps: { acm: AcmPort; route53: Route53Port; log: Logger },
): Promise<PublishValidationRecordsOutput> {
  const details = await Promise.all(input.certificates.items.map((c) => deps.acm.describeCertificate(c.arn)));
  const missing = details.flatMap((d) => (d.status === 'PENDING_VALIDATION' ? d.namesWithoutRecord : []));
  if (missing.length > 0) {
    throw new ValidationRecordsNotReadyError(`ACM has not published the validation records for ${missing.join(', ')} yet`);
  }
  const records = uniqueValidationRecords(details);
  if (records.length === 0) return { changeId: null, records: [] };
  const changes: RecordChange[] = records.map((r) => ({
    action: 'UPSERT',
    record: { name: r.name, type: 'CNAME', ttl: VALIDATION_TTL, values: [r.value] },
  }));
  const { changeId } = await deps.route53.changeRecords(
    input.request.hostedZoneId,
    changes,
    `kserve-edge: ACM DNS validation for ${input.request.domain}`,
  );
  deps.log.info('validation records published', { changeId, count: records.length });
  return { changeId, records: records.map((r) => ({ name: r.name, value: r.value })) };
}
