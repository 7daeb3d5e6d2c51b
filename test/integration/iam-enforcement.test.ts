/**
 * IAM enforcement against moto, end to end through the AWS proxy: each
 * function signs with its own test access key, the proxy evaluates the call
 * against that function's role from the packaged template (resource tags and
 * secret ARNs looked up in moto), and the product's adapters see AWS's
 * denials as `AccessDenied`.
 *
 * Defect 4.1 (issue 10): switching a provisioned namespace from CNAME to
 * ALIAS sends a DELETE with the UPSERT; UpsertDnsRecordsRole now allows it.
 *
 * The second part proves that enforcement is on where every end-to-end suite
 * runs: the testbed's own `env.AWS_ENDPOINT_URL`, with the credentials the
 * packaged workers get. A worker's call outside its role is denied, a product
 * run that needs a permission taken out of the template fails with
 * `AccessDenied`, and the whole provision flow, CNAME then ALIAS, succeeds.
 */
import { ACMClient, DeleteCertificateCommand, ListCertificatesCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
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
import { IamEnforcer, motoLookups, testAccessKeyId, withoutStatement } from '../../testbed/iam/enforcer';
import { ProcessSupervisor } from '../../testbed/lib/proc';
import { readToolPaths, startTestbed, type Testbed } from '../../testbed/testbed';
import { cognitoRequest } from './harness';
import { lambdasFor } from './lambdas';
import { failureOf } from './reliability';
import { awsFor, listRecords, provisionWith } from './workflow';
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

  it('lets GetLoadBalancerAddress (and ConfigureCluster, for bundle swaps) read ELBv2 (Describe on *), and no other function', async () => {
    const reader = new Elbv2Adapter(new ElasticLoadBalancingV2Client(as('getLoadBalancerAddress')));
    await expect(reader.findByDnsName(ALB)).resolves.toBeUndefined();
    // ConfigureCluster reads what the ALB holds before a superseded bundle certificate goes (issue 11, bundles).
    const swapper = new Elbv2Adapter(new ElasticLoadBalancingV2Client(as('configureCluster')));
    await expect(swapper.findByDnsName(ALB)).resolves.toBeUndefined();
    const other = new Elbv2Adapter(new ElasticLoadBalancingV2Client(as('upsertDnsRecords')));
    await expect(other.findByDnsName(ALB)).rejects.toBeInstanceOf(AccessDeniedError);
    expect(
      iam
        .decisions()
        .filter((d) => d.action === 'elasticloadbalancing:DescribeLoadBalancers')
        .map((d) => `${d.functionKey} ${d.decision}`),
    ).toEqual([
      'getLoadBalancerAddress Allowed',
      'configureCluster Allowed',
      expect.stringMatching(/^upsertDnsRecords (ImplicitlyDenied|ExplicitlyDenied)$/),
    ]);
  });
});

