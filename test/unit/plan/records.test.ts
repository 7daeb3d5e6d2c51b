import { InvalidRequestError, RecordOwnedByAnotherError } from '../../../shared/errors';
import { ownershipRecordName, ownershipRecordValue, parseOwnershipValue, TXT_MAX_STRING, txtStrings } from '../../../shared/ownership';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { batchWeight, desiredRecord, ownershipOf, planNamespaceRecords } from '../../../shared/plan/records';
import type { RecordSet } from '../../../shared/ports';
import { request } from '../../fixtures/requests';

const ALB = 'k8s-istiosys-istioing-0123456789-1234567890.us-west-2.elb.amazonaws.com';
const req = request();
const name = '*.staging.platform.example.com';
const txtName = '_kserve-edge.staging.platform.example.com';
const ourTxt: RecordSet = { name: txtName, type: 'TXT', ttl: 300, values: [ownershipRecordValue('kserve-edge', name)] };
const ourCname: RecordSet = { name, type: 'CNAME', ttl: 300, values: [ALB] };

describe('planNamespaceRecords', () => {
  it('creates the record and its ownership TXT on an empty name', () => {
    const plan = planNamespaceRecords(req, { namespace: 'staging', target: [], ownership: [] }, ALB);
    expect(plan.action).toBe('create');
    expect(plan.changes).toEqual([
      { action: 'UPSERT', record: ourCname },
      { action: 'UPSERT', record: ourTxt },
    ]);
  });

  it('does nothing when both are in place', () => {
    const plan = planNamespaceRecords(req, { namespace: 'staging', target: [ourCname], ownership: [ourTxt] }, ALB);
    expect(plan).toMatchObject({ action: 'none', changes: [] });
  });

  it('updates our record when the ALB changed', () => {
    const old = { ...ourCname, values: ['old-alb.us-west-2.elb.amazonaws.com'] };
    const plan = planNamespaceRecords(req, { namespace: 'staging', target: [old], ownership: [ourTxt] }, ALB);
    expect(plan.action).toBe('update');
    expect(plan.changes).toEqual([{ action: 'UPSERT', record: ourCname }]);
  });

  it('refuses a record without an ownership TXT', () => {
    const foreign = { ...ourCname, values: ['someone-elses.example.net'] };
    expect(() => planNamespaceRecords(req, { namespace: 'staging', target: [foreign], ownership: [] }, ALB)).toThrow(
      RecordOwnedByAnotherError,
    );
  });

  it('refuses a name whose TXT names another owner, even when the record is absent', () => {
    const theirs = { ...ourTxt, values: [ownershipRecordValue('team-b', name)] };
    expect(() => planNamespaceRecords(req, { namespace: 'staging', target: [], ownership: [theirs] }, ALB)).toThrow(/another owner/);
  });

  it('adopts a foreign record only when the request says so', () => {
    const foreign = { ...ourCname, values: ['someone-elses.example.net'] };
    const plan = planNamespaceRecords(request({ adopt: true }), { namespace: 'staging', target: [foreign], ownership: [] }, ALB);
    expect(plan.action).toBe('adopt');
    expect(plan.changes.map((c) => c.record.type)).toEqual(['CNAME', 'TXT']);
  });

  it('switching to an alias A deletes our old CNAME in the same batch', () => {
    const alias = request({ dns: { recordType: 'ALIAS' } });
    const plan = planNamespaceRecords(alias, { namespace: 'staging', target: [ourCname], ownership: [ourTxt] }, ALB);
    expect(plan.changes[0]).toEqual({ action: 'DELETE', record: ourCname });
    expect(plan.changes[1]).toEqual({ action: 'UPSERT', record: desiredRecord(alias, 'staging', ALB) });
    expect(plan.changes[1]?.record.alias).toEqual({
      hostedZoneId: 'Z1H1FL5HABSF5',
      dnsName: `dualstack.${ALB}`,
      evaluateTargetHealth: true,
    });
  });

  it('refuses an alias in a region whose ALB hosted zone id it does not know, as InvalidRequest (as ValidateRequest does)', () => {
    const base = request({ dns: { recordType: 'ALIAS' } });
    const unknownRegion = { ...base, cluster: { ...base.cluster, region: 'xx-east-9' } };
    expect(() => desiredRecord(unknownRegion, 'staging', ALB)).toThrow(
      new InvalidRequestError(
        'dns.recordType: ALIAS records need the ALB hosted zone id of xx-east-9, which this version does not know; use CNAME',
      ),
    );
  });
});

