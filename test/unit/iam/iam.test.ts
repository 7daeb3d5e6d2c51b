/**
 * IAM as AWS enforces it, against the packaged template: the policy
 * extraction, the request mapping of every call the product makes (captured
 * from the real adapters and SDK clients, so the wire format is the SDK's),
 * and the evaluation of each function's calls against its own role.
 */
import { ACMClient } from '@aws-sdk/client-acm';
import { EKSClient } from '@aws-sdk/client-eks';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { AcmAdapter } from '../../../shared/aws/acm';
import { EksClusterAccess } from '../../../shared/aws/eks';
import { Route53Adapter } from '../../../shared/aws/route53';
import { SecretsAdapter } from '../../../shared/aws/secrets';
import { SfnExecutions } from '../../../shared/aws/sfn';
import { SnsNotifier } from '../../../shared/aws/sns';
import { RateLimiter } from '../../../shared/aws/rateLimit';
import { TAG_OWNER } from '../../../shared/ownership';
import { planDeprovision } from '../../../shared/plan/deprovision';
import { planNamespaceRecords, desiredOwnershipRecord, desiredRecord } from '../../../shared/plan/records';
import type { RecordChange, RecordSet } from '../../../shared/ports';
import { evaluate, type Decision } from '../../../testbed/iam/evaluate';
import { functionPolicies, type FunctionPolicy } from '../../../testbed/iam/policies';
import { normalizeRecordName, toIamRequest, type IamRequest, type WireRequest } from '../../../testbed/iam/requests';
import { request } from '../../fixtures/requests';
import { ACCOUNT, captureServer, DEPLOYMENT, packagedTemplate, PACKAGE_TIMEOUT_MS, REGION, ZONE } from './template';

let fns: Map<string, FunctionPolicy>;

beforeAll(() => {
  fns = functionPolicies(packagedTemplate(), DEPLOYMENT);
}, PACKAGE_TIMEOUT_MS);

const CERT = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555`;
const OURS = { [TAG_OWNER]: 'kserve-edge' };
const creds = { accessKeyId: 'AKIDCAPTURE', secretAccessKey: 'x' };
const ALB = 'k8s-istiosys-istioing-0123456789-1234567890.us-west-2.elb.amazonaws.com';

/** The wire requests `call` makes through SDK clients pointed at a capture server (answers: `{}`). */
async function captured(call: (endpoint: string) => Promise<unknown>): Promise<WireRequest[]> {
  const server = await captureServer();
  try {
    await call(server.url).catch(() => undefined);
    return server.requests;
  } finally {
    await server.close();
  }
}

const common = (endpoint: string) => ({ endpoint, credentials: creds, maxAttempts: 1 });

async function one(call: (endpoint: string) => Promise<unknown>, tags?: Record<string, string>): Promise<IamRequest> {
  const [wire] = await captured(call);
  if (!wire) throw new Error('no request captured');
  const r = toIamRequest(wire, { accountId: ACCOUNT });
  if (tags) for (const [k, v] of Object.entries(tags)) r.context[`aws:ResourceTag/${k}`] = v;
  return r;
}

async function decide(fnKey: string, r: IamRequest): Promise<Decision> {
  const fn = fns.get(fnKey);
  if (!fn) throw new Error(`no function ${fnKey}`);
  return (await evaluate(fn, r, ACCOUNT)).decision;
}

/** The ChangeResourceRecordSets request the Route 53 adapter sends for `changes`. */
function changeBatch(changes: RecordChange[]): Promise<IamRequest> {
  return one((e) => new Route53Adapter(new Route53Client({ ...common(e), region: 'us-east-1' })).changeRecords(ZONE, changes, 'test'));
}

describe('policy extraction from the packaged template', () => {
  it('gives every function its own role, with every intrinsic resolved to a concrete string', () => {
    expect([...fns.keys()].sort()).toEqual(
      [
        'checkCertificates',
        'checkDnsChange',
        'configureCluster',
        'deprovisionNamespace',
        'ensureCertificates',
        'getLoadBalancerAddress',
        'namespaceEvents',
        'notifyFailure',
        'publishValidationRecords',
        'runCanary',
        'scheduledCanary',
        'sweep',
        'upsertDnsRecords',
        'validateRequest',
      ].sort(),
    );
    for (const fn of fns.values()) {
      expect(fn.principalArn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/[^/]+/kserve-edge-ci-${fn.functionKey}$`));
      for (const p of fn.policies) {
        for (const s of p.document.Statement) {
          for (const r of [s.Resource ?? []].flat()) expect(typeof r).toBe('string');
        }
      }
    }
    const upsert = fns.get('upsertDnsRecords')!.policies.flatMap((p) => p.document.Statement);
    expect(upsert.find((s) => s.Sid === 'OwnLogGroup')?.Resource).toBe(
      `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/kserve-edge-ci-upsertDnsRecords:*`,
    );
    // The packaged example zones stand for the deployment's zone.
    expect(upsert.find((s) => s.Sid === 'ReadRecordsToCheckOwnership')?.Resource).toEqual([`arn:aws:route53:::hostedzone/${ZONE}`]);
    const notify = fns.get('notifyFailure')!.policies.flatMap((p) => p.document.Statement);
    expect(notify.find((s) => s.Sid === 'PublishToTheAlertsTopic')?.Resource).toBe(
      `arn:aws:sns:${REGION}:${ACCOUNT}:kserve-edge-ci-alerts`,
    );
    const sweep = fns.get('sweep')!.policies.flatMap((p) => p.document.Statement);
    expect(sweep.find((s) => s.Sid === 'StartRuns')?.Resource).toEqual([
      `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:kserve-edge-provision-ci`,
      `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:kserve-edge-deprovision-ci`,
    ]);
  });
});

