/** `kserve-edge status`: the pure reducer over the reads (shared/plan/status.ts). */
import type { CertificateDetail, ExecutionSummary, RecordSet } from '../../../shared/ports';
import { executionName } from '../../../shared/plan/lifecycle';
import { certificateId, runsOf, statusReport, type StatusReads } from '../../../shared/plan/status';
import { request } from '../../fixtures/requests';

const NOW = new Date('2026-12-02T08:00:00Z');
const ALB = 'k8s-istiosys-istioing-0123456789-1.us-west-2.elb.amazonaws.com';
const DOMAIN = 'platform.example.com';
const ARN_A = 'arn:aws:acm:us-west-2:111122223333:certificate/aaaa-1111';
const ARN_B = 'arn:aws:acm:us-west-2:111122223333:certificate/bbbb-2222';

function cert(arn: string, namespaces: string[], extra: Partial<CertificateDetail> = {}): CertificateDetail {
  return {
    arn,
    domainName: `*.${DOMAIN}`,
    names: [`*.${DOMAIN}`, ...namespaces.map((n) => `*.${n}.${DOMAIN}`)],
    status: 'ISSUED',
    validationRecords: [],
    namesWithoutRecord: [],
    inUseBy: [],
    tags: { 'kserve-edge:owner': 'kserve-edge', 'kserve-edge:domain': DOMAIN },
    notAfter: '2027-12-02T08:00:00Z',
    ...extra,
  };
}

const cname = (ns: string, target = ALB): RecordSet => ({ name: `*.${ns}.${DOMAIN}`, type: 'CNAME', ttl: 300, values: [target] });

const req = request({ namespaces: ['team-a', 'team-b'] });

/** Everything green for team-a and team-b. */
function healthy(): StatusReads {
  return {
    certificates: [cert(ARN_A, ['team-a', 'team-b'])],
    albHostname: ALB,
    listenerCertificates: [ARN_A],
    records: [cname('team-a'), cname('team-b')],
    namespaceUids: new Map([
      ['team-a', 'uid-a'],
      ['team-b', 'uid-b'],
    ]),
  };
}

