/**
 * `kserve-edge status`: one row per namespace with what an operator asks
 * first, reduced from reads of ACM, ELBv2, Route 53, Step Functions, the
 * cluster and a live canary round. Pure: the reads happen in
 * shared/steps/status.ts; this file only decides what they mean.
 *
 * A namespace is healthy when every check that ran passed:
 *
 * | check        | healthy when                                                             |
 * |--------------|--------------------------------------------------------------------------|
 * | certificate  | one of ours covers `*.<ns>.<domain>`, ISSUED, not expired                 |
 * | listener     | that certificate is on the ALB's HTTPS:443 listener                       |
 * | record       | `*.<ns>.<domain>` exists and points at the ALB's current DNS name          |
 * | last run     | the newest automatic run is not FAILED, TIMED_OUT or ABORTED (when known)  |
 * | canary       | the live probe passed (unless skipped)                                    |
 *
 * A check that could not run (no state machine configured, `--no-canary`) is
 * `undefined` and shown as a dash; it does not make the row unhealthy.
 */
import type { CertificateDetail, CertificateStatus, ExecutionSummary, RecordSet } from '../ports';
import { namespaceWildcard, type ProvisionRequest } from '../request';
import { certificatesFor, executionName } from './lifecycle';
import { desiredRecord, recordsNamed } from './records';

/** Days before expiry under which a row says so (ACM renews managed certificates 60 days before). */
export const EXPIRY_WARNING_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the reducer needs of one canary probe (shared/canary/probe.ts ProbeResult has these fields). */
export interface CanaryProbeView {
  namespace: string;
  ok: boolean;
  status?: number;
  message?: string;
  failureKind?: string;
  latencyMs: number;
}

/** Everything read for one status report (the reads of shared/steps/status.ts). */
export interface StatusReads {
  /** Our certificates (owner tag), any domain. */
  certificates: readonly CertificateDetail[];
  /** `status.loadBalancer.ingress[0].hostname` of the Ingress, if any. */
  albHostname?: string;
  /** Certificates on the ALB's HTTPS:443 listener; `undefined` when there is no ALB or no such listener. */
  listenerCertificates?: readonly string[];
  /** Every record set named `*.<ns>.<domain>` of the request's namespaces. */
  records: readonly RecordSet[];
  /** Namespace name → uid, for the execution names of the automatic runs. */
  namespaceUids: ReadonlyMap<string, string>;
  /** Recent runs of the provisioning state machine; `undefined` when none is configured. */
  executions?: readonly ExecutionSummary[];
  /** The canary round's results; `undefined` when skipped. */
  canary?: readonly CanaryProbeView[];
}

/** One namespace's row. JSON-serialisable (`--json`). */
export interface NamespaceStatus {
  namespace: string;
  healthy: boolean;
  /** What is wrong, one short phrase each (empty when healthy). */
  problems: string[];
  certificate?: {
    arn: string;
    /** The certificate id (the ARN after `certificate/`). */
    id: string;
    status: CertificateStatus;
    /** Whole days to `notAfter`; negative once expired; absent while not issued. */
    daysToExpiry?: number;
    onListener?: boolean;
  };
  record?: {
    name: string;
    type: string;
    target: string;
    /** The target is the ALB's current DNS name (CNAME) or its `dualstack.` alias. */
    targetIsAlb?: boolean;
  };
  /** The newest automatic provisioning run of the namespace, if a state machine is configured and has one. */
  lastRun?: ExecutionSummary;
  /** Whether automatic runs were looked up at all (a state machine is configured). */
  runsKnown: boolean;
  canary?: { ok: boolean; status?: number; message?: string; latencyMs: number };
}

/** The whole report. */
export interface StatusReport {
  domain: string;
  /** The ALB's DNS name as the Ingress's status has it. */
  loadBalancer?: string;
  /** The ALB has an HTTPS:443 listener ELBv2 could read. */
  listenerFound: boolean;
  namespaces: NamespaceStatus[];
  healthy: boolean;
}

/** `…:certificate/<id>` → `<id>`. */
export function certificateId(arn: string): string {
  const i = arn.indexOf('certificate/');
  return i >= 0 ? arn.slice(i + 'certificate/'.length) : arn;
}

const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** Prefers an ISSUED certificate, then the one that expires last. */
function pickCertificate(candidates: readonly CertificateDetail[]): CertificateDetail | undefined {
  return [...candidates].sort((a, b) => {
    const issued = Number(b.status === 'ISSUED') - Number(a.status === 'ISSUED');
    if (issued !== 0) return issued;
    return Date.parse(b.notAfter ?? '') - Date.parse(a.notAfter ?? '') || 0;
  })[0];
}

