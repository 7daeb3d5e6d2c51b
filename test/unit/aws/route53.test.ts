import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  NoSuchHostedZone,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { Route53Adapter, domainSuffixes, fromRoute53Name, route53SortKey } from '../../../shared/aws/route53';
import { RateLimiter } from '../../../shared/aws/rateLimit';
import { AccessDeniedError, ThrottledError } from '../../../shared/errors';
import { sdkError } from '../../fakes/awsError';

describe('Class: Route53Adapter', () => {
  const r53 = mockClient(Route53Client);
  const adapter = new Route53Adapter(new Route53Client({ region: 'us-east-1' }));

  beforeEach(() => r53.reset());

  describe('Function: fromRoute53Name', () => {
    it.each([
      ['\\052.team-a.example.com.', '*.team-a.example.com'],
      ['*.team-a.example.com.', '*.team-a.example.com'],
      ['a\\100b.example.com.', 'a@b.example.com'],
      ['plain.example.com', 'plain.example.com'],
    ])('%s → %s', (input, out) => expect(fromRoute53Name(input)).toBe(out));

    it('lists label-aligned suffixes longest first', () => {
      expect(domainSuffixes('Platform.Example.com.')).toEqual(['platform.example.com', 'example.com', 'com']);
    });
  });

  describe('Method: findHostedZone', () => {
    it('picks the public zone that is the longest label-aligned suffix', async () => {
      // Prepare: a private zone with the exact name, a look-alike, and the public parent.
      r53.on(ListHostedZonesByNameCommand, { DNSName: 'platform.example.com.' }).resolves({
        HostedZones: [
          { Id: '/hostedzone/ZPRIV', Name: 'platform.example.com.', CallerReference: 'a', Config: { PrivateZone: true } },
          { Id: '/hostedzone/ZOTHER', Name: 'xplatform.example.com.', CallerReference: 'b', Config: { PrivateZone: false } },
        ],
        IsTruncated: false,
      } as never);
      r53.on(ListHostedZonesByNameCommand, { DNSName: 'example.com.' }).resolves({
        HostedZones: [{ Id: '/hostedzone/ZPUB', Name: 'example.com.', CallerReference: 'c', Config: { PrivateZone: false } }],
        IsTruncated: false,
      } as never);

      // Act
      const zone = await adapter.findHostedZone('platform.example.com');

      // Assess
      expect(zone).toEqual({ id: 'ZPUB', name: 'example.com', privateZone: false });
      expect(r53.commandCalls(ListHostedZonesByNameCommand)).toHaveLength(2);
    });

    it('does not match a zone that is a suffix but not on a label boundary', async () => {
      r53.on(ListHostedZonesByNameCommand).resolves({
        HostedZones: [{ Id: '/hostedzone/Z1', Name: 'ample.com.', CallerReference: 'a', Config: { PrivateZone: false } }],
      } as never);
      await expect(adapter.findHostedZone('example.com')).resolves.toBeUndefined();
      expect(r53.commandCalls(ListHostedZonesByNameCommand).map((c) => c.args[0].input.DNSName)).toEqual(['example.com.', 'com.']);
    });

    it('follows pagination while zones still have the same name', async () => {
      r53
        .on(ListHostedZonesByNameCommand, { DNSName: 'example.com.' })
        .resolvesOnce({
          HostedZones: [{ Id: '/hostedzone/ZP1', Name: 'example.com.', CallerReference: 'a', Config: { PrivateZone: true } }],
          IsTruncated: true,
          NextDNSName: 'example.com.',
          NextHostedZoneId: 'ZP2',
        } as never)
        .resolvesOnce({
          HostedZones: [{ Id: '/hostedzone/ZP2', Name: 'example.com.', CallerReference: 'b', Config: { PrivateZone: false } }],
          IsTruncated: false,
        } as never);
      await expect(adapter.findHostedZone('example.com')).resolves.toEqual({ id: 'ZP2', name: 'example.com', privateZone: false });
      expect(r53.commandCalls(ListHostedZonesByNameCommand)[1]?.args[0].input.HostedZoneId).toBe('ZP2');
    });

    it('maps Throttling to Throttled', async () => {
      r53.on(ListHostedZonesByNameCommand).rejects(sdkError('Throttling', 'Rate exceeded'));
      await expect(adapter.findHostedZone('example.com')).rejects.toBeInstanceOf(ThrottledError);
    });
  });

  describe('Method: getHostedZone', () => {
    it('returns undefined for NoSuchHostedZone', async () => {
      r53.on(GetHostedZoneCommand).rejects(new NoSuchHostedZone({ message: 'No hosted zone found with ID: Z9', $metadata: {} }));
      await expect(adapter.getHostedZone('Z9')).resolves.toBeUndefined();
    });
    it('strips the /hostedzone/ prefix', async () => {
      r53.on(GetHostedZoneCommand).resolves({
        HostedZone: { Id: '/hostedzone/Z1', Name: 'example.com.', CallerReference: 'x', Config: { PrivateZone: false } },
      } as never);
      await expect(adapter.getHostedZone('/hostedzone/Z1')).resolves.toEqual({ id: 'Z1', name: 'example.com', privateZone: false });
      expect(r53.commandCalls(GetHostedZoneCommand)[0]?.args[0].input.Id).toBe('Z1');
    });
  });

  describe('Method: listRecords', () => {
    it('starts at the name, unescapes \\052, returns only exact matches', async () => {
      // Prepare
      r53.on(ListResourceRecordSetsCommand).resolves({
        ResourceRecordSets: [
          { Name: '\\052.team-a.example.com.', Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: 'alb.example.' }] },
          {
            Name: '\\052.team-a.example.com.',
            Type: 'A',
            AliasTarget: { HostedZoneId: 'Z35', DNSName: 'dualstack.alb.amazonaws.com.', EvaluateTargetHealth: true },
          },
          { Name: 'team-a.example.com.', Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: '"x"' }] },
        ],
        IsTruncated: true,
        NextRecordName: 'team-b.example.com.',
        NextRecordType: 'A',
      } as never);

      // Act
      const records = await adapter.listRecords('/hostedzone/Z1', '*.Team-A.example.com');

      // Assess
      expect(records).toEqual([
        { name: '*.team-a.example.com', type: 'CNAME', ttl: 300, values: ['alb.example.'] },
        {
          name: '*.team-a.example.com',
          type: 'A',
          alias: { hostedZoneId: 'Z35', dnsName: 'dualstack.alb.amazonaws.com', evaluateTargetHealth: true },
        },
      ]);
      const calls = r53.commandCalls(ListResourceRecordSetsCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({
        HostedZoneId: 'Z1',
        StartRecordName: '*.Team-A.example.com.',
        MaxItems: 100,
      });
    });

    it('pages while the next record still has the name (moto returns * unescaped)', async () => {
      r53
        .on(ListResourceRecordSetsCommand)
        .resolvesOnce({
          ResourceRecordSets: [{ Name: '*.ns.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '1.2.3.4' }] }],
          IsTruncated: true,
          NextRecordName: '\\052.ns.example.com.',
          NextRecordType: 'TXT',
        } as never)
        .resolvesOnce({
          ResourceRecordSets: [
            { Name: '*.ns.example.com.', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"a"' }] },
            { Name: 'ns.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '5.6.7.8' }] },
          ],
          IsTruncated: true,
          NextRecordName: 'zz.example.com.',
          NextRecordType: 'A',
        } as never);
      const records = await adapter.listRecords('Z1', '*.ns.example.com');
      expect(records.map((r) => r.type)).toEqual(['A', 'TXT']);
      const calls = r53.commandCalls(ListResourceRecordSetsCommand);
      expect(calls).toHaveLength(2);
      expect(calls[1]?.args[0].input).toMatchObject({ StartRecordName: '\\052.ns.example.com.', StartRecordType: 'TXT' });
    });
  });

  describe('Function: route53SortKey', () => {
    it('reverses labels, lower-cases, unescapes and ends with a dot, so prod-x sorts before the prod block', () => {
      expect(route53SortKey('\\052.Team-A.example.com.')).toBe('com.example.team-a.*.');
      const names = ['zz.example.com', '*.prod.example.com', 'prod-x.example.com', 'prod.example.com', 'a.prod.example.com', 'example.com'];
      expect([...names].sort((a, b) => (route53SortKey(a) < route53SortKey(b) ? -1 : 1))).toEqual([
        'example.com',
        'prod-x.example.com',
        'prod.example.com',
        '*.prod.example.com',
        'a.prod.example.com',
        'zz.example.com',
      ]);
    });
  });

  describe('Method: listRecordsNamed', () => {
    /**
     * A zone answering ListResourceRecordSets as Route 53 does: sorted by
     * reversed labels then type, starting at StartRecordName/Type, MaxItems
     * per page, names escaped (`\052`).
     */
    function zone(names: string[]): void {
      const sets = names
        .flatMap((n) => [
          {
            Name: `${n.replace(/^\*/, '\\052')}.`,
            Type: n.startsWith('_') ? 'TXT' : 'CNAME',
            TTL: 300,
            ResourceRecords: [{ Value: `"${n}"` }],
          },
        ])
        .sort((a, b) => {
          const ka = route53SortKey(a.Name);
          const kb = route53SortKey(b.Name);
          return ka < kb ? -1 : ka > kb ? 1 : a.Type < b.Type ? -1 : 1;
        });
      r53
        .on(ListResourceRecordSetsCommand)
        .callsFake((input: { StartRecordName?: string; StartRecordType?: string; MaxItems?: number }) => {
          const startKey = input.StartRecordName ? route53SortKey(input.StartRecordName) : '';
          const from = sets.findIndex((r) => {
            const k = route53SortKey(r.Name);
            return k > startKey || (k === startKey && r.Type >= (input.StartRecordType ?? ''));
          });
          const rest = from < 0 ? [] : sets.slice(from);
          const max = input.MaxItems ?? 300;
          const page = rest.slice(0, max);
          const next = rest[max];
          return {
            ResourceRecordSets: page,
            IsTruncated: next !== undefined,
            ...(next ? { NextRecordName: next.Name, NextRecordType: next.Type } : {}),
            MaxItems: max,
          };
        });
    }
    const unpaced = (): Route53Adapter =>
      new Route53Adapter(new Route53Client({ region: 'us-east-1' }), new RateLimiter({ perSecond: {} }));
    const nsNames = (ns: string): string[] => [`*.${ns}.ml.example.com`, `_kserve-edge.${ns}.ml.example.com`];

    it('reads from the first namespace block to the end of the last in one call, exact names only', async () => {
      // Prepare: records before, between, inside and after the namespaces' blocks.
      zone([
        'ml.example.com',
        'aaa.ml.example.com',
        ...nsNames('team-b'),
        'x.team-b.ml.example.com',
        'team-b-old.ml.example.com',
        ...nsNames('team-c'),
        'zzz.ml.example.com',
        'other.example.com',
      ]);

      // Act
      const records = await unpaced().listRecordsNamed('Z1', [...nsNames('team-c'), ...nsNames('team-b')]);

      // Assess
      expect(records.map((r) => r.name).sort()).toEqual([...nsNames('team-b'), ...nsNames('team-c')].sort());
      const calls = r53.commandCalls(ListResourceRecordSetsCommand);
      expect(calls).toHaveLength(1);
      // It starts at team-b, the first plain ancestor; team-b-old sorts before team-b's block ('-' < '.') and is not read.
      expect(calls[0]?.args[0].input).toEqual({ HostedZoneId: 'Z1', StartRecordName: 'team-b.ml.example.com.', MaxItems: 300 });
    });

    it('pages while inside the range and stops at the first name past the last block', async () => {
      const namespaces = Array.from({ length: 200 }, (_, i) => `team-${String(i).padStart(3, '0')}`);
      zone([...namespaces.flatMap(nsNames), ...Array.from({ length: 400 }, (_, i) => `zz${i}.ml.example.com`)]);
      const records = await unpaced().listRecordsNamed('Z1', namespaces.flatMap(nsNames));
      expect(records).toHaveLength(400);
      // 400 wanted record sets at 300 a page: two calls; the 400 after them are never read.
      const calls = r53.commandCalls(ListResourceRecordSetsCommand);
      expect(calls).toHaveLength(2);
      expect(calls[1]?.args[0].input).toMatchObject({
        StartRecordName: expect.stringMatching(/^(\\052|_kserve-edge)\.team-150\.ml\.example\.com\.$/),
      });
    });

    it('listZoneRecords reads the whole zone from its start, 300 record sets a page', async () => {
      // Prepare: 500 namespaces (1,000 record sets) and the apex records.
      const namespaces = Array.from({ length: 500 }, (_, i) => `team-${String(i).padStart(3, '0')}`);
      zone([...namespaces.flatMap(nsNames), 'ml.example.com']);

      // Act
      const records = await unpaced().listZoneRecords('/hostedzone/Z1');

      // Assess: every record set once, names unescaped; 1,001 at 300 a page is 4 calls, each starting where the last ended.
      expect(records).toHaveLength(1001);
      expect(new Set(records.map((r) => `${r.name}|${r.type}`)).size).toBe(1001);
      expect(records.filter((r) => r.name === '*.team-499.ml.example.com')).toEqual([
        { name: '*.team-499.ml.example.com', type: 'CNAME', ttl: 300, values: ['"*.team-499.ml.example.com"'] },
      ]);
      const calls = r53.commandCalls(ListResourceRecordSetsCommand);
      expect(calls).toHaveLength(4);
      expect(calls[0]?.args[0].input).toEqual({ HostedZoneId: 'Z1', MaxItems: 300 });
      expect(calls[1]?.args[0].input).toMatchObject({ StartRecordName: expect.stringMatching(/team-149\.ml\.example\.com\.$/) });
    });

    it('reads the same single page for 1, 10 and 24 namespaces', async () => {
      const all = Array.from({ length: 24 }, (_, i) => `team-${String(i + 1).padStart(2, '0')}`);
      zone([...all.flatMap(nsNames), 'ml.example.com', 'kubeflow.ml.example.com']);
      for (const n of [1, 10, 24]) {
        r53.resetHistory();
        const records = await unpaced().listRecordsNamed('Z1', all.slice(0, n).flatMap(nsNames));
        expect(records).toHaveLength(2 * n);
        expect(r53.commandCalls(ListResourceRecordSetsCommand)).toHaveLength(1);
      }
    });
  });

  describe('Method: changeRecords', () => {
    it('sends one batch with trailing dots, TTL/values or alias, and the comment', async () => {
      r53.on(ChangeResourceRecordSetsCommand).resolves({
        ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: 'PENDING', SubmittedAt: new Date() },
      });
      const out = await adapter.changeRecords(
        'Z1',
        [
          { action: 'UPSERT', record: { name: '_abc.example.com', type: 'CNAME', ttl: 60, values: ['_def.acm-validations.aws.'] } },
          {
            action: 'CREATE',
            record: {
              name: '*.ns.example.com',
              type: 'A',
              alias: { hostedZoneId: 'Z35', dnsName: 'alb.aws.com', evaluateTargetHealth: false },
            },
          },
          { action: 'DELETE', record: { name: '_kserve-edge.ns.example.com', type: 'TXT', ttl: 300, values: ['"v"'] } },
        ],
        'kserve-edge: test',
      );
      expect(out).toEqual({ changeId: 'C2682N5HXP0BZ4', status: 'PENDING' });
      const calls = r53.commandCalls(ChangeResourceRecordSetsCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.args[0].input).toEqual({
        HostedZoneId: 'Z1',
        ChangeBatch: {
          Comment: 'kserve-edge: test',
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: '_abc.example.com.',
                Type: 'CNAME',
                TTL: 60,
                ResourceRecords: [{ Value: '_def.acm-validations.aws.' }],
              },
            },
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: '*.ns.example.com.',
                Type: 'A',
                AliasTarget: { HostedZoneId: 'Z35', DNSName: 'alb.aws.com', EvaluateTargetHealth: false },
              },
            },
            {
              Action: 'DELETE',
              ResourceRecordSet: { Name: '_kserve-edge.ns.example.com.', Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: '"v"' }] },
            },
          ],
        },
      });
    });

    it('maps PriorRequestNotComplete to Throttled and AccessDenied to AccessDenied', async () => {
      const change = [{ action: 'UPSERT' as const, record: { name: 'a.example.com', type: 'A', ttl: 60, values: ['1.1.1.1'] } }];
      r53
        .on(ChangeResourceRecordSetsCommand)
        .rejectsOnce(sdkError('PriorRequestNotComplete', 'busy'))
        .rejectsOnce(sdkError('AccessDenied', 'no', 403));
      await expect(adapter.changeRecords('Z1', change, 'c')).rejects.toBeInstanceOf(ThrottledError);
      await expect(adapter.changeRecords('Z1', change, 'c')).rejects.toThrow(/^not allowed to route53:ChangeResourceRecordSets/);
      expect(new AccessDeniedError('x').name).toBe('AccessDenied');
    });

    it('refuses an empty batch without calling AWS', async () => {
      await expect(adapter.changeRecords('Z1', [], 'c')).rejects.toThrow('empty change batch');
      expect(r53.calls()).toHaveLength(0);
    });
  });

  describe('Method: getChange', () => {
    it('strips /change/ and returns the status', async () => {
      r53.on(GetChangeCommand).resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
      await expect(adapter.getChange('/change/C1')).resolves.toBe('INSYNC');
      expect(r53.commandCalls(GetChangeCommand)[0]?.args[0].input.Id).toBe('C1');
    });
  });
});
