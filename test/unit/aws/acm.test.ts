import {
  ACMClient,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  RequestCertificateCommand,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-acm';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient, ThrottledException } from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { AcmAdapter, ALL_CERTIFICATE_STATUSES } from '../../../shared/aws/acm';
import { AccessDeniedError, ThrottledError, ValidationRecordsNotReadyError } from '../../../shared/errors';
import { silentLogger } from '../../../shared/log';
import { publishValidationRecords } from '../../../shared/steps/publishValidationRecords';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { request } from '../../fixtures/requests';
import { TAG_OWNER } from '../../../shared/ownership';
import { sdkError } from '../../fakes/awsError';

const arn = (n: number): string => `arn:aws:acm:us-west-2:123456789012:certificate/0000-${n}`;
const notFound = (): ResourceNotFoundException => new ResourceNotFoundException({ message: 'not found', $metadata: {} });

describe('Class: AcmAdapter', () => {
  const acm = mockClient(ACMClient);
  const tagging = mockClient(ResourceGroupsTaggingAPIClient);
  const adapter = new AcmAdapter(new ACMClient({ region: 'us-west-2' }), new ResourceGroupsTaggingAPIClient({ region: 'us-west-2' }));

  beforeEach(() => {
    acm.reset();
    tagging.reset();
  });

  describe('Method: listOwnedCertificates', () => {
    const page = (arns: number[], token?: string) => ({
      ResourceTagMappingList: arns.map((n) => ({
        ResourceARN: arn(n),
        Tags: [{ Key: TAG_OWNER, Value: 'me' }, ...(n === 4 ? [{ Key: 'team', Value: 'ml' }] : [])],
      })),
      PaginationToken: token ?? '',
    });

    it('finds ours by tag with GetResources, all pages, and describes only those', async () => {
      // Prepare
      tagging
        .on(GetResourcesCommand)
        .resolvesOnce(page([1], 'p2'))
        .resolvesOnce(page([4]));
      acm.on(DescribeCertificateCommand).callsFake((input: { CertificateArn: string }) => ({
        Certificate: { CertificateArn: input.CertificateArn, DomainName: 'x.example.com', Status: 'ISSUED' },
      }));

      // Act
      const certs = await adapter.listOwnedCertificates('me');

      // Assess
      expect(certs.map((c) => c.arn)).toEqual([arn(1), arn(4)]);
      expect(certs[1]?.tags).toEqual({ [TAG_OWNER]: 'me', team: 'ml' });
      const gets = tagging.commandCalls(GetResourcesCommand);
      expect(gets).toHaveLength(2);
      expect(gets[0]?.args[0].input).toEqual({
        TagFilters: [{ Key: TAG_OWNER, Values: ['me'] }],
        ResourceTypeFilters: ['acm:certificate'],
        ResourcesPerPage: 100,
      });
      expect(gets[1]?.args[0].input.PaginationToken).toBe('p2');
      expect(
        acm
          .commandCalls(DescribeCertificateCommand)
          .map((c) => c.args[0].input.CertificateArn)
          .sort(),
      ).toEqual([arn(1), arn(4)]);
      // No scan of the region: other certificates cost nothing, whatever their number.
      expect(acm.commandCalls(ListCertificatesCommand)).toHaveLength(0);
      expect(acm.commandCalls(ListTagsForCertificateCommand)).toHaveLength(0);
    });

    it('keeps out anything that does not carry our owner value, whatever the service answers', async () => {
      tagging.on(GetResourcesCommand).resolves({
        ResourceTagMappingList: [
          { ResourceARN: arn(1), Tags: [{ Key: TAG_OWNER, Value: 'someone-else' }] },
          { ResourceARN: arn(2), Tags: [{ Key: TAG_OWNER, Value: 'me' }] },
        ],
      });
      acm.on(DescribeCertificateCommand).resolves({ Certificate: { CertificateArn: arn(2), DomainName: 'a.b', Status: 'ISSUED' } });
      const certs = await adapter.listOwnedCertificates('me');
      expect(certs.map((c) => c.arn)).toEqual([arn(2)]);
      expect(acm.commandCalls(DescribeCertificateCommand).map((c) => c.args[0].input.CertificateArn)).toEqual([arn(2)]);
    });

    it('skips a certificate deleted after GetResources listed it (the tagging API lags)', async () => {
      tagging.on(GetResourcesCommand).resolves(page([1, 2]));
      acm.on(DescribeCertificateCommand, { CertificateArn: arn(1) }).rejects(notFound());
      acm
        .on(DescribeCertificateCommand, { CertificateArn: arn(2) })
        .resolves({ Certificate: { CertificateArn: arn(2), DomainName: 'a.b', Status: 'ISSUED' } });
      const certs = await adapter.listOwnedCertificates('me');
      expect(certs.map((c) => c.arn)).toEqual([arn(2)]);
    });

    it('maps throttling on GetResources to Throttled', async () => {
      tagging.on(GetResourcesCommand).rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: {} }));
      await expect(adapter.listOwnedCertificates('me')).rejects.toBeInstanceOf(ThrottledError);
    });

    it('refuses to list without a tagging client instead of scanning the region', async () => {
      await expect(new AcmAdapter(new ACMClient({ region: 'us-west-2' })).listOwnedCertificates('me')).rejects.toThrow(
        /Tagging API client/,
      );
      expect(acm.commandCalls(ListCertificatesCommand)).toHaveLength(0);
    });
  });

  describe('Method: listAllCertificateNames', () => {
    it('pages ListCertificates with every status and key type; no per-certificate call', async () => {
      acm
        .on(ListCertificatesCommand)
        .resolvesOnce({ CertificateSummaryList: [{ CertificateArn: arn(1), DomainName: 'a.example.com' }], NextToken: 't1' })
        .resolvesOnce({
          CertificateSummaryList: [
            { CertificateArn: arn(2), DomainName: 'b.example.com', SubjectAlternativeNameSummaries: ['b.example.com', '*.b.example.com'] },
          ],
        });
      const names = await adapter.listAllCertificateNames();
      expect(names).toEqual([
        { arn: arn(1), names: ['a.example.com'] },
        { arn: arn(2), names: ['b.example.com', '*.b.example.com'] },
      ]);
      const lists = acm.commandCalls(ListCertificatesCommand);
      expect(lists).toHaveLength(2);
      expect(lists[0]?.args[0].input.CertificateStatuses).toEqual(ALL_CERTIFICATE_STATUSES);
      expect(lists[0]?.args[0].input.CertificateStatuses).toHaveLength(7);
      expect(lists[1]?.args[0].input.NextToken).toBe('t1');
      expect(acm.commandCalls(ListTagsForCertificateCommand)).toHaveLength(0);
    });

    it('maps throttling on ListCertificates to Throttled', async () => {
      acm.on(ListCertificatesCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
      await expect(adapter.listAllCertificateNames()).rejects.toBeInstanceOf(ThrottledError);
    });
  });

  describe('Method: describeCertificate', () => {
    it('dedupes the shared x / *.x CNAME, strips the name dot, keeps the value as given', async () => {
      // Prepare
      const rr = { Name: '_abc.platform.example.com.', Type: 'CNAME' as const, Value: '_def.xyz.acm-validations.aws.' };
      acm.on(ListTagsForCertificateCommand).resolves({ Tags: [{ Key: TAG_OWNER, Value: 'me' }] });
      acm.on(DescribeCertificateCommand).resolves({
        Certificate: {
          CertificateArn: arn(1),
          DomainName: '*.platform.example.com',
          SubjectAlternativeNames: ['*.platform.example.com', 'platform.example.com', '*.team-a.platform.example.com'],
          Status: 'PENDING_VALIDATION',
          CreatedAt: new Date('2026-01-02T03:04:05Z'),
          InUseBy: ['arn:aws:elasticloadbalancing:lb/1'],
          DomainValidationOptions: [
            { DomainName: '*.platform.example.com', ResourceRecord: rr },
            { DomainName: 'platform.example.com', ResourceRecord: rr },
            { DomainName: '*.team-a.platform.example.com' },
          ],
        },
      });

      // Act
      const detail = await adapter.describeCertificate(arn(1));

      // Assess
      expect(detail.validationRecords).toEqual([
        { name: '_abc.platform.example.com', type: 'CNAME', value: '_def.xyz.acm-validations.aws.' },
      ]);
      expect(detail.namesWithoutRecord).toEqual(['*.team-a.platform.example.com']);
      expect(detail.names).toEqual(['*.platform.example.com', 'platform.example.com', '*.team-a.platform.example.com']);
      expect(detail.status).toBe('PENDING_VALIDATION');
      expect(detail.createdAt).toBe('2026-01-02T03:04:05.000Z');
      expect(detail.inUseBy).toEqual(['arn:aws:elasticloadbalancing:lb/1']);
      expect(detail.tags).toEqual({ [TAG_OWNER]: 'me' });
    });

    it('reads a just-requested certificate with no DomainValidationOptions as not published yet', async () => {
      // Prepare: ACM's answer in the first seconds after RequestCertificate.
      acm.on(ListTagsForCertificateCommand).resolves({ Tags: [{ Key: TAG_OWNER, Value: 'me' }] });
      acm.on(DescribeCertificateCommand).resolves({
        Certificate: {
          CertificateArn: arn(1),
          DomainName: '*.platform.example.com',
          SubjectAlternativeNames: ['*.platform.example.com', '*.team-a.platform.example.com'],
          Status: 'PENDING_VALIDATION',
        },
      });
      // Act
      const detail = await adapter.describeCertificate(arn(1));
      // Assess
      expect(detail.validationRecords).toEqual([]);
      expect(detail.namesWithoutRecord).toEqual(['*.platform.example.com', '*.team-a.platform.example.com']);
    });

    it('publishes nothing and asks for a retry while a name has no validation entry', async () => {
      // Prepare: one of two names has its record, the other no entry at all.
      const rr = { Name: '_abc.platform.example.com.', Type: 'CNAME' as const, Value: '_def.xyz.acm-validations.aws.' };
      acm.on(ListTagsForCertificateCommand).resolves({ Tags: [{ Key: TAG_OWNER, Value: 'me' }] });
      acm.on(DescribeCertificateCommand).resolves({
        Certificate: {
          CertificateArn: arn(1),
          DomainName: '*.platform.example.com',
          SubjectAlternativeNames: ['*.platform.example.com', '*.team-a.platform.example.com'],
          Status: 'PENDING_VALIDATION',
          DomainValidationOptions: [{ DomainName: '*.platform.example.com', ResourceRecord: rr }],
        },
      });
      const route53 = new InMemoryRoute53({ pendingPolls: 0 });
      const zone = route53.addZone('platform.example.com');
      // Act
      const run = publishValidationRecords(
        {
          request: { ...request(), hostedZoneId: zone.id },
          certificates: {
            items: [{ arn: arn(1), scope: 'namespace:team-a', names: ['*.team-a.platform.example.com'], status: 'PENDING_VALIDATION' }],
          },
        } as unknown as Parameters<typeof publishValidationRecords>[0],
        { acm: adapter, route53, log: silentLogger },
      );
      // Assess
      await expect(run).rejects.toBeInstanceOf(ValidationRecordsNotReadyError);
      expect(route53.batches).toEqual([]);
    });

    it('carries FailureReason', async () => {
      acm.on(ListTagsForCertificateCommand).resolves({ Tags: [] });
      acm.on(DescribeCertificateCommand).resolves({
        Certificate: { CertificateArn: arn(1), DomainName: 'a.b', Status: 'FAILED', FailureReason: 'CAA_ERROR' },
      });
      const d = await adapter.describeCertificate(arn(1));
      expect(d).toMatchObject({ status: 'FAILED', failureReason: 'CAA_ERROR', names: ['a.b'] });
    });

    it('maps AccessDeniedException to AccessDenied naming the action', async () => {
      acm.on(ListTagsForCertificateCommand).rejects(sdkError('AccessDeniedException', 'denied', 400));
      await expect(adapter.describeCertificate(arn(1))).rejects.toThrow(AccessDeniedError);
      await expect(adapter.describeCertificate(arn(1))).rejects.toThrow('not allowed to acm:ListTagsForCertificate');
    });
  });

  describe('Method: requestCertificate', () => {
    it('asks for DNS validation with tags and the idempotency token', async () => {
      acm.on(RequestCertificateCommand).resolves({ CertificateArn: arn(9) });
      const out = await adapter.requestCertificate({
        domainName: '*.platform.example.com',
        subjectAlternativeNames: ['*.team-a.platform.example.com'],
        tags: { [TAG_OWNER]: 'me', 'kserve-edge:scope': 'base' },
        idempotencyToken: 'abc123',
      });
      expect(out).toBe(arn(9));
      expect(acm.commandCalls(RequestCertificateCommand)[0]?.args[0].input).toEqual({
        DomainName: '*.platform.example.com',
        SubjectAlternativeNames: ['*.team-a.platform.example.com'],
        ValidationMethod: 'DNS',
        IdempotencyToken: 'abc123',
        Tags: [
          { Key: TAG_OWNER, Value: 'me' },
          { Key: 'kserve-edge:scope', Value: 'base' },
        ],
      });
    });
  });

  describe('Method: deleteCertificate', () => {
    it('treats ResourceNotFoundException as already deleted', async () => {
      acm.on(DeleteCertificateCommand).rejects(notFound());
      await expect(adapter.deleteCertificate(arn(1))).resolves.toBeUndefined();
    });

    it('fails on ResourceInUseException', async () => {
      acm.on(DeleteCertificateCommand).rejects(sdkError('ResourceInUseException', 'in use'));
      await expect(adapter.deleteCertificate(arn(1))).rejects.toThrow('failed to acm:DeleteCertificate: ResourceInUseException: in use');
    });
  });
});