describe('request mapping (wire format of the SDK → what IAM evaluates)', () => {
  it('normalizes record names as Route 53 does for its condition key', () => {
    expect(normalizeRecordName('*.Team-A.example.com.')).toBe('\\052.team-a.example.com');
    expect(normalizeRecordName('\\052.team-a.example.com.')).toBe('\\052.team-a.example.com');
    expect(normalizeRecordName('_kserve-edge.staging.example.com')).toBe('_kserve-edge.staging.example.com');
    expect(normalizeRecordName('a b.example.com')).toBe('a\\040b.example.com');
  });

  it('maps a change batch to its actions, record types and normalized names', async () => {
    const r = await changeBatch([
      { action: 'DELETE', record: { name: '*.staging.platform.example.com', type: 'CNAME', ttl: 300, values: [ALB] } },
      {
        action: 'UPSERT',
        record: {
          name: '*.staging.platform.example.com',
          type: 'A',
          alias: { hostedZoneId: 'Z1H1FL5HABSF5', dnsName: `dualstack.${ALB}`, evaluateTargetHealth: true },
        },
      },
      { action: 'UPSERT', record: { name: '_kserve-edge.staging.platform.example.com', type: 'TXT', ttl: 300, values: ['"x"'] } },
    ]);
    expect(r).toMatchObject({
      action: 'route53:ChangeResourceRecordSets',
      resource: `arn:aws:route53:::hostedzone/${ZONE}`,
      protocol: 'rest-xml',
      context: {
        'route53:ChangeResourceRecordSetsActions': ['DELETE', 'UPSERT'],
        'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME', 'A', 'TXT'],
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': [
          '\\052.staging.platform.example.com',
          '_kserve-edge.staging.platform.example.com',
        ],
      },
    });
  });

  it('maps every other call the adapters make', async () => {
    const acm = (e: string) =>
      new AcmAdapter(new ACMClient({ ...common(e), region: REGION }), undefined, new RateLimiter({ perSecond: {} }));
    const r53 = (e: string) => new Route53Adapter(new Route53Client({ ...common(e), region: 'us-east-1' }));
    const cases: Array<[string, (e: string) => Promise<unknown>, Partial<IamRequest>]> = [
      ['acm ListCertificates', (e) => acm(e).listAllCertificateNames(), { action: 'acm:ListCertificates', resource: '*' }],
      ['acm DescribeCertificate', (e) => acm(e).describeCertificate(CERT), { action: 'acm:ListTagsForCertificate', resource: CERT }],
      ['acm DeleteCertificate', (e) => acm(e).deleteCertificate(CERT), { action: 'acm:DeleteCertificate', resource: CERT }],
      [
        'acm RequestCertificate',
        (e) =>
          acm(e).requestCertificate({
            domainName: '*.staging.platform.example.com',
            subjectAlternativeNames: [],
            idempotencyToken: 't',
            tags: OURS,
          }),
        {
          action: 'acm:RequestCertificate',
          resource: '*',
          context: {
            'acm:ValidationMethod': 'DNS',
            'acm:KeyAlgorithm': 'RSA_2048',
            'acm:DomainNames': ['*.staging.platform.example.com'],
            'aws:RequestTag/kserve-edge:owner': 'kserve-edge',
            'aws:TagKeys': ['kserve-edge:owner'],
          },
        },
      ],
      [
        'route53 ListHostedZonesByName',
        (e) => r53(e).findHostedZone('example.com'),
        { action: 'route53:ListHostedZonesByName', resource: '*' },
      ],
      [
        'route53 GetHostedZone',
        (e) => r53(e).getHostedZone(ZONE),
        { action: 'route53:GetHostedZone', resource: `arn:aws:route53:::hostedzone/${ZONE}` },
      ],
      [
        'route53 ListResourceRecordSets',
        (e) => r53(e).listRecords(ZONE, 'a.example.com'),
        { action: 'route53:ListResourceRecordSets', resource: `arn:aws:route53:::hostedzone/${ZONE}` },
      ],
      ['route53 GetChange', (e) => r53(e).getChange('C123'), { action: 'route53:GetChange', resource: 'arn:aws:route53:::change/C123' }],
      [
        'eks DescribeCluster',
        (e) =>
          new EksClusterAccess({
            eksClientFor: (region) => new EKSClient({ ...common(e), region }),
            credentials: async () => creds,
          }).describe({ name: 'kubeflow', region: REGION }),
        { action: 'eks:DescribeCluster', resource: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/kubeflow`, protocol: 'rest-json' },
      ],
      [
        'secretsmanager GetSecretValue',
        (e) => new SecretsAdapter(new SecretsManagerClient({ ...common(e), region: REGION })).getSecretString('kserve-edge/api-tokens'),
        { action: 'secretsmanager:GetSecretValue', resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:kserve-edge/api-tokens` },
      ],
      [
        'sns Publish',
        (e) =>
          new SnsNotifier(
            new SNSClient({ ...common(e), region: REGION }),
            `arn:aws:sns:${REGION}:${ACCOUNT}:kserve-edge-ci-alerts`,
          ).publish('s', 'm'),
        { action: 'sns:Publish', resource: `arn:aws:sns:${REGION}:${ACCOUNT}:kserve-edge-ci-alerts`, protocol: 'query' },
      ],
      [
        'states StartExecution',
        (e) =>
          new SfnExecutions(
            new SFNClient({ ...common(e), region: REGION }),
            `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:kserve-edge-provision-ci`,
          ).start('run-1', {}),
        { action: 'states:StartExecution', resource: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:kserve-edge-provision-ci` },
      ],
      [
        'states DescribeExecution',
        (e) =>
          new SfnExecutions(
            new SFNClient({ ...common(e), region: REGION }),
            `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:kserve-edge-provision-ci`,
          ).status('run-1'),
        { action: 'states:DescribeExecution', resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:kserve-edge-provision-ci:run-1` },
      ],
    ];
    for (const [what, call, want] of cases) {
      const r = await one(call);
      expect({ what, ...r }).toMatchObject({ what, ...want });
    }
  });
});

