/**
 * The AWS proxy with IAM enforcement on: a call outside the caller's role is
 * answered as AWS answers it and never reaches the upstream, and the
 * product's adapters turn each denial into `AccessDenied`. The upstream is a
 * loopback stand-in for moto that records what reaches it.
 */
import { ACMClient } from '@aws-sdk/client-acm';
import { EKSClient } from '@aws-sdk/client-eks';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { AcmAdapter } from '../../../shared/aws/acm';
import { EksClusterAccess } from '../../../shared/aws/eks';
import { RateLimiter } from '../../../shared/aws/rateLimit';
import { Route53Adapter } from '../../../shared/aws/route53';
import { SecretsAdapter } from '../../../shared/aws/secrets';
import { SfnExecutions } from '../../../shared/aws/sfn';
import { SnsNotifier } from '../../../shared/aws/sns';
import { AccessDeniedError } from '../../../shared/errors';
import { TAG_OWNER } from '../../../shared/ownership';
import { FaultProxy } from '../../../testbed/fault-proxy';
import { lambdaRuntimeEnvironment, readPackage } from '../../../local/packaged';
import { IamEnforcer, testAccessKeyId, testAccessKeys, withoutStatement, type RequestLookups } from '../../../testbed/iam/enforcer';
import { functionPolicies } from '../../../testbed/iam/policies';
import { ACCOUNT, captureServer, DEPLOYMENT, packagedTemplate, PACKAGE_TIMEOUT_MS, REGION, ZONE } from './template';

const OURS_CERT = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/aaaaaaaa-0000-0000-0000-000000000001`;
const FOREIGN_CERT = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/bbbbbbbb-0000-0000-0000-000000000002`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:kserve-edge-ci-alerts`;

const lookups: RequestLookups = {
  resourceTags: async (kind, id): Promise<Record<string, string>> =>
    kind === 'acm-certificate' && id === OURS_CERT ? { [TAG_OWNER]: 'kserve-edge' } : {},
  secretArn: async (id) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`,
};

const GET_CHANGE_XML =
  '<?xml version="1.0"?>\n<GetChangeResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C1</Id><Status>INSYNC</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></GetChangeResponse>';

let upstream: Awaited<ReturnType<typeof captureServer>>;
let proxy: FaultProxy;
let iam: IamEnforcer;

beforeAll(async () => {
  const template = packagedTemplate();
  const fns = functionPolicies(template, DEPLOYMENT);
  iam = new IamEnforcer(fns, { deployment: DEPLOYMENT, accessKeys: testAccessKeys(fns.keys()), lookups });
  upstream = await captureServer((req) => {
    if (req.url.startsWith('/2013-04-01/change/')) return { status: 200, headers: { 'content-type': 'text/xml' }, body: GET_CHANGE_XML };
    if (req.headers['x-amz-target'] === 'secretsmanager.GetSecretValue')
      return { status: 200, body: JSON.stringify({ SecretString: 'from-upstream' }) };
    if (req.body.includes('Action=Publish')) {
      return {
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body: '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m1</MessageId></PublishResult></PublishResponse>',
      };
    }
    return { status: 200, body: '{}' };
  });
  proxy = await FaultProxy.start(upstream.url, { iam });
}, PACKAGE_TIMEOUT_MS);

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
});

/** SDK client options for `functionKey`'s credentials, through the proxy, one attempt. */
const as = (functionKey: string, region = REGION) => ({
  endpoint: proxy.url,
  region,
  maxAttempts: 1,
  credentials: { accessKeyId: testAccessKeyId(functionKey), secretAccessKey: 'testbed' },
});

function principal(functionKey: string): string {
  return iam.functions.get(functionKey)!.principalArn;
}

