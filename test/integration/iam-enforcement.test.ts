/**
 * IAM enforcement against moto, end to end through the AWS proxy: each
 * function signs with its own test access key, the proxy evaluates the call
 * against that function's role from the packaged template (resource tags and
 * secret ARNs looked up in moto), and the product's adapters see AWS's
 * denials as `AccessDenied`.
 *
 * Defect 4.1 (issue 10): switching a provisioned namespace from CNAME to
 * ALIAS sends a DELETE with the UPSERT; UpsertDnsRecordsRole now allows it.
 */
import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AcmAdapter } from '../../shared/aws/acm';
import { Elbv2Adapter } from '../../shared/aws/elbv2';
import { RateLimiter } from '../../shared/aws/rateLimit';
import { Route53Adapter } from '../../shared/aws/route53';
import { SecretsAdapter } from '../../shared/aws/secrets';
import { Route53Client } from '@aws-sdk/client-route-53';
import { AccessDeniedError } from '../../shared/errors';
import { TAG_OWNER } from '../../shared/ownership';
import { desiredOwnershipRecord, desiredRecord, planNamespaceRecords } from '../../shared/plan/records';
import { awsClients, seedAws, startMoto, type AwsClients } from '../../testbed/aws';
import { FaultProxy } from '../../testbed/fault-proxy';
import { IamEnforcer, motoLookups, testAccessKeyId } from '../../testbed/iam/enforcer';
import { ProcessSupervisor } from '../../testbed/lib/proc';
import { readToolPaths } from '../../testbed/testbed';
import { request } from '../fixtures/requests';
import { ACCOUNT, packagedTemplate, PACKAGE_TIMEOUT_MS, REGION } from '../unit/iam/template';

const DOMAIN = 'platform.example.com';
const ALB = 'k8s-istiosys-istioing-0123456789-1234567890.us-west-2.elb.amazonaws.com';

let dir: string;
let supervisor: ProcessSupervisor;
let aws: AwsClients;
let proxy: FaultProxy;
let iam: IamEnforcer;
let zoneId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kserve-edge-iam-'));
  supervisor = new ProcessSupervisor(dir, join(dir, 'procs.json'));
  const moto = await startMoto(supervisor, readToolPaths().motoServer, dir, 0);
  aws = awsClients(moto.url, REGION);
  const seeded = await seedAws(aws, {
    domain: DOMAIN,
    clusterName: 'kubeflow',
    region: REGION,
    apiTokens: ['t'],
    dexLogin: { username: 'u', password: 'p' },
  });
  zoneId = seeded.hostedZoneId;
  const template = packagedTemplate();
  iam = IamEnforcer.fromTemplate(template, {
    deployment: { accountId: ACCOUNT, region: REGION, hostedZoneIds: [zoneId] },
    lookups: motoLookups(moto.url),
  });
  proxy = await FaultProxy.start(moto.url, { iam });
}, PACKAGE_TIMEOUT_MS);