describe("each function's calls against its own role", () => {
  const cert = (e: string) =>
    new AcmAdapter(new ACMClient({ ...common(e), region: REGION }), undefined, new RateLimiter({ perSecond: {} }));

  it('allows what the steps do and denies the same call to a role that does not need it', async () => {
    const describe = await one((e) => cert(e).describeCertificate(CERT), OURS);
    expect(await decide('checkCertificates', describe)).toBe('Allowed');
    // A certificate without our owner tag is not ours to read.
    expect(await decide('checkCertificates', await one((e) => cert(e).describeCertificate(CERT)))).toBe('ImplicitlyDenied');
    expect(await decide('upsertDnsRecords', describe)).toBe('ImplicitlyDenied');

    const del = await one((e) => cert(e).deleteCertificate(CERT), OURS);
    expect(await decide('deprovisionNamespace', del)).toBe('Allowed');
    expect(await decide('ensureCertificates', del)).toBe('ImplicitlyDenied');

    const getChange = await one((e) => new Route53Adapter(new Route53Client({ ...common(e), region: 'us-east-1' })).getChange('C1'));
    expect(await decide('checkDnsChange', getChange)).toBe('Allowed');
    expect(await decide('runCanary', getChange)).toBe('ImplicitlyDenied');

    const publish = await one((e) =>
      new SnsNotifier(new SNSClient({ ...common(e), region: REGION }), `arn:aws:sns:${REGION}:${ACCOUNT}:kserve-edge-ci-alerts`).publish(
        's',
        'm',
      ),
    );
    expect(await decide('notifyFailure', publish)).toBe('Allowed');
    const elsewhere = await one((e) =>
      new SnsNotifier(new SNSClient({ ...common(e), region: REGION }), `arn:aws:sns:${REGION}:${ACCOUNT}:other`).publish('s', 'm'),
    );
    expect(await decide('notifyFailure', elsewhere)).toBe('ImplicitlyDenied');
  });

  it('lets EnsureCertificates request only DNS-validated certificates that carry our owner tag', async () => {
    const req = (tags: Record<string, string>) =>
      one((e) =>
        cert(e).requestCertificate({
          domainName: '*.staging.platform.example.com',
          subjectAlternativeNames: [],
          idempotencyToken: 't',
          tags,
        }),
      );
    expect(await decide('ensureCertificates', await req(OURS))).toBe('Allowed');
    expect(await decide('ensureCertificates', await req({ team: 'x' }))).toBe('ImplicitlyDenied');
  });
});

