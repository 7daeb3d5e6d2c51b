/**
 * What the testbed reads from the real external-dns: its metrics (the sync
 * loop's start and end) and its "Desired change" log lines, in the formats
 * external-dns v0.21.0 writes them (prometheus text format; logrus JSON).
 */
import { externalDnsClusterRole, metricValue, parseChanges } from '../../../testbed/external-dns';

describe('testbed/external-dns: reading external-dns', () => {
  it('reads an unlabelled gauge in Prometheus text format, exponent included', () => {
    const text = [
      '# HELP external_dns_controller_last_sync_timestamp_seconds Timestamp of last successful sync with the DNS provider',
      '# TYPE external_dns_controller_last_sync_timestamp_seconds gauge',
      'external_dns_controller_last_sync_timestamp_seconds 1.7646626123456788e+09',
      'external_dns_controller_last_sync_timestamp_seconds_other 3',
    ].join('\n');
    expect(metricValue(text, 'external_dns_controller_last_sync_timestamp_seconds')).toBeCloseTo(1764662612.3456788, 6);
    expect(metricValue(text, 'external_dns_controller_last_reconcile_timestamp_seconds')).toBeUndefined();
  });

  it('parses "Desired change" lines, with the wildcard unescaped and the trailing dot dropped', () => {
    const lines = [
      { level: 'info', msg: 'Desired change: CREATE cname-shop.platform.example.com TXT', time: '2026-12-02T08:00:00Z' },
      { level: 'info', msg: 'Desired change: UPSERT \\052.xdns-held.platform.example.com. CNAME', time: '2026-12-02T08:00:01Z' },
      { level: 'info', msg: 'All records are already up to date' },
      { level: 'info', msg: '2 record(s) were successfully updated' },
    ];
    expect(parseChanges(lines)).toEqual([
      { time: '2026-12-02T08:00:00Z', action: 'CREATE', name: 'cname-shop.platform.example.com', type: 'TXT' },
      { time: '2026-12-02T08:00:01Z', action: 'UPSERT', name: '*.xdns-held.platform.example.com', type: 'CNAME' },
    ]);
  });

  it('its ClusterRole only reads (the chart’s rules for sources service and ingress)', () => {
    const rules = externalDnsClusterRole().rules as Array<{ verbs: string[] }>;
    expect(rules.flatMap((r) => r.verbs).every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);
  });
});