/**
 * The automatic runs of a namespace: `executionName('ns', ns, uid)` and its
 * retries (`<that>-<period>`), newest first; the static form for a namespace
 * the cluster does not list.
 */
export function runsOf(namespace: string, uid: string | undefined, executions: readonly ExecutionSummary[]): ExecutionSummary[] {
  const base = executionName('ns', namespace, uid ?? `static:${namespace}`);
  return executions
    .filter((e) => e.name === base || e.name.startsWith(`${base}-`))
    .sort((a, b) => Date.parse(b.startDate ?? '') - Date.parse(a.startDate ?? ''));
}

function recordTarget(record: RecordSet): string {
  return record.alias?.dnsName ?? record.values?.[0] ?? '';
}

/** One namespace's row. Pure. */
export function namespaceStatus(request: ProvisionRequest, namespace: string, reads: StatusReads, now: Date): NamespaceStatus {
  const problems: string[] = [];
  const row: NamespaceStatus = { namespace, healthy: false, problems, runsKnown: reads.executions !== undefined };

  const cert = pickCertificate(certificatesFor(reads.certificates, request.domain, namespace));
  if (!cert) problems.push('no certificate of ours');
  else {
    row.certificate = { arn: cert.arn, id: certificateId(cert.arn), status: cert.status };
    if (cert.notAfter) row.certificate.daysToExpiry = Math.floor((Date.parse(cert.notAfter) - now.getTime()) / DAY_MS);
    if (cert.status !== 'ISSUED') problems.push(`certificate ${cert.status}`);
    else if (row.certificate.daysToExpiry !== undefined && row.certificate.daysToExpiry < 0) problems.push('certificate expired');
    else if (row.certificate.daysToExpiry !== undefined && row.certificate.daysToExpiry < EXPIRY_WARNING_DAYS)
      problems.push(`certificate expires in ${row.certificate.daysToExpiry} days`);
    if (reads.listenerCertificates !== undefined) {
      row.certificate.onListener = reads.listenerCertificates.includes(cert.arn);
      if (!row.certificate.onListener) problems.push('certificate not on the listener');
    }
  }
  if (reads.listenerCertificates === undefined) problems.push(reads.albHostname ? 'no HTTPS:443 listener found' : 'no load balancer yet');

  const name = namespaceWildcard(request, namespace);
  const record = recordsNamed(reads.records, name).find((r) => r.type === 'CNAME' || r.type === 'A' || r.type === 'AAAA');
  if (!record) problems.push('no DNS record');
  else {
    row.record = { name, type: record.alias ? 'ALIAS' : record.type, target: recordTarget(record).replace(/\.$/, '') };
    if (reads.albHostname) {
      const want = recordTarget(
        desiredRecord({ ...request, dns: { ...request.dns, recordType: record.alias ? 'ALIAS' : 'CNAME' } }, namespace, reads.albHostname),
      );
      row.record.targetIsAlb = norm(row.record.target) === norm(want);
      if (!row.record.targetIsAlb) problems.push('record does not point at the ALB');
    }
  }

  if (reads.executions !== undefined) {
    const last = runsOf(namespace, reads.namespaceUids.get(namespace), reads.executions)[0];
    if (last) {
      row.lastRun = last;
      if (last.status === 'FAILED' || last.status === 'TIMED_OUT' || last.status === 'ABORTED') problems.push(`last run ${last.status}`);
    }
  }

  const probe = reads.canary?.find((r) => r.namespace === namespace);
  if (probe) {
    row.canary = { ok: probe.ok, latencyMs: Math.round(probe.latencyMs) };
    if (probe.status !== undefined) row.canary.status = probe.status;
    if (!probe.ok) {
      row.canary.message = probe.message ?? probe.failureKind ?? 'failed';
      problems.push(`canary failed (${probe.failureKind ?? 'unknown'})`);
    }
  }
  row.healthy = problems.length === 0;
  return row;
}

/** The report for every namespace of the request. Pure. */
export function statusReport(request: ProvisionRequest, reads: StatusReads, now: Date): StatusReport {
  const namespaces = request.namespaces.map((ns) => namespaceStatus(request, ns, reads, now));
  const report: StatusReport = {
    domain: request.domain,
    listenerFound: reads.listenerCertificates !== undefined,
    namespaces,
    healthy: namespaces.every((n) => n.healthy),
  };
  if (reads.albHostname) report.loadBalancer = reads.albHostname;
  return report;
}