describe('every function may make the calls its step makes (and only its own)', () => {
  const zone = `arn:aws:route53:::hostedzone/${ZONE}`;
  const cluster = `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/kubeflow`;
  const secret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:kserve-edge/api-tokens-AbCdEf`;
  const machine = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:kserve-edge-${name}-ci`;
  const execution = (name: string) => `arn:aws:states:${REGION}:${ACCOUNT}:execution:kserve-edge-${name}-ci:run-1`;
  const call = (action: string, resource: string, context: Record<string, string | string[]> = {}): IamRequest => ({
    service: action.slice(0, action.indexOf(':')),
    operation: action.slice(action.indexOf(':') + 1),
    protocol: 'json',
    action,
    resource,
    context,
  });
  const ours = { 'aws:ResourceTag/kserve-edge:owner': 'kserve-edge' };
  const lifecycle = [
    call('eks:DescribeCluster', cluster),
    call('secretsmanager:GetSecretValue', secret),
    call('tag:GetResources', '*'),
    call('acm:DescribeCertificate', CERT, ours),
    call('route53:GetHostedZone', zone),
    call('route53:ListResourceRecordSets', zone),
    call('route53:ListHostedZonesByName', '*'),
    call('states:StartExecution', machine('provision')),
    call('states:StartExecution', machine('deprovision')),
    call('states:DescribeExecution', execution('provision')),
  ];
  const steps: Record<string, IamRequest[]> = {
    validateRequest: [
      call('route53:ListHostedZonesByName', '*'),
      call('route53:GetHostedZone', zone),
      call('eks:DescribeCluster', cluster),
      call('secretsmanager:GetSecretValue', secret),
      call('elasticloadbalancing:DescribeAccountLimits', '*'),
      // ACM's names-per-certificate quota, for bundles (issue 11).
      call('servicequotas:GetServiceQuota', '*'),
      // certificates.release: the released namespaces' ownership TXT (still provisioned → refused).
      call('route53:ListResourceRecordSets', zone),
    ],
    ensureCertificates: [
      call('tag:GetResources', '*'),
      call('acm:DescribeCertificate', CERT, ours),
      // Bundles (issue 11): their size and how many one listener takes.
      call('servicequotas:GetServiceQuota', '*'),
      call('elasticloadbalancing:DescribeAccountLimits', '*'),
    ],
    publishValidationRecords: [
      call('acm:ListTagsForCertificate', CERT, ours),
      call('acm:DescribeCertificate', CERT, ours),
      // Which validation CNAMEs the zone has already (only the others are written).
      call('route53:ListResourceRecordSets', zone),
    ],
    checkCertificates: [call('acm:ListTagsForCertificate', CERT, ours), call('acm:DescribeCertificate', CERT, ours)],
    configureCluster: [
      call('eks:DescribeCluster', cluster),
      call('secretsmanager:GetSecretValue', secret),
      // Reads only (issue 10, defect 2): our certificates and the other namespaces' ownership records.
      call('tag:GetResources', '*'),
      call('acm:DescribeCertificate', CERT, ours),
      call('route53:ListHostedZonesByName', '*'),
      call('route53:GetHostedZone', zone),
      call('route53:ListResourceRecordSets', zone),
      // The certificates-per-ALB quota, for the ALB shards (issue 11).
      call('elasticloadbalancing:DescribeAccountLimits', '*'),
      // Bundles (issue 11): what the ALB holds, and deleting a superseded bundle certificate of ours.
      call('elasticloadbalancing:DescribeLoadBalancers', '*'),
      call('elasticloadbalancing:DescribeListeners', '*'),
      call('elasticloadbalancing:DescribeListenerCertificates', '*'),
      call('acm:DeleteCertificate', CERT, { ...ours, 'aws:ResourceTag/kserve-edge:scope': 'bundle' }),
      // certificates.release: whether any certificate still validates through a deleted bundle's CNAMEs.
      call('acm:ListCertificates', '*'),
    ],
    getLoadBalancerAddress: [
      call('eks:DescribeCluster', cluster),
      call('elasticloadbalancing:DescribeLoadBalancers', '*'),
      call('elasticloadbalancing:DescribeListeners', '*'),
      call('elasticloadbalancing:DescribeListenerCertificates', '*'),
    ],
    upsertDnsRecords: [call('route53:ListResourceRecordSets', zone)],
    checkDnsChange: [call('route53:GetChange', 'arn:aws:route53:::change/C1')],
    runCanary: [call('secretsmanager:GetSecretValue', secret), call('route53:ListResourceRecordSets', zone)],
    notifyFailure: [call('sns:Publish', `arn:aws:sns:${REGION}:${ACCOUNT}:kserve-edge-ci-alerts`)],
    deprovisionNamespace: [
      call('eks:DescribeCluster', cluster),
      call('acm:ListCertificates', '*'),
      call('tag:GetResources', '*'),
      call('acm:DescribeCertificate', CERT, ours),
      call('acm:DeleteCertificate', CERT, ours),
      call('route53:ListHostedZonesByName', '*'),
      call('route53:GetHostedZone', zone),
      call('route53:ListResourceRecordSets', zone),
    ],
    namespaceEvents: lifecycle,
    sweep: lifecycle,
    scheduledCanary: [
      call('secretsmanager:GetSecretValue', secret),
      call('route53:GetHostedZone', zone),
      call('route53:ListResourceRecordSets', zone),
    ],
  };

  it('allows each step its calls', async () => {
    const denied: string[] = [];
    for (const [fnKey, calls] of Object.entries(steps)) {
      for (const c of calls) if ((await decide(fnKey, c)) !== 'Allowed') denied.push(`${fnKey} ${c.action} ${c.resource}`);
    }
    expect(denied).toEqual([]);
  });

  it('denies every other role the writes of a step', async () => {
    const writes: Array<[string, IamRequest]> = [
      ['deprovisionNamespace', call('acm:DeleteCertificate', CERT, ours)],
      ['notifyFailure', call('sns:Publish', `arn:aws:sns:${REGION}:${ACCOUNT}:kserve-edge-ci-alerts`)],
      ['sweep', call('states:StartExecution', machine('provision'))],
    ];
    for (const [owner, c] of writes) {
      const allowed: string[] = [];
      for (const fnKey of fns.keys()) if ((await decide(fnKey, c)) === 'Allowed') allowed.push(fnKey);
      expect({ action: c.action, allowed: allowed.sort() }).toEqual({
        action: c.action,
        allowed: owner === 'sweep' ? ['namespaceEvents', 'sweep'] : [owner],
      });
    }
  });
});

