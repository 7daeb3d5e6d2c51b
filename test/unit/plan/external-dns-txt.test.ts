/**
 * Our ownership parser given external-dns's TXT registry records, as the real
 * external-dns v0.21.0 wrote them in test/integration/external-dns.test.ts
 * (its `endpoint.Labels.Serialize`: `heritage=external-dns` first, then
 * `external-dns/<label>=<value>` sorted by label). Whatever their owner id,
 * they are never ours, and a name they hold is refused unless adopt is set.
 */
import { RecordOwnedByAnotherError } from '../../../shared/errors';
import { HERITAGE, ownershipRecordValue, parseOwnershipValue } from '../../../shared/ownership';
import { ownershipOf, planNamespaceRecords, recordsNamed } from '../../../shared/plan/records';
import type { RecordSet } from '../../../shared/ports';
import { request } from '../../fixtures/requests';

const ALB = 'k8s-istiosys-istioing-0123456789-1234567890.us-west-2.elb.amazonaws.com';
const DOMAIN = 'platform.example.com';

/** Captured from the run (Route 53 values, quotes included). */
const CAPTURED = {
  service: '"heritage=external-dns,external-dns/owner=external-dns-cluster-b,external-dns/resource=service/default/shop"',
  ingress: '"heritage=external-dns,external-dns/owner=external-dns-cluster-b,external-dns/resource=ingress/default/web"',
  wildcard: '"heritage=external-dns,external-dns/owner=external-dns-cluster-b,external-dns/resource=service/default/held"',
};

const txt = (name: string, value: string): RecordSet => ({ name, type: 'TXT', ttl: 300, values: [value] });

describe("external-dns's TXT registry records, read by our parser", () => {
  it.each(Object.entries(CAPTURED))('%s: heritage external-dns, no owner of ours', (_kind, value) => {
    expect(parseOwnershipValue(value)).toEqual({ heritage: 'external-dns' });
    expect(ownershipOf([txt(`cname-shop.${DOMAIN}`, value)], 'kserve-edge')).toBe('foreign');
  });

  it('is foreign even when our owner id equals external-dns’s: the heritage decides', () => {
    expect(ownershipOf([txt(`cname-shop.${DOMAIN}`, CAPTURED.service)], 'external-dns-cluster-b')).toBe('foreign');
  });

  it('ours is ours beside theirs; theirs never counts as ours', () => {
    const ours = txt(`_kserve-edge.staging.${DOMAIN}`, ownershipRecordValue('kserve-edge', `*.staging.${DOMAIN}`));
    expect(ownershipOf([ours, txt(ours.name, CAPTURED.service)], 'kserve-edge')).toBe('ours');
    expect(parseOwnershipValue(ours.values![0]!).heritage).toBe(HERITAGE);
  });

  it('its registry name for a wildcard (cname-*.<ns>.<domain>) is not the name we read ownership from', () => {
    const zone = [
      { name: `*.staging.${DOMAIN}`, type: 'CNAME', ttl: 300, values: ['held.backend.example.net'] },
      txt(`cname-*.staging.${DOMAIN}`, CAPTURED.wildcard),
    ];
    expect(recordsNamed(zone, `_kserve-edge.staging.${DOMAIN}`)).toEqual([]);
  });

  it('a *.<ns> name external-dns holds is refused (RecordOwnedByAnother) and taken only with adopt', () => {
    const held: RecordSet = { name: `*.staging.${DOMAIN}`, type: 'CNAME', ttl: 300, values: ['held.backend.example.net'] };
    expect(() => planNamespaceRecords(request(), { namespace: 'staging', target: [held], ownership: [] }, ALB)).toThrow(
      RecordOwnedByAnotherError,
    );
    const plan = planNamespaceRecords(request({ adopt: true }), { namespace: 'staging', target: [held], ownership: [] }, ALB);
    expect(plan.action).toBe('adopt');
    // We write our record and our TXT; external-dns's TXT (cname-*.staging...) is not ours to change and stays.
    expect(plan.changes.map((c) => `${c.action} ${c.record.name} ${c.record.type}`)).toEqual([
      `UPSERT *.staging.${DOMAIN} CNAME`,
      `UPSERT _kserve-edge.staging.${DOMAIN} TXT`,
    ]);
  });
});