describe('IAM enforcement in the AWS proxy', () => {
  it('denies a Route 53 call outside the role with AWS’s 403 AccessDenied, and the adapter raises AccessDenied', async () => {
    const raw = new Route53Client(as('upsertDnsRecords', 'us-east-1'));
    let caught: unknown;
    try {
      await new Route53Adapter(raw).getChange('C1');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AccessDeniedError);
    const cause = (caught as Error).cause as { name: string; message: string; $metadata: { httpStatusCode: number } };
    expect(cause.name).toBe('AccessDenied');
    expect(cause.$metadata.httpStatusCode).toBe(403);
    expect(cause.message).toBe(
      `User: ${principal('upsertDnsRecords')} is not authorized to perform: route53:GetChange on resource: arn:aws:route53:::change/C1 because no identity-based policy allows the route53:GetChange action`,
    );
    expect(principal('upsertDnsRecords')).toMatch(
      new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/[^/]+/kserve-edge-ci-upsertDnsRecords$`),
    );
    expect(upstream.requests).toHaveLength(0);
  });

  it('forwards an allowed call to the upstream', async () => {
    await expect(new Route53Adapter(new Route53Client(as('checkDnsChange', 'us-east-1'))).getChange('C1')).resolves.toBe('INSYNC');
    expect(upstream.requests.map((r) => r.url)).toEqual(['/2013-04-01/change/C1']);
  });

  it('denies JSON-protocol calls with 400 AccessDeniedException (ACM by resource tag, Step Functions, Secrets Manager)', async () => {
    const acm = new AcmAdapter(new ACMClient(as('checkCertificates')), undefined, new RateLimiter({ perSecond: {} }));
    // ListTagsForCertificate is allowed on any of our certificates, and so is the describe that follows.
    await acm.describeCertificate(OURS_CERT).catch(() => undefined);
    expect(upstream.requests.map((r) => r.headers['x-amz-target'])).toEqual([
      'CertificateManager.ListTagsForCertificate',
      'CertificateManager.DescribeCertificate',
    ]);
    // A certificate without our owner tag is refused before it is read.
    const foreign = await acm.describeCertificate(FOREIGN_CERT).catch((err: unknown) => err);
    expect(foreign).toBeInstanceOf(AccessDeniedError);
    const cause = (foreign as Error).cause as { name: string; $metadata: { httpStatusCode: number } };
    expect(cause).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });

    const sfn = new SfnExecutions(
      new SFNClient(as('notifyFailure')),
      `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:kserve-edge-provision-ci`,
    );
    await expect(sfn.start('run-1', {})).rejects.toBeInstanceOf(AccessDeniedError);

    const secrets = new SecretsAdapter(new SecretsManagerClient(as('checkDnsChange')));
    await expect(secrets.getSecretString('kserve-edge/api-tokens')).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(
      new SecretsAdapter(new SecretsManagerClient(as('configureCluster'))).getSecretString('kserve-edge/api-tokens'),
    ).resolves.toBe('from-upstream');
  });

  it('denies SNS with 403 AuthorizationError and EKS with 403 AccessDeniedException', async () => {
    const sns = new SnsNotifier(new SNSClient(as('notifyFailure')), `arn:aws:sns:${REGION}:${ACCOUNT}:someone-elses-topic`);
    const snsErr = await sns.publish('s', 'm').catch((err: unknown) => err);
    expect(snsErr).toBeInstanceOf(AccessDeniedError);
    // The SDK names SNS's `AuthorizationError` code AuthorizationErrorException; errors.ts maps it by its 403.
    expect((snsErr as Error).cause).toMatchObject({ name: 'AuthorizationErrorException', $metadata: { httpStatusCode: 403 } });
    expect(((snsErr as Error).cause as Error).message).toContain('is not authorized to perform: SNS:Publish on resource: arn:aws:sns:');
    await expect(new SnsNotifier(new SNSClient(as('notifyFailure')), TOPIC).publish('s', 'm')).resolves.toBeUndefined();

    const eks = new EksClusterAccess({
      eksClientFor: (region) => new EKSClient(as('upsertDnsRecords', region)),
      credentials: async () => as('x').credentials,
    });
    const eksErr = await eks.describe({ name: 'kubeflow', region: REGION }).catch((err: unknown) => err);
    expect(eksErr).toBeInstanceOf(AccessDeniedError);
    expect((eksErr as Error).cause).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
  });

  it('lets calls signed with a key it does not know pass (the testbed’s own set-up)', async () => {
    const setup = new Route53Client({ ...as('x', 'us-east-1'), credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await setup.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE })).catch(() => undefined);
    expect(upstream.requests).toHaveLength(1);
  });

  it('refuses a known caller’s call it cannot map, rather than letting it through unevaluated', async () => {
    const raw = new ACMClient(as('ensureCertificates'));
    const { ExportCertificateCommand } = await import('@aws-sdk/client-acm');
    const err = (await raw
      .send(new ExportCertificateCommand({ CertificateArn: OURS_CERT, Passphrase: Buffer.from('x') }))
      .catch((e: unknown) => e)) as {
      $metadata?: { httpStatusCode?: number };
    };
    expect(err.$metadata?.httpStatusCode).toBe(502);
    expect(upstream.requests).toHaveLength(0);
    expect(iam.decisions().at(-1)).toMatchObject({ functionKey: 'ensureCertificates', decision: 'Unmapped' });
  });

  it('knows every packaged worker by the access key the runner gives it (one scheme for both)', () => {
    const workers = readPackage();
    expect(Object.keys(workers).sort()).toEqual([...iam.functions.keys()].sort());
    for (const key of Object.keys(workers)) {
      const env = lambdaRuntimeEnvironment(workers[key]!, REGION, '/var/task');
      const authorization = `AWS4-HMAC-SHA256 Credential=${env.AWS_ACCESS_KEY_ID}/20260101/${REGION}/acm/aws4_request, SignedHeaders=host, Signature=0`;
      expect(iam.callerOf({ headers: { authorization }, url: '/' })?.functionKey).toBe(key);
    }
  });

  it('runs a function with a permission taken out, until restored', async () => {
    const acm = new AcmAdapter(new ACMClient(as('checkCertificates')), undefined, new RateLimiter({ perSecond: {} }));
    const restore = iam.overridePolicies('checkCertificates', (p) => withoutStatement(p, 'ReadOurCertificates'));
    try {
      await expect(acm.describeCertificate(OURS_CERT)).rejects.toBeInstanceOf(AccessDeniedError);
    } finally {
      restore();
    }
    expect(iam.decisions().at(-1)).toMatchObject({ functionKey: 'checkCertificates', decision: 'ImplicitlyDenied' });
    expect(() => withoutStatement(iam.functions.get('checkCertificates')!.policies, 'NoSuchSid')).toThrow(RangeError);
    await acm.describeCertificate(OURS_CERT).catch(() => undefined);
    expect(iam.decisions().at(-1)).toMatchObject({ functionKey: 'checkCertificates', decision: 'Allowed' });
  });
});
