import { InvalidRequestError, RecordOwnedByAnotherError } from '../../../shared/errors';
import { ownershipRecordValue } from '../../../shared/ownership';
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
    expect(() => planNamespaceRecords(req, { namespace: 'staging', target: [foreign], ownership: [] }, ALB)).toThrow(RecordOwnedByAnotherError);
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
    expect(plan.changes[1]?.record.alias).toEqual({ hostedZoneId: 'Z1H1FL5HABSF5', dnsName: `dualstack.${ALB}`, evaluateTargetHealth: true });
  });

  it('refuses an alias in a region whose ALB hosted zone id it does not know, as InvalidRequest (as ValidateRequest does)', () => {
    const base = request({ dns: { recordType: 'ALIAS' } });
    const unknownRegion = { ...base, cluster: { ...base.cluster, region: 'xx-east-9' } };
    expect(() => desiredRecord(unknownRegion, 'staging', ALB)).toThrow(
      new InvalidRequestError('dns.recordType: ALIAS records need the ALB hosted zone id of xx-east-9, which this version does not know; use CNAME'),
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
    expect(batchWeight([{ action: 'UPSERT', record: ourCname }, { action: 'DELETE', record: ourTxt }])).toBe(3);
  });
});
