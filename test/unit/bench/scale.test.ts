/**
 * The scale bench's own arithmetic and report (bench/scale.ts): when the
 * poll schedule sees a certificate, which deployment a new namespace is
 * measured on, and that the report gives both layouts' figures.
 */
import { certificateSeen, newNamespaceSize, scaleMarkdown, type NewNamespace, type ScaleRun } from '../../../bench/scale';
import { nextPollDelay } from '../../../shared/plan/polling';

const run = (namespaces: number, layout: 'nested' | 'flat'): ScaleRun =>
  ({
    namespaces,
    layout,
    shards: layout === 'flat' ? 1 : Math.ceil(namespaces / 25),
    foreignCertificates: 0,
    status: 'SUCCEEDED',
    wallMs: 1000 * namespaces,
    transitions: 100,
    states: [],
    calls: { 'acm:RequestCertificate': layout === 'flat' ? 1 : namespaces + 1 },
    callsByState: {},
    totalCalls: namespaces,
    route53Batches: [{ state: 'UpsertDnsRecords', changes: 2, resourceRecords: 2 }],
    peakPerSecond: { 'acm:RequestCertificate': 5 },
    taskMs: {},
    testbedStartMs: 0,
    largestPayload: { bytes: 2048, state: 'RunCanary', kind: 'output' },
    historyEvents: 300,
  }) as ScaleRun;

describe('bench/scale', () => {
  it('sees a certificate at the first check at or after its validation time, on the poll schedule', () => {
    expect(certificateSeen(0)).toBe(0);
    for (const v of [1, 30, 120, 600, 1800]) {
      const seen = certificateSeen(v);
      expect(seen).toBeGreaterThanOrEqual(v);
      // The check before it came earlier than V: no check was skipped.
      let t = 0;
      let previous = 0;
      while (t < seen) {
        previous = t;
        t += nextPollDelay(t, 72 * 3600);
      }
      expect(previous).toBeLessThan(v);
    }
  });

  it('measures a new namespace on the largest size that can take one more (500 is the request maximum)', () => {
    expect(newNamespaceSize([1, 24, 100, 500])).toBe(100);
    expect(newNamespaceSize([1, 499])).toBe(499);
    expect(newNamespaceSize([500])).toBeUndefined();
  });

  it('reports both layouts: the nested figure grows with ACM validation, the flat one does not', () => {
    const fresh = (layout: 'nested' | 'flat', wallMs: number, certificatesRequested: number): NewNamespace => ({
      layout,
      existing: 100,
      status: 'SUCCEEDED',
      wallMs,
      transitions: 20,
      historyEvents: 70,
      certificatesRequested,
      recordBatches: certificatesRequested > 0 ? 2 : 0,
    });
    const md = scaleMarkdown(
      { runs: [run(100, 'nested'), run(100, 'flat')], newNamespace: [fresh('nested', 50_000, 1), fresh('flat', 1_000, 0)] },
      '2026-12-02',
    );
    expect(md).toContain('| 100 ns flat |');
    expect(md).toContain('nested, on 100 namespaces: SUCCEEDED in **50.0 s**');
    expect(md).toContain('flat, on 100 namespaces: SUCCEEDED in **1.0 s**');
    expect(md).toContain('green (counted, not listed');
    // V = 600 s: seen at certificateSeen(600), plus the 50 s run; flat stays at 1 s.
    expect(md).toMatch(new RegExp(`\\| 600 s +\\| +${certificateSeen(600)} s \\| +${certificateSeen(600) + 50}\\.0 s \\| +1\\.0 s`));
  });
});