afterAll(async () => {
  await proxy?.stop();
  aws?.destroy();
  await supervisor?.stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const as = (functionKey: string, region = REGION) => ({
  endpoint: proxy.url,
  region,
  maxAttempts: 1,
  credentials: { accessKeyId: testAccessKeyId(functionKey), secretAccessKey: 'testbed' },
});

describe('IAM enforcement against moto', () => {
  it('lets a function read only certificates carrying our owner tag (aws:ResourceTag looked up in moto)', async () => {
    const ours = await aws.acm.send(
      new RequestCertificateCommand({
        DomainName: `*.staging.${DOMAIN}`,
        ValidationMethod: 'DNS',
        Tags: [{ Key: TAG_OWNER, Value: 'kserve-edge' }],
      }),
    );
    const foreign = await aws.acm.send(new RequestCertificateCommand({ DomainName: `*.other.${DOMAIN}`, ValidationMethod: 'DNS' }));
    const acm = new AcmAdapter(new ACMClient(as('checkCertificates')), undefined, new RateLimiter({ perSecond: {} }));
    await expect(acm.describeCertificate(ours.CertificateArn!)).resolves.toMatchObject({ arn: ours.CertificateArn });
    await expect(acm.describeCertificate(foreign.CertificateArn!)).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it('lets EnsureCertificates request a tagged DNS-validated certificate, and nothing else', async () => {
    const acm = new AcmAdapter(new ACMClient(as('ensureCertificates')), undefined, new RateLimiter({ perSecond: {} }));
    const input = { domainName: `*.prod.${DOMAIN}`, subjectAlternativeNames: [], idempotencyToken: 'iamtest1' };
    await expect(acm.requestCertificate({ ...input, tags: { [TAG_OWNER]: 'kserve-edge' } })).resolves.toMatch(/^arn:aws:acm:/);
    await expect(acm.requestCertificate({ ...input, idempotencyToken: 'iamtest2', tags: { team: 'x' } })).rejects.toBeInstanceOf(
      AccessDeniedError,
    );
  });

  it('resolves a secret name to its ARN before evaluating (secrets outside the prefix are refused)', async () => {
    const sm = new SecretsManagerClient({ ...as('x'), credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await sm.send(new CreateSecretCommand({ Name: 'other-team/token', SecretString: 'nope' }));
    const secrets = (fn: string) => new SecretsAdapter(new SecretsManagerClient(as(fn)));
    await expect(secrets('configureCluster').getSecretString('kserve-edge/api-tokens')).resolves.toContain('headerValues');
    await expect(secrets('configureCluster').getSecretString('other-team/token')).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(secrets('checkDnsChange').getSecretString('kserve-edge/api-tokens')).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it('switches a provisioned namespace from CNAME to ALIAS under UpsertDnsRecordsRole (defect 4.1)', async () => {
    const r53 = new Route53Adapter(new Route53Client(as('upsertDnsRecords', 'us-east-1')));
    const cname = request();
    const first = planNamespaceRecords(cname, { namespace: 'staging', target: [], ownership: [] }, ALB);
    await r53.changeRecords(zoneId, first.changes, 'provision');
    const target = await r53.listRecords(zoneId, `*.staging.${DOMAIN}`);
    const ownership = await r53.listRecords(zoneId, `_kserve-edge.staging.${DOMAIN}`);
    expect(target.map((r) => r.type)).toEqual(['CNAME']);

    const alias = request({ dns: { recordType: 'ALIAS' } });
    const switched = planNamespaceRecords(alias, { namespace: 'staging', target, ownership }, ALB);
    expect(switched.changes.map((c) => c.action)).toEqual(['DELETE', 'UPSERT']);
    await r53.changeRecords(zoneId, switched.changes, 'switch to ALIAS');
    const after = await r53.listRecords(zoneId, `*.staging.${DOMAIN}`);
    expect(after).toEqual([desiredRecord(alias, 'staging', ALB)]);
    expect(ownership[0]?.values).toEqual(desiredOwnershipRecord(cname, 'staging').values);

    // The validation-record writer may not touch the namespace's records.
    const validationWriter = new Route53Adapter(new Route53Client(as('publishValidationRecords', 'us-east-1')));
    await expect(
      validationWriter.changeRecords(zoneId, [{ action: 'UPSERT', record: desiredRecord(cname, 'staging', ALB) }], 'x'),
    ).rejects.toBeInstanceOf(AccessDeniedError);
    expect(
      iam
        .decisions()
        .filter((d) => d.decision !== 'Allowed')
        .map((d) => `${d.functionKey} ${d.action}`),
    ).toContain('publishValidationRecords route53:ChangeResourceRecordSets');
  });

  it('lets GetLoadBalancerAddress read ELBv2 (Describe on *), and no other function', async () => {
    const reader = new Elbv2Adapter(new ElasticLoadBalancingV2Client(as('getLoadBalancerAddress')));
    await expect(reader.findByDnsName(ALB)).resolves.toBeUndefined();
    const other = new Elbv2Adapter(new ElasticLoadBalancingV2Client(as('configureCluster')));
    await expect(other.findByDnsName(ALB)).rejects.toBeInstanceOf(AccessDeniedError);
    expect(
      iam
        .decisions()
        .filter((d) => d.action === 'elasticloadbalancing:DescribeLoadBalancers')
        .map((d) => `${d.functionKey} ${d.decision}`),
    ).toEqual(['getLoadBalancerAddress Allowed', expect.stringMatching(/^configureCluster (ImplicitlyDenied|ExplicitlyDenied)$/)]);
  });
});
