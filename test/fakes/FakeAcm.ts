/**
 * A stateful ACM for step tests. Certificates start PENDING_VALIDATION and
 * move only when the test says so (`issue`, `fail`, `setStatus`), which is
 * how the state machine's wait loop is exercised without clocks.
 *
 * Like real ACM (and unlike moto):
 * - validation records appear only after `recordsAfterDescribes` describes;
 * - `x` and `*.x` get the same CNAME, derived from the base name, and it is
 *   the same for every certificate that covers that name;
 * - DescribeCertificate of an unknown ARN fails; DeleteCertificate of an
 *   unknown ARN is a no-op at the port (the adapter maps ResourceNotFound);
 *   deleting a certificate in use fails with ResourceInUseException.
 */
import { createHash } from 'node:crypto';
import type { AcmPort, CertificateDetail, CertificateStatus, RequestCertificateInput, ValidationRecord } from '../../shared/ports';
import { TAG_OWNER } from '../../shared/ownership';
import { FailureQueue, adapterError } from './awsError';

export interface FakeAcmOptions {
  /** Describes (per certificate) answered without validation records; default 0. */
  recordsAfterDescribes?: number;
  /** Names allowed per certificate (ACM default quota 10). */
  maxNames?: number;
  region?: string;
  accountId?: string;
}

export type AcmCall =
  | { op: 'listOwnedCertificates'; ownerId: string }
  | { op: 'requestCertificate'; input: RequestCertificateInput }
  | { op: 'describeCertificate'; arn: string }
  | { op: 'deleteCertificate'; arn: string };

interface FakeCert {
  arn: string;
  names: string[];
  status: CertificateStatus;
  tags: Record<string, string>;
  describes: number;
  inUseBy: string[];
  failureReason?: string;
  notAfter?: string;
  createdAt: string;
}

const hex = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** The validation CNAME the fake gives for a name: `x` and `*.x` share it. */
export function fakeValidationRecord(name: string): ValidationRecord {
  const base = name.replace(/^\*\./, '').toLowerCase();
  return { name: `_${hex(`name:${base}`)}.${base}`, type: 'CNAME', value: `_${hex(`value:${base}`)}.fake.acm-validations.aws.` };
}

/** In-memory {@link AcmPort}. */
export class FakeAcm implements AcmPort {
  readonly calls: AcmCall[] = [];
  readonly failures = new FailureQueue();
  private readonly certs = new Map<string, FakeCert>();
  private readonly tokens = new Map<string, string>();
  private readonly recordsAfter: number;
  private readonly maxNames: number;
  private readonly arnPrefix: string;
  private next = 1;
  /** Clock for createdAt/notAfter; tests may replace it. */
  now: () => Date = () => new Date('2026-01-01T00:00:00Z');

  constructor(options: FakeAcmOptions = {}) {
    this.recordsAfter = options.recordsAfterDescribes ?? 0;
    this.maxNames = options.maxNames ?? 10;
    this.arnPrefix = `arn:aws:acm:${options.region ?? 'us-west-2'}:${options.accountId ?? '123456789012'}:certificate/`;
  }

  // ------------------------------------------------------------ test controls

  /** Validation succeeded: ISSUED, valid for 13 months. */
  issue(arn: string): void {
    const c = this.cert(arn);
    c.status = 'ISSUED';
    c.notAfter = new Date(this.now().getTime() + 395 * 86400_000).toISOString();
  }

  /** Validation failed with ACM's `FailureReason` (e.g. `CAA_ERROR`). */
  fail(arn: string, reason = 'OTHER'): void {
    const c = this.cert(arn);
    c.status = 'FAILED';
    c.failureReason = reason;
  }

  setStatus(arn: string, status: CertificateStatus): void {
    this.cert(arn).status = status;
  }

  /** Marks the certificate as attached to load balancers (blocks delete). */
  setInUseBy(arn: string, inUseBy: string[]): void {
    this.cert(arn).inUseBy = [...inUseBy];
  }

