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
  // Every batch of the step (several when the records exceeded one batch); the first one still PENDING decides.
  const ids = input.dns.changeIds ?? [input.dns.changeId];
  let status: string = 'INSYNC';
  let pendingId = ids[0]!;
  for (const id of ids) {
    status = await deps.route53.getChange(id);
    pendingId = id;
    if (status !== 'INSYNC') break;
  }
  if (status === 'INSYNC') return { ready: true, waitSeconds: 0, elapsedSeconds, status };
  const deadline = input.request.deadlines.dnsSeconds;
  if (elapsedSeconds > deadline) {
    throw new DnsChangeTimeoutError(`Route 53 change ${pendingId} still ${status} after ${elapsedSeconds}s (deadline ${deadline}s)`);
  }
  const waitSeconds = nextPollDelay(elapsedSeconds, deadline);
  deps.log.info('waiting for DNS change', { changeId: pendingId, status, waitSeconds });
  return { ready: false, waitSeconds, elapsedSeconds, status };
}