describe('IAM enforcement in the end-to-end testbed (what every suite runs against)', () => {
  let tb: Testbed;
  let base: Record<string, unknown>;

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: ['staging'], clusterName: 'kubeflow', region: REGION });
    base = cognitoRequest(tb, { domain: DOMAIN, region: REGION, namespaces: ['staging'] });
  }, 240_000);

  afterAll(async () => {
    await tb?.stop();
  }, 60_000);

  /** SDK settings exactly as `functionKey`'s packaged worker has them (endpoint and credentials from its environment). */
  const asWorker = (functionKey: string, region = REGION) => {
    const env = lambdasFor({ ...tb.env, LOG_LEVEL: 'silent' }).environmentOf(functionKey);
    return {
      endpoint: env.AWS_ENDPOINT_URL!,
      region,
      maxAttempts: 1,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    };
  };

  it('denies a worker-signed call outside its role, as AWS answers it, through the testbed endpoint', async () => {
    expect(tb.iam).toBeDefined();
    // Something that exists, so only IAM can refuse it.
    const { CertificateArn } = await tb.aws.acm.send(
      new RequestCertificateCommand({
        DomainName: `*.iam.${DOMAIN}`,
        ValidationMethod: 'DNS',
        Tags: [{ Key: TAG_OWNER, Value: 'kserve-edge' }],
      }),
    );
    const notify = new ACMClient(asWorker('notifyFailure'));
    await expect(notify.send(new DeleteCertificateCommand({ CertificateArn }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(
        /^User: arn:aws:sts::123456789012:assumed-role\/[^/]*NotifyFailureRole\/[^ ]+ is not authorized to perform: acm:DeleteCertificate on resource: arn:aws:acm:/,
      ),
    });
    // Still there: the denial never reached moto.
    const left = await tb.aws.acm.send(new ListCertificatesCommand({}));
    expect(left.CertificateSummaryList?.map((c) => c.CertificateArn)).toContain(CertificateArn);

    // UpsertDnsRecords may write a namespace wildcard and its ownership TXT, not the zone apex.
    const r53 = new Route53Client(asWorker('upsertDnsRecords', 'us-east-1'));
    const write = (name: string) =>
      r53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: tb.hostedZoneId,
          ChangeBatch: {
            Changes: [
              { Action: 'UPSERT', ResourceRecordSet: { Name: name, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.1' }] } },
            ],
          },
        }),
      );
    await expect(write(DOMAIN)).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    await expect(write(`www.${DOMAIN}`)).rejects.toMatchObject({ name: 'AccessDenied' });
    expect((await listRecords(awsFor(tb.motoUrl, REGION).route53, tb.hostedZoneId)).map((r) => r.name)).not.toContain(`www.${DOMAIN}`);
    const denied = tb.iam!.decisions().filter((d) => d.decision !== 'Allowed');
    expect(denied.map((d) => `${d.functionKey} ${d.action}`)).toEqual([
      'notifyFailure acm:DeleteCertificate',
      'upsertDnsRecords route53:ChangeResourceRecordSets',
      'upsertDnsRecords route53:ChangeResourceRecordSets',
    ]);
  }, 60_000);

  it('provisions under enforcement, then switches the namespace from CNAME to ALIAS end to end (defect 4.1)', async () => {
    const before = tb.iam!.decisions().length;
    const first = await provisionWith(tb.env, base, 'iam-e2e-cname');
    if (first.status !== 'SUCCEEDED') throw new Error(`CNAME run failed: ${JSON.stringify(first.error)}`);
    const { route53 } = awsFor(tb.motoUrl, REGION);
    const alb = (first.output as { loadBalancer: { hostname: string } }).loadBalancer.hostname;
    expect(await listRecords(route53, tb.hostedZoneId)).toContainEqual({ name: `*.staging.${DOMAIN}`, type: 'CNAME', values: [alb] });

    const second = await provisionWith(tb.env, { ...base, dns: { recordType: 'ALIAS' } }, 'iam-e2e-alias');
    if (second.status !== 'SUCCEEDED') throw new Error(`ALIAS run failed: ${JSON.stringify(second.error)}`);
    const records = (await listRecords(route53, tb.hostedZoneId)).filter((r) => r.name === `*.staging.${DOMAIN}`);
    expect(records.map((r) => [r.type, r.alias?.replace(/\.$/, '').replace(/^dualstack\./, '')])).toEqual([['A', alb]]);
    expect((second.output as { canary: { namespaces: Array<{ status: number }> } }).canary.namespaces.map((n) => n.status)).toEqual([200]);

    // Every function that calls AWS was evaluated, and nothing was denied.
    const decisions = tb.iam!.decisions().slice(before);
    expect(decisions.filter((d) => d.decision !== 'Allowed')).toEqual([]);
    expect(new Set(decisions.map((d) => d.functionKey))).toEqual(
      new Set([
        'validateRequest',
        'ensureCertificates',
        'publishValidationRecords',
        'checkCertificates',
        'configureCluster',
        'getLoadBalancerAddress',
        'upsertDnsRecords',
        'checkDnsChange',
        'runCanary',
      ]),
    );
    const batches = decisions.filter((d) => d.functionKey === 'upsertDnsRecords' && d.action === 'route53:ChangeResourceRecordSets');
    expect(batches.length).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('fails a run with AccessDenied when the role lacks a permission the step needs', async () => {
    const restore = tb.iam!.overridePolicies('checkCertificates', (p) => withoutStatement(p, 'ReadOurCertificates'));
    try {
      const result = await provisionWith(tb.env, base, 'iam-e2e-missing-permission');
      expect(result.status).toBe('FAILED');
      const failure = failureOf(result);
      expect(failure.failState).toBe('AccessDenied');
      expect(failure.message).toMatch(
        /CheckCertificatesRole\/[^ ]+ is not authorized to perform: acm:(DescribeCertificate|ListTagsForCertificate) on resource: arn:aws:acm:/,
      );
      expect(result.states.map((s) => s.name)).toContain('CheckCertificates');
      expect(result.states.map((s) => s.name)).not.toContain('ConfigureCluster');
    } finally {
      restore();
    }
  }, 300_000);

  it('ends the run with AccessDenied when the canary may not read the zone, instead of waiting for DNS', async () => {
    const restore = tb.iam!.overridePolicies('runCanary', (p) => withoutStatement(p, 'ReadRecordsForRoute53Resolver'));
    try {
      const started = Date.now();
      const result = await provisionWith(tb.env, base, 'iam-e2e-canary-denied');
      expect(result.status).toBe('FAILED');
      const failure = failureOf(result);
      expect(failure.failState).toBe('AccessDenied');
      expect(failure.message).toMatch(/RunCanaryRole\/[^ ]+ is not authorized to perform: route53:GetHostedZone/);
      // One RunCanary attempt, not a wait until the canary deadline.
      expect(result.states.filter((s) => s.name === 'RunCanary')).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(120_000);
    } finally {
      restore();
    }
  }, 300_000);
});