describe("ConfigureCluster: a released namespace's validation CNAME, and nothing else", () => {
  const validation = { name: '_0123456789abcdef0123456789abcdef.team-c.platform.example.com', type: 'CNAME', ttl: 300 };
  it('may DELETE a validation CNAME; not UPSERT it, nor DELETE a namespace record or an ownership TXT', async () => {
    const del = await changeBatch([{ action: 'DELETE', record: { ...validation, values: ['_x.acm-validations.aws.'] } }]);
    expect(await decide('configureCluster', del)).toBe('Allowed');
    const upsert = await changeBatch([{ action: 'UPSERT', record: { ...validation, values: ['_x.acm-validations.aws.'] } }]);
    expect(await decide('configureCluster', upsert)).toBe('ImplicitlyDenied');
    const wildcard = await changeBatch([
      { action: 'DELETE', record: { name: '*.team-c.platform.example.com', type: 'CNAME', ttl: 300, values: [ALB] } },
    ]);
    expect(await decide('configureCluster', wildcard)).toBe('ImplicitlyDenied');
    const txt = await changeBatch([
      { action: 'DELETE', record: { name: '_kserve-edge.team-c.platform.example.com', type: 'TXT', ttl: 300, values: ['"x"'] } },
    ]);
    expect(await decide('configureCluster', txt)).toBe('ImplicitlyDenied');
  });
});

