/** CheckDnsChange: has Route 53 applied the change on all its servers (INSYNC)? */
import { DnsChangeTimeoutError } from '../errors';
import type { Logger } from '../log';
import type { Route53Port } from '../ports';
import type { ProvisionRequest } from '../request';
import { nextPollDelay, secondsSince, type PollResult } from '../plan/polling';
import type { UpsertDnsRecordsOutput } from './upsertDnsRecords';

export async function checkDnsChange(
  input: { request: ProvisionRequest; dns: UpsertDnsRecordsOutput },
  deps: { route53: Route53Port; log: Logger; now: () => Date },
): Promise<PollResult & { status: string }> {
  const elapsedSeconds = secondsSince(input.dns.submittedAt, deps.now());
  if (!input.dns.changeId) return { ready: true, waitSeconds: 0, elapsedSeconds, status: 'NO_CHANGE' };
  const status = await deps.route53.getChange(input.dns.changeId);
  if (status === 'INSYNC') return { ready: true, waitSeconds: 0, elapsedSeconds, status };
  const deadline = input.request.deadlines.dnsSeconds;
  if (elapsedSeconds > deadline) {
    throw new DnsChangeTimeoutError(
      `Route 53 change ${input.dns.changeId} still ${status} after ${elapsedSeconds}s (deadline ${deadline}s)`,
    );
  }
  const waitSeconds = nextPollDelay(elapsedSeconds, deadline);
  deps.log.info('waiting for DNS change', { changeId: input.dns.changeId, status, waitSeconds });
  return { ready: false, waitSeconds, elapsedSeconds, status };
}
