import { isAwsError } from '../../../shared/aws/errors';
import { InvalidSecretError, ThrottledError } from '../../../shared/errors';
import { clearSecrets, redactString } from '../../../shared/log';
import { TAG_OWNER } from '../../../shared/ownership';
import type { RecordChange } from '../../../shared/ports';
import { FakeAcm, fakeValidationRecord } from '../../fakes/FakeAcm';
import { FakeNotify } from '../../fakes/FakeNotify';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { adapterError } from '../../fakes/awsError';

const cname = (name: string, value: string, action: RecordChange['action'] = 'UPSERT'): RecordChange => ({
  action,
  record: { name, type: 'CNAME', ttl: 60, values: [value] },
});

describe('Class: InMemoryRoute53', () => {
  it('finds the longest public suffix zone', async () => {
    const r53 = new InMemoryRoute53();
    r53.addZone('example.com');
    const sub = r53.addZone('platform.example.com');
    r53.addZone('team.platform.example.com', { privateZone: true });
    await expect(r53.findHostedZone('x.team.platform.example.com')).resolves.toEqual(sub);
    await expect(r53.findHostedZone('notexample.com')).resolves.toBeUndefined();
  });

  it('rejects names outside the zone, CREATE of an existing record, inexact DELETE', async () => {
    const r53 = new InMemoryRoute53();
    const z = r53.addZone('example.com');
    await expect(r53.changeRecords(z.id, [cname('a.other.com', 'x')], 'c')).rejects.toThrow(/not permitted in zone/);
    await r53.changeRecords(z.id, [cname('a.example.com', 'x', 'CREATE')], 'c');
    const dup = await r53.changeRecords(z.id, [cname('a.example.com', 'y', 'CREATE')], 'c').catch((e: unknown) => e);
    expect(isAwsError(dup, 'InvalidChangeBatch')).toBe(true);
    await expect(r53.changeRecords(z.id, [cname('a.example.com', 'y', 'DELETE')], 'c')).rejects.toThrow(/do not match/);
    await r53.changeRecords(z.id, [cname('a.example.com', 'x', 'DELETE')], 'c');
    expect(r53.allRecords(z.id)).toEqual([]);
  });

  it('applies a batch all or nothing', async () => {
    const r53 = new InMemoryRoute53();
    const z = r53.addZone('example.com');
    r53.seedRecord(z.id, { name: 'taken.example.com', type: 'CNAME', ttl: 300, values: ['foreign'] });
    await expect(
      r53.changeRecords(z.id, [cname('new.example.com', 'v'), cname('taken.example.com', 'mine', 'CREATE')], 'c'),
    ).rejects.toThrow(/already exists/);
    expect(r53.getRecord(z.id, 'new.example.com', 'CNAME')).toBeUndefined();
    expect(r53.batches).toHaveLength(0);
    expect(r53.calls.filter((c) => c.op === 'changeRecords')).toHaveLength(1);
  });

  it('counts UPSERT twice against the 1,000-record limit', async () => {
    const r53 = new InMemoryRoute53();
    const z = r53.addZone('example.com');
    const upserts = Array.from({ length: 501 }, (_, i) => cname(`r${i}.example.com`, 'v'));
    await expect(r53.changeRecords(z.id, upserts, 'c')).rejects.toThrow(/limit of 1000/);
    await expect(r53.changeRecords(z.id, upserts.slice(0, 500), 'c')).resolves.toMatchObject({ status: 'PENDING' });
    const creates = Array.from({ length: 1000 }, (_, i) => cname(`c${i}.example.com`, 'v', 'CREATE'));
    await expect(r53.changeRecords(z.id, creates, 'c')).resolves.toBeDefined();
  });

  it('refuses a CNAME next to another type and duplicate changes in one batch', async () => {
    const r53 = new InMemoryRoute53();
    const z = r53.addZone('example.com');
    r53.seedRecord(z.id, { name: 'a.example.com', type: 'TXT', ttl: 60, values: ['"x"'] });
    await expect(r53.changeRecords(z.id, [cname('a.example.com', 'v')], 'c')).rejects.toThrow(/conflicting RRSet of type TXT/);
    await expect(r53.changeRecords(z.id, [cname('b.example.com', 'v'), cname('B.example.com.', 'w')], 'c')).rejects.toThrow(
      /more than one change/,
    );
  });

  it('lists exact names case-insensitively, wildcards as *', async () => {
    const r53 = new InMemoryRoute53();
    const z = r53.addZone('example.com');
    await r53.changeRecords(z.id, [cname('*.ns.example.com', 'alb'), cname('x.ns.example.com', 'alb')], 'c');
    const recs = await r53.listRecords(z.id, '*.NS.example.com');
    expect(recs).toEqual([{ name: '*.ns.example.com', type: 'CNAME', ttl: 60, values: ['alb'] }]);
  });

  it('reports PENDING for the first N GetChange calls, then INSYNC', async () => {
    const r53 = new InMemoryRoute53({ pendingPolls: 2 });
    const z = r53.addZone('example.com');
    const { changeId, status } = await r53.changeRecords(z.id, [cname('a.example.com', 'v')], 'c');
    expect(status).toBe('PENDING');
    expect([await r53.getChange(changeId), await r53.getChange(changeId), await r53.getChange(changeId)]).toEqual([
      'PENDING',
      'PENDING',
      'INSYNC',
    ]);
    await expect(r53.getChange('nope')).rejects.toThrow(/NoSuchChange/);
  });

  it('throws queued failures once', async () => {
    const r53 = new InMemoryRoute53();
    const z = r53.addZone('example.com');
    r53.failures.add('changeRecords', adapterError('route53:ChangeResourceRecordSets', 'PriorRequestNotComplete', 'busy'));
    await expect(r53.changeRecords(z.id, [cname('a.example.com', 'v')], 'c')).rejects.toBeInstanceOf(ThrottledError);
    await expect(r53.changeRecords(z.id, [cname('a.example.com', 'v')], 'c')).resolves.toBeDefined();
  });
});