  /** Adds a certificate someone else made (or one of ours from an earlier run) without a request call. */
  seed(input: { names: string[]; tags?: Record<string, string>; status?: CertificateStatus }): string {
    const arn = this.newArn();
    this.certs.set(arn, {
      arn,
      names: [...input.names],
      status: input.status ?? 'PENDING_VALIDATION',
      tags: { ...(input.tags ?? {}) },
      describes: 0,
      inUseBy: [],
      createdAt: this.now().toISOString(),
    });
    return arn;
  }

  /** ARNs of every certificate that exists. */
  arns(): string[] {
    return [...this.certs.keys()];
  }

  has(arn: string): boolean {
    return this.certs.has(arn);
  }

  // ------------------------------------------------------------ AcmPort

  async listOwnedCertificates(ownerId: string): Promise<CertificateDetail[]> {
    this.calls.push({ op: 'listOwnedCertificates', ownerId });
    this.failures.check('listOwnedCertificates');
    // The real adapter describes every owned certificate, so listing counts as a describe.
    return [...this.certs.values()].filter((c) => c.tags[TAG_OWNER] === ownerId).map((c) => this.detail(c));
  }

  async requestCertificate(input: RequestCertificateInput): Promise<string> {
    this.calls.push({ op: 'requestCertificate', input: structuredClone(input) });
    this.failures.check('requestCertificate');
    const action = 'acm:RequestCertificate';
    if (!/^\w{1,32}$/.test(input.idempotencyToken)) {
      throw adapterError(action, 'ValidationException', 'idempotencyToken must match \\w{1,32}');
    }
    const known = this.tokens.get(input.idempotencyToken);
    if (known && this.certs.has(known)) return known;
    const names = [...new Set([input.domainName, ...input.subjectAlternativeNames])];
    if (names.length > this.maxNames) {
      throw adapterError(action, 'LimitExceededException', `a certificate may have at most ${this.maxNames} names`);
    }
    const arn = this.newArn();
    this.certs.set(arn, {
      arn,
      names,
      status: 'PENDING_VALIDATION',
      tags: { ...input.tags },
      describes: 0,
      inUseBy: [],
      createdAt: this.now().toISOString(),
    });
    this.tokens.set(input.idempotencyToken, arn);
    return arn;
  }

  async describeCertificate(arn: string): Promise<CertificateDetail> {
    this.calls.push({ op: 'describeCertificate', arn });
    this.failures.check('describeCertificate');
    const c = this.certs.get(arn);
    if (!c) throw adapterError('acm:ListTagsForCertificate', 'ResourceNotFoundException', `Could not find certificate ${arn}.`);
    return this.detail(c);
  }

  async deleteCertificate(arn: string): Promise<void> {
    this.calls.push({ op: 'deleteCertificate', arn });
    this.failures.check('deleteCertificate');
    const c = this.certs.get(arn);
    if (!c) return;
    if (c.inUseBy.length > 0) {
      throw adapterError('acm:DeleteCertificate', 'ResourceInUseException', `Certificate ${arn} in use.`);
    }
    this.certs.delete(arn);
  }

  // ------------------------------------------------------------ internals

  private newArn(): string {
    const n = String(this.next++).padStart(12, '0');
    return `${this.arnPrefix}00000000-0000-4000-8000-${n}`;
  }

  private cert(arn: string): FakeCert {
    const c = this.certs.get(arn);
    if (!c) throw new Error(`FakeAcm: no certificate ${arn}`);
    return c;
  }

  private detail(c: FakeCert): CertificateDetail {
    c.describes += 1;
    const published = c.describes > this.recordsAfter;
    const validationRecords: ValidationRecord[] = [];
    const seen = new Set<string>();
    if (published) {
      for (const n of c.names) {
        const r = fakeValidationRecord(n);
        if (!seen.has(r.name)) {
          seen.add(r.name);
          validationRecords.push(r);
        }
      }
    }
    const out: CertificateDetail = {
      arn: c.arn,
      domainName: c.names[0] ?? '',
      names: [...c.names],
      status: c.status,
      validationRecords,
      namesWithoutRecord: published ? [] : [...c.names],
      inUseBy: [...c.inUseBy],
      tags: { ...c.tags },
      createdAt: c.createdAt,
    };
    if (c.failureReason) out.failureReason = c.failureReason;
    if (c.notAfter) out.notAfter = c.notAfter;
    return out;
  }
}