describe('defect 4.1: DNS writes the role forbids', () => {
  const alias = request({ dns: { recordType: 'ALIAS' } });
  const cname = request();
  const ourCname = desiredRecord(cname, 'staging', ALB);
  const ourTxt = desiredOwnershipRecord(cname, 'staging');

  it("UpsertDnsRecords may send the planner's batch for a CNAME → ALIAS switch", async () => {
    const plan = planNamespaceRecords(alias, { namespace: 'staging', target: [ourCname], ownership: [ourTxt] }, ALB);
    expect(plan.changes.map((c) => c.action)).toContain('DELETE');
    expect(await decide('upsertDnsRecords', await changeBatch(plan.changes))).toBe('Allowed');
  });

  it('… and back from ALIAS to CNAME', async () => {
    const ourAlias = desiredRecord(alias, 'staging', ALB);
    const plan = planNamespaceRecords(
      cname,
      { namespace: 'staging', target: [ourAlias], ownership: [desiredOwnershipRecord(alias, 'staging')] },
      ALB,
    );
    expect(plan.changes[0]).toMatchObject({ action: 'DELETE', record: { type: 'A' } });
    expect(await decide('upsertDnsRecords', await changeBatch(plan.changes))).toBe('Allowed');
  });

  it('… and when adopting a record of another type (AAAA)', async () => {
    const foreign: RecordSet = { name: '*.staging.platform.example.com', type: 'AAAA', ttl: 300, values: ['2001:db8::1'] };
    const plan = planNamespaceRecords(request({ adopt: true }), { namespace: 'staging', target: [foreign], ownership: [] }, ALB);
    expect(plan.changes[0]).toMatchObject({ action: 'DELETE', record: { type: 'AAAA' } });
    expect(await decide('upsertDnsRecords', await changeBatch(plan.changes))).toBe('Allowed');
  });

  it('still refuses writes outside the namespace wildcard and ownership names', async () => {
    const www: RecordSet = { name: 'www.platform.example.com', type: 'CNAME', ttl: 300, values: [ALB] };
    expect(await decide('upsertDnsRecords', await changeBatch([{ action: 'DELETE', record: www }]))).toBe('ImplicitlyDenied');
    expect(await decide('upsertDnsRecords', await changeBatch([{ action: 'UPSERT', record: www }]))).toBe('ImplicitlyDenied');
    // The zone's own wildcard is not a namespace's.
    const apex: RecordSet = { ...www, name: '*.example.com' };
    expect(await decide('upsertDnsRecords', await changeBatch([{ action: 'DELETE', record: apex }]))).toBe('ImplicitlyDenied');
    const mx: RecordSet = { name: '*.staging.platform.example.com', type: 'MX', ttl: 300, values: ['10 mail.example.com'] };
    expect(await decide('upsertDnsRecords', await changeBatch([{ action: 'UPSERT', record: mx }]))).toBe('ImplicitlyDenied');
    const create: RecordChange = { action: 'CREATE', record: ourCname };
    expect(await decide('upsertDnsRecords', await changeBatch([create]))).toBe('ImplicitlyDenied');
  });

  it('scopes the validation-record writer to ACM validation names', async () => {
    const validation: RecordSet = {
      name: '_d930b28be6c5927595552b219965053e.staging.platform.example.com',
      type: 'CNAME',
      ttl: 300,
      values: ['_c9edd76ee4a0e2a74388032f3861cc50.ykybfrwcxw.acm-validations.aws.'],
    };
    expect(await decide('publishValidationRecords', await changeBatch([{ action: 'UPSERT', record: validation }]))).toBe('Allowed');
    expect(await decide('publishValidationRecords', await changeBatch([{ action: 'UPSERT', record: ourCname }]))).toBe('ImplicitlyDenied');
    expect(await decide('publishValidationRecords', await changeBatch([{ action: 'DELETE', record: validation }]))).toBe(
      'ImplicitlyDenied',
    );
  });

  it("lets DeprovisionNamespace send the planner's delete batch, and nothing outside our names", async () => {
    const validation: RecordSet = {
      name: '_d930b28be6c5927595552b219965053e.staging.platform.example.com',
      type: 'CNAME',
      ttl: 300,
      values: ['_v.acm-validations.aws.'],
    };
    const plan = planDeprovision({
      namespace: 'staging',
      domain: 'platform.example.com',
      ownerId: 'kserve-edge',
      target: [ourCname],
      ownership: [ourTxt],
      certificates: [
        {
          arn: CERT,
          domainName: '*.staging.platform.example.com',
          names: ['*.staging.platform.example.com'],
          status: 'ISSUED',
          validationRecords: [{ name: validation.name, type: 'CNAME', value: '_v.acm-validations.aws.' }],
          namesWithoutRecord: [],
          inUseBy: [],
          tags: { ...OURS, 'kserve-edge:scope': 'namespace:staging', 'kserve-edge:domain': 'platform.example.com' },
        },
      ],
      allCertificates: [],
      validationRecords: [validation],
    });
    expect(plan.recordChanges.map((c) => c.record.type).sort()).toEqual(['CNAME', 'CNAME', 'TXT']);
    expect(await decide('deprovisionNamespace', await changeBatch(plan.recordChanges))).toBe('Allowed');
    const www: RecordSet = { name: 'www.platform.example.com', type: 'CNAME', ttl: 300, values: [ALB] };
    expect(await decide('deprovisionNamespace', await changeBatch([{ action: 'DELETE', record: www }]))).toBe('ImplicitlyDenied');
    expect(await decide('deprovisionNamespace', await changeBatch([{ action: 'UPSERT', record: ourCname }]))).toBe('ImplicitlyDenied');
  });
});
