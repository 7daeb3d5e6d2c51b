/**
 * PublishValidationRecords: the CNAMEs ACM asks for, in one Route 53 batch.
 *
 * `x` and `*.x` share one record, and two certificates can share one too, so
 * records are de-duplicated by name. A record already in the zone with
 * exactly ACM's value is not written again (a rerun, or a run that adds one
 * namespace to 500, writes only the new ones); UPSERT makes the step safe to
 * repeat when a write is needed.
 * ACM publishes the records a few seconds after the request: until then the
 * step throws ValidationRecordsNotReady, which the state machine retries.
 */
import { ValidationRecordsNotReadyError } from '../errors';
import type { Logger } from '../log';
import type { AcmPort, RecordChange, Route53Port } from '../ports';
import type { ProvisionRequest } from '../request';
import { uniqueValidationRecords, validationRecordsToWrite } from '../plan/certificates';
import { splitIntoBatches } from '../plan/records';
import type { EnsureCertificatesOutput } from './ensureCertificates';

/** TTL of validation records (CDK's choice; ACM rechecks them at renewal). */
export const VALIDATION_TTL = 300;

export interface PublishValidationRecordsOutput {
  changeId: string | null;
  /** Every batch's change, when the records needed several (Route 53's 1,000-record and 32,000-character limits). */
  changeIds?: string[];
  /** The records, up to {@link MAX_LISTED_VALIDATION_RECORDS}; `count` says how many there were. */
  records: Array<{ name: string; value: string }>;
  count?: number;
}

/** Above this many validation records the output lists none (the state stays far under 256 KiB); `count` has the number. */
export const MAX_LISTED_VALIDATION_RECORDS = 100;

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
  // What the zone holds already (one pass over the names' part of the zone, shared/aws/route53.ts).
  const present = await deps.route53.listRecordsNamed(
    input.request.hostedZoneId,
    records.map((r) => r.name),
  );
  const toWrite = validationRecordsToWrite(records, present);
  const listed = records.length > MAX_LISTED_VALIDATION_RECORDS ? [] : records.map((r) => ({ name: r.name, value: r.value }));
  const counted = listed.length < records.length ? { count: records.length } : {};
  if (toWrite.length === 0) {
    deps.log.info('validation records already published', { count: records.length });
    return { changeId: null, records: listed, ...counted };
  }
  const changes: RecordChange[] = toWrite.map((r) => ({
    action: 'UPSERT',
    record: { name: r.name, type: 'CNAME', ttl: VALIDATION_TTL, values: [r.value] },
  }));
  // One record per group: validation records stand alone.
  const batches = splitIntoBatches(changes.map((c) => [c]));
  const changeIds: string[] = [];
  for (const [i, batch] of batches.entries()) {
    const { changeId } = await deps.route53.changeRecords(
      input.request.hostedZoneId,
      batch,
      `kserve-edge: ACM DNS validation for ${input.request.domain}${batches.length > 1 ? ` (${i + 1}/${batches.length})` : ''}`,
    );
    changeIds.push(changeId);
  }
  deps.log.info('validation records published', { changeIds, count: records.length, written: toWrite.length });
  return {
    changeId: changeIds[0]!,
    ...(changeIds.length > 1 ? { changeIds } : {}),
    records: listed,
    ...counted,
  };
}