describe('ownershipOf', () => {
  it('reads external-dns style TXT values', () => {
    expect(ownershipOf([], 'kserve-edge')).toBe('none');
    expect(ownershipOf([ourTxt], 'kserve-edge')).toBe('ours');
    expect(ownershipOf([{ ...ourTxt, values: ['"v=spf1 -all"'] }], 'kserve-edge')).toBe('foreign');
  });
});

describe('batchWeight', () => {
  it('counts UPSERT twice, as Route 53 does', () => {
    expect(
      batchWeight([
        { action: 'UPSERT', record: ourCname },
        { action: 'DELETE', record: ourTxt },
      ]),
    ).toBe(3);
  });
});

describe('ownership TXT at the longest valid inputs', () => {
  // The longest names the request schema accepts: a 40-character owner id, a
  // 63-character namespace, and a domain that makes `*.<ns>.<domain>` exactly
  // 253 characters, the most DNS allows (with a one-letter model name, whose
  // host `m.<ns>.<domain>` must fit too).
  const ownerId = `o${'x'.repeat(38)}o`;
  const namespace = `n${'s'.repeat(61)}n`;
  const label = (c: string, n: number) => c.repeat(n);
  const domain = [label('a', 63), label('b', 63), label('c', 59)].join('.');
  const longest = request({ ownerId, namespaces: [namespace], domain, canary: { model: 'm' } });
  const recordName = `*.${namespace}.${domain}`;

  it('is built from inputs at the limits', () => {
    expect(ownerId).toHaveLength(40);
    expect(recordName).toHaveLength(253);
  });

  it('keeps every TXT string within 255 characters and parses back to the same owner', () => {
    // Act
    const plan = planNamespaceRecords(longest, { namespace, target: [], ownership: [] }, ALB);
    const txt = plan.changes.find((c) => c.record.type === 'TXT')?.record;
    // Assess
    const strings = txtStrings(txt?.values?.[0] ?? '');
    expect(strings.length).toBeGreaterThan(1);
    for (const s of strings) expect(s.length).toBeLessThanOrEqual(TXT_MAX_STRING);
    expect(ownershipOf([txt as RecordSet], ownerId)).toBe('ours');
    expect(parseOwnershipValue(txt?.values?.[0] ?? '')).toEqual({ heritage: 'kserve-edge', owner: ownerId, resource: recordName });
  });

  it('is accepted by a Route 53 that enforces the 255-character strings, and a second plan finds it ours', async () => {
    // Prepare
    const r53 = new InMemoryRoute53({ pendingPolls: 0 });
    const zone = r53.addZone(domain);
    const plan = planNamespaceRecords(longest, { namespace, target: [], ownership: [] }, ALB);
    // Act
    await r53.changeRecords(zone.id, plan.changes, 'test');
    const again = planNamespaceRecords(
      longest,
      {
        namespace,
        target: await r53.listRecords(zone.id, recordName),
        ownership: await r53.listRecords(zone.id, ownershipRecordName(namespace, domain)),
      },
      ALB,
    );
    // Assess
    expect(again).toMatchObject({ action: 'none', changes: [] });
  });

  it('still reads a one-string value written before the split', () => {
    expect(parseOwnershipValue(`"heritage=kserve-edge,kserve-edge/owner=team-a,kserve-edge/resource=${name}"`)).toEqual({
      heritage: 'kserve-edge',
      owner: 'team-a',
      resource: name,
    });
  });
});
