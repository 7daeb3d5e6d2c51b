/**
 * CheckCertificates: are all certificates Issued yet?
 *
 * A pure check with `now` injected; the state machine waits `waitSeconds`
 * between calls (growing interval, shared/plan/polling.ts).
 */
import { CertificateTimeoutError, CertificateValidationFailedError } from '../errors';
import type { Logger } from '../log';
import type { AcmPort, CertificateStatus } from '../ports';
import type { ProvisionRequest } from '../request';
import { FAILED_STATUSES } from '../plan/certificates';
import { nextPollDelay, secondsSince, type PollResult } from '../plan/polling';
import type { EnsureCertificatesOutput } from './ensureCertificates';

/** Above this many certificates the output lists only those not ISSUED (Step Functions' 256 KiB state). */
export const MAX_LISTED_STATUSES = 100;

export interface CheckCertificatesOutput extends PollResult {
  /** Every certificate's status; above {@link MAX_LISTED_STATUSES} only those not ISSUED (`issued` counts the rest). */
  statuses: Array<{ arn: string; status: CertificateStatus }>;
  issued?: number;
}

export async function checkCertificates(
  input: { request: ProvisionRequest; certificates: EnsureCertificatesOutput },
  deps: { acm: AcmPort; log: Logger; now: () => Date },
): Promise<CheckCertificatesOutput> {
  const details = await Promise.all(input.certificates.items.map((c) => deps.acm.describeCertificate(c.arn)));
  const failed = details.find((d) => FAILED_STATUSES.has(d.status));
  if (failed) {
    throw new CertificateValidationFailedError(
      `certificate ${failed.arn} (${failed.names.join(', ')}) is ${failed.status}${failed.failureReason ? `: ${failed.failureReason}` : ''}; ` +
        'check that the validation CNAMEs resolve publicly, then run again (a new certificate is requested)',
    );
  }
  const all = details.map((d) => ({ arn: d.arn, status: d.status }));
  const big = all.length > MAX_LISTED_STATUSES;
  const statuses = big ? all.filter((d) => d.status !== 'ISSUED') : all;
  const counts = big ? { issued: all.length - statuses.length } : {};
  const elapsedSeconds = secondsSince(input.certificates.requestedAt, deps.now());
  const deadline = input.request.deadlines.certificateSeconds;
  if (details.every((d) => d.status === 'ISSUED')) {
    deps.log.info('certificates issued', { count: details.length, elapsedSeconds });
    return { ready: true, waitSeconds: 0, elapsedSeconds, statuses, ...counts };
  }
  if (elapsedSeconds > deadline) {
    const pending = details.filter((d) => d.status !== 'ISSUED').map((d) => d.arn);
    throw new CertificateTimeoutError(
      `certificates still not issued after ${elapsedSeconds}s (deadline ${deadline}s): ${pending.join(', ')}`,
    );
  }
  const waitSeconds = nextPollDelay(elapsedSeconds, deadline);
  deps.log.info('waiting for certificates', { pending: details.filter((d) => d.status !== 'ISSUED').length, elapsedSeconds, waitSeconds });
  return { ready: false, waitSeconds, elapsedSeconds, statuses, ...counts };
}