describe('Class: FakeAcm', () => {
  const input = {
    domainName: '*.platform.example.com',
    subjectAlternativeNames: ['platform.example.com', '*.team-a.platform.example.com'],
    tags: { [TAG_OWNER]: 'me' },
    idempotencyToken: 'tok1',
  };

  it('publishes validation records after N describes, x and *.x sharing one', async () => {
    const acm = new FakeAcm({ recordsAfterDescribes: 1 });
    const arn = await acm.requestCertificate(input);
    const first = await acm.describeCertificate(arn);
    expect(first.validationRecords).toEqual([]);
    expect(first.namesWithoutRecord).toHaveLength(3);
    const second = await acm.describeCertificate(arn);
    expect(second.namesWithoutRecord).toEqual([]);
    expect(second.validationRecords).toHaveLength(2);
    expect(fakeValidationRecord('*.platform.example.com')).toEqual(fakeValidationRecord('platform.example.com'));
    expect(fakeValidationRecord('a.example.com')).not.toEqual(fakeValidationRecord('b.example.com'));
    expect(second.validationRecords[0]?.name).toMatch(/^_[0-9a-f]{32}\.platform\.example\.com$/);
  });

  it('is idempotent per token and moves status only when told', async () => {
    const acm = new FakeAcm();
    const arn = await acm.requestCertificate(input);
    expect(await acm.requestCertificate(input)).toBe(arn);
    expect((await acm.describeCertificate(arn)).status).toBe('PENDING_VALIDATION');
    acm.issue(arn);
    expect((await acm.describeCertificate(arn)).status).toBe('ISSUED');
    const other = await acm.requestCertificate({ ...input, idempotencyToken: 'tok2' });
    acm.fail(other, 'CAA_ERROR');
    expect(await acm.describeCertificate(other)).toMatchObject({ status: 'FAILED', failureReason: 'CAA_ERROR' });
  });

  it('lists only owned certificates; deletes idempotently but not while in use', async () => {
    const acm = new FakeAcm();
    const mine = await acm.requestCertificate(input);
    acm.seed({ names: ['x.example.com'], tags: { [TAG_OWNER]: 'other' } });
    expect((await acm.listOwnedCertificates('me')).map((c) => c.arn)).toEqual([mine]);
    acm.setInUseBy(mine, ['arn:lb']);
    await expect(acm.deleteCertificate(mine)).rejects.toThrow(/ResourceInUseException/);
    acm.setInUseBy(mine, []);
    await acm.deleteCertificate(mine);
    await acm.deleteCertificate(mine);
    expect(acm.has(mine)).toBe(false);
    await expect(acm.describeCertificate(mine)).rejects.toThrow(/ResourceNotFoundException/);
  });

  it('enforces the names-per-certificate quota', async () => {
    const acm = new FakeAcm({ maxNames: 2 });
    await expect(acm.requestCertificate(input)).rejects.toThrow(/LimitExceededException/);
  });
});

describe('Class: FakeSecrets', () => {
  beforeEach(() => clearSecrets());
  it('returns values, registers leaves, and fails like the adapter when missing', async () => {
    const s = new FakeSecrets({ tokens: { headerValues: ['abcd-1234'] } });
    expect(JSON.parse(await s.getSecretString('tokens'))).toEqual({ headerValues: ['abcd-1234'] });
    expect(redactString('abcd-1234')).toBe('[REDACTED]');
    await expect(s.getSecretString('nope')).rejects.toThrow(new InvalidSecretError('secret nope not found'));
    expect(s.reads).toEqual(['tokens', 'nope']);
  });
});

describe('Class: FakeNotify', () => {
  it('records what SNS subscribers would see', async () => {
    const n = new FakeNotify();
    await n.publish(`subject ${'z'.repeat(120)}`, 'body');
    expect(n.messages).toHaveLength(1);
    expect(n.messages[0]?.subject).toHaveLength(100);
    expect(n.messages[0]?.message).toBe('body');
  });
});