describe('statusReport', () => {
  it('every check passes: each row healthy with certificate id, days to expiry, listener, record → ALB', () => {
    const report = statusReport(req, healthy(), NOW);
    expect(report.healthy).toBe(true);
    expect(report.loadBalancer).toBe(ALB);
    expect(report.namespaces[0]).toEqual({
      namespace: 'team-a',
      healthy: true,
      problems: [],
      runsKnown: false,
      certificate: { arn: ARN_A, id: 'aaaa-1111', status: 'ISSUED', daysToExpiry: 365, onListener: true },
      record: { name: `*.team-a.${DOMAIN}`, type: 'CNAME', target: ALB, targetIsAlb: true },
    });
  });

  it('a deleted record makes only that namespace unhealthy', () => {
    const reads = { ...healthy(), records: [cname('team-b')] };
    const report = statusReport(req, reads, NOW);
    expect(report.healthy).toBe(false);
    expect(report.namespaces.map((n) => [n.namespace, n.healthy, n.problems])).toEqual([
      ['team-a', false, ['no DNS record']],
      ['team-b', true, []],
    ]);
  });

  it('a record that points at an old ALB, a certificate off the listener, one about to expire', () => {
    const reads: StatusReads = {
      ...healthy(),
      certificates: [cert(ARN_A, ['team-a']), cert(ARN_B, ['team-b'], { notAfter: '2026-12-12T08:00:00Z' })],
      listenerCertificates: [ARN_B],
      records: [cname('team-a', 'k8s-old-alb.us-west-2.elb.amazonaws.com'), cname('team-b')],
    };
    const [a, b] = statusReport(req, reads, NOW).namespaces;
    expect(a?.problems).toEqual(['certificate not on the listener', 'record does not point at the ALB']);
    expect(a?.record?.targetIsAlb).toBe(false);
    expect(b?.problems).toEqual(['certificate expires in 10 days']);
    expect(b?.certificate?.daysToExpiry).toBe(10);
  });

  it('an ALIAS record to dualstack.<alb> is the ALB', () => {
    const alias: RecordSet = {
      name: `*.team-a.${DOMAIN}`,
      type: 'A',
      alias: { hostedZoneId: 'Z1H1FL5HABSF5', dnsName: `dualstack.${ALB}.`, evaluateTargetHealth: true },
    };
    const row = statusReport(req, { ...healthy(), records: [alias, cname('team-b')] }, NOW).namespaces[0];
    expect(row?.record).toEqual({ name: `*.team-a.${DOMAIN}`, type: 'ALIAS', target: `dualstack.${ALB}`, targetIsAlb: true });
    expect(row?.healthy).toBe(true);
  });

  it('no certificate, no load balancer: named, not guessed', () => {
    const reads: StatusReads = { certificates: [], records: [], namespaceUids: new Map() };
    const row = statusReport(req, reads, NOW).namespaces[0];
    expect(row?.problems).toEqual(['no certificate of ours', 'no load balancer yet', 'no DNS record']);
    expect(row?.certificate).toBeUndefined();
  });

  it('a certificate of another domain or owner does not count; a pending one is named', () => {
    const reads: StatusReads = {
      ...healthy(),
      certificates: [
        cert(ARN_B, ['team-a'], { tags: { 'kserve-edge:owner': 'kserve-edge', 'kserve-edge:domain': 'other.example.com' } }),
        cert(ARN_A, ['team-a', 'team-b'], { status: 'PENDING_VALIDATION', notAfter: undefined }),
      ],
    };
    const row = statusReport(req, reads, NOW).namespaces[0];
    expect(row?.certificate).toEqual({ arn: ARN_A, id: 'aaaa-1111', status: 'PENDING_VALIDATION', onListener: true });
    expect(row?.problems).toEqual(['certificate PENDING_VALIDATION']);
  });

  it('the last automatic run: the newest of the namespace (retries included); FAILED is unhealthy', () => {
    const base = executionName('ns', 'team-a', 'uid-a');
    const executions: ExecutionSummary[] = [
      { name: base, status: 'SUCCEEDED', startDate: '2026-12-01T08:00:00.000Z', stopDate: '2026-12-01T08:05:00.000Z' },
      { name: `${base}-r1x`, status: 'FAILED', startDate: '2026-12-02T07:00:00.000Z', stopDate: '2026-12-02T07:03:00.000Z' },
      { name: executionName('ns', 'team-b', 'uid-b'), status: 'SUCCEEDED', startDate: '2026-12-02T07:30:00.000Z' },
      // Another namespace whose name starts the same way is not team-a's.
      { name: executionName('ns', 'team-a-b', 'uid-x'), status: 'FAILED', startDate: '2026-12-02T07:59:00.000Z' },
    ];
    const [a, b] = statusReport(req, { ...healthy(), executions }, NOW).namespaces;
    expect(a?.lastRun).toMatchObject({ name: `${base}-r1x`, status: 'FAILED' });
    expect(a?.problems).toEqual(['last run FAILED']);
    expect(b?.lastRun?.status).toBe('SUCCEEDED');
    expect(b?.healthy).toBe(true);
    expect(runsOf('team-c', undefined, executions)).toEqual([]);
  });

  it('no state machine configured: no run looked up, not unhealthy', () => {
    const row = statusReport(req, healthy(), NOW).namespaces[0];
    expect(row?.runsKnown).toBe(false);
    expect(row?.lastRun).toBeUndefined();
    const none = statusReport(req, { ...healthy(), executions: [] }, NOW).namespaces[0];
    expect(none?.runsKnown).toBe(true);
    expect(none?.healthy).toBe(true);
  });

  it('the canary: ok rows keep status and latency; a failure is a problem with its kind', () => {
    const canary = [
      { namespace: 'team-a', ok: true, status: 200, latencyMs: 41.6 },
      { namespace: 'team-b', ok: false, status: 503, latencyMs: 12, failureKind: 'http', message: 'HTTP 503 from the model' },
    ];
    const [a, b] = statusReport(req, { ...healthy(), canary }, NOW).namespaces;
    expect(a?.canary).toEqual({ ok: true, status: 200, latencyMs: 42 });
    expect(b?.canary).toEqual({ ok: false, status: 503, latencyMs: 12, message: 'HTTP 503 from the model' });
    expect(b?.problems).toEqual(['canary failed (http)']);
  });

  it('certificateId is the part after certificate/', () => {
    expect(certificateId(ARN_A)).toBe('aaaa-1111');
    expect(certificateId('not-an-arn')).toBe('not-an-arn');
  });
});
