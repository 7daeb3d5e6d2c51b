/**
 * The bad-input catalog: malformed requests, each run through the whole
 * provision.asl.json with the real handlers against the testbed. Every one
 * must end in its named Fail state (InvalidRequest, InvalidSecret,
 * HostedZoneNotFound, ClusterNotFound, VpcRequired) after NotifyFailure, and nothing may
 * reach moto or the API server:
 *
 * - the product talks to moto through the fault proxy (no faults configured),
 *   which records every AWS operation: no write operation may appear;
 * - ACM certificates, the zone's record sets and the resourceVersions of
 *   config-domain, every Ingress and every AuthorizationPolicy are compared
 *   before and after each case.
 */
import { UpdateClusterConfigCommand } from '@aws-sdk/client-eks';
import { CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { FaultProxy } from '../../testbed/fault-proxy';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { parseErrorCause } from '../../local/lambda';
import { AWS_WRITE_OPERATIONS, failureOf, run, snapshot, writeFigures } from './reliability';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const STRONG = 'Zt3o9w1Qm2xVb7Rk4Lp8Hs6Jd0Fy5Nc';

type Req = Record<string, unknown>;
type Expected = 'InvalidRequest' | 'InvalidSecret' | 'HostedZoneNotFound' | 'ClusterNotFound' | 'VpcRequired';

interface Case {
  label: string;
  /** Builds the request from a valid one; secret ids come from `secrets`. */
  input: (base: Req, secrets: Record<string, string>) => unknown;
  error: Expected;
  /** For InvalidRequest / InvalidSecret: the field the message must name. */
  path?: string;
}

/** Secrets seeded for the secret cases: name → SecretString. */
const SECRETS: Record<string, string> = {
  weakShort: JSON.stringify({ headerValues: ['token1'] }),
  weakRepeated: JSON.stringify({ headerValues: ['token1token1token1'] }),
  weakPlaceholder: JSON.stringify({ headerValues: ['changeme12345678'] }),
  weakOneChar: JSON.stringify({ headerValues: ['a'.repeat(24)] }),
  weakSequence: JSON.stringify({ headerValues: ['0123456789abcdefghij'] }),
  quoteBreakout: JSON.stringify({ headerValues: ['Zt3o9w1Qm2xVb7"],"Values":["*'] }),
  albWildcard: JSON.stringify({ headerValues: ['Zt3o9w1Qm2xVb7Rk4L*'] }),
  tooMany: JSON.stringify({ headerValues: [STRONG, `${STRONG}a`, `${STRONG}b`, `${STRONG}c`] }),
  caseDuplicate: JSON.stringify({ headerValues: [STRONG, STRONG.toLowerCase()] }),
  tooLong: JSON.stringify({ headerValues: [`${STRONG}${'x9Q'.repeat(40)}`] }),
  notJson: STRONG,
  notArray: JSON.stringify({ headerValues: STRONG }),
  spaceInside: JSON.stringify({ headerValues: ['Zt3o9w1Qm2 xVb7Rk4Lp8'] }),
  emptyList: JSON.stringify({ headerValues: [] }),
  dexNoPassword: JSON.stringify({ username: 'user@example.com' }),
};

const cognito = (base: Req, auth: Req): Req => ({ ...base, auth: { ...(base.auth as Req), ...auth } });
const secretCase = (label: string, key: keyof typeof SECRETS, path = 'headerValues[0]'): Case => ({
  label: `secret: ${label}`,
  input: (base, s) => cognito(base, { headerValuesSecretId: s[key] }),
  error: 'InvalidSecret',
  path,
});

const CASES: Case[] = [
  // ---- wrong types and shapes (a request that is not an object at all: see the last test)
  { label: 'request is an empty object', input: () => ({}), error: 'InvalidRequest', path: 'domain' },
  { label: 'namespaces is a string', input: (b) => ({ ...b, namespaces: 'staging' }), error: 'InvalidRequest', path: 'namespaces' },
  { label: 'domain is a number', input: (b) => ({ ...b, domain: 42 }), error: 'InvalidRequest', path: 'domain' },
  {
    label: 'region is an array',
    input: (b) => ({ ...b, cluster: { name: 'kubeflow', region: [REGION] } }),
    error: 'InvalidRequest',
    path: 'cluster.region',
  },
  { label: 'adopt is the string "true"', input: (b) => ({ ...b, adopt: 'true' }), error: 'InvalidRequest', path: 'adopt' },
  { label: 'dns.ttl is a string', input: (b) => ({ ...b, dns: { ttl: '300' } }), error: 'InvalidRequest', path: 'dns.ttl' },
  {
    label: 'canary timeout is fractional',
    input: (b) => ({ ...b, canary: { timeoutSeconds: 1.5 } }),
    error: 'InvalidRequest',
    path: 'canary.timeoutSeconds',
  },
  {
    label: 'negative deadline',
    input: (b) => ({ ...b, deadlines: { loadBalancerSeconds: -1 } }),
    error: 'InvalidRequest',
    path: 'deadlines.loadBalancerSeconds',
  },
  {
    label: 'deadline beyond ACM’s 72 h',
    input: (b) => ({ ...b, deadlines: { certificateSeconds: 72 * 3600 + 1 } }),
    error: 'InvalidRequest',
    path: 'deadlines.certificateSeconds',
  },
  {
    label: 'unknown certificate mode',
    input: (b) => ({ ...b, certificates: { mode: 'wildcard' } }),
    error: 'InvalidRequest',
    path: 'certificates.mode',
  },
  { label: 'unknown record type', input: (b) => ({ ...b, dns: { recordType: 'AAAA' } }), error: 'InvalidRequest', path: 'dns.recordType' },
  { label: 'missing cluster', input: (b) => ({ ...b, cluster: undefined }), error: 'InvalidRequest', path: 'cluster' },
  { label: 'unknown auth provider', input: (b) => ({ ...b, auth: { provider: 'okta' } }), error: 'InvalidRequest', path: 'auth.provider' },
  {
    label: 'dex without its login secret',
    input: (b) => ({ ...b, auth: { provider: 'dex' } }),
    error: 'InvalidRequest',
    path: 'auth.loginSecretId',
  },

  // ---- DNS names
  { label: 'uppercase domain', input: (b) => ({ ...b, domain: 'Platform.Example.com' }), error: 'InvalidRequest', path: 'domain' },
  { label: 'wildcard domain', input: (b) => ({ ...b, domain: `*.${DOMAIN}` }), error: 'InvalidRequest', path: 'domain' },
  {
    label: 'wildcard inside the domain',
    input: (b) => ({ ...b, domain: 'platform.*.example.com' }),
    error: 'InvalidRequest',
    path: 'domain',
  },
  { label: 'empty label', input: (b) => ({ ...b, domain: 'platform..example.com' }), error: 'InvalidRequest', path: 'domain' },
  {
    label: 'label starting with a hyphen',
    input: (b) => ({ ...b, domain: '-platform.example.com' }),
    error: 'InvalidRequest',
    path: 'domain',
  },
  {
    label: 'underscore in the domain',
    input: (b) => ({ ...b, domain: 'platform_x.example.com' }),
    error: 'InvalidRequest',
    path: 'domain',
  },
  { label: 'single-label domain', input: (b) => ({ ...b, domain: 'localhost' }), error: 'InvalidRequest', path: 'domain' },
  { label: 'numeric top-level label', input: (b) => ({ ...b, domain: 'platform.example.123' }), error: 'InvalidRequest', path: 'domain' },
  {
    label: 'label of 64 characters',
    input: (b) => ({ ...b, domain: `${'a'.repeat(64)}.example.com` }),
    error: 'InvalidRequest',
    path: 'domain',
  },
  {
    label: 'domain too long for *.<ns>.',
    input: (b) => ({ ...b, domain: `${Array.from({ length: 5 }, () => 'a'.repeat(50)).join('.')}.com` }),
    error: 'InvalidRequest',
    path: 'domain',
  },
  { label: 'trailing dot', input: (b) => ({ ...b, domain: `${DOMAIN}.` }), error: 'InvalidRequest', path: 'domain' },
  { label: 'space in the domain', input: (b) => ({ ...b, domain: 'platform example.com' }), error: 'InvalidRequest', path: 'domain' },
  {
    label: 'non-ASCII domain (not punycode)',
    input: (b) => ({ ...b, domain: 'plätform.example.com' }),
    error: 'InvalidRequest',
    path: 'domain',
  },
  { label: 'domain with no hosted zone', input: (b) => ({ ...b, domain: 'platform.example.net' }), error: 'HostedZoneNotFound' },
  {
    label: 'hosted zone id that does not exist',
    input: (b) => ({ ...b, hostedZoneId: 'Z0000000000NOSUCHZONE' }),
    error: 'HostedZoneNotFound',
  },
  { label: 'hosted zone of another domain', input: (b, s) => ({ ...b, hostedZoneId: s.otherZoneId }), error: 'HostedZoneNotFound' },
  {
    label: 'hosted zone id with a path',
    input: (b) => ({ ...b, hostedZoneId: 'Z123/../../x' }),
    error: 'InvalidRequest',
    path: 'hostedZoneId',
  },

  // ---- namespaces
  { label: 'uppercase namespace', input: (b) => ({ ...b, namespaces: ['Staging'] }), error: 'InvalidRequest', path: 'namespaces[0]' },
  {
    label: 'underscore in a namespace',
    input: (b) => ({ ...b, namespaces: ['staging_1'] }),
    error: 'InvalidRequest',
    path: 'namespaces[0]',
  },
  {
    label: 'namespace ending with a hyphen',
    input: (b) => ({ ...b, namespaces: ['staging-'] }),
    error: 'InvalidRequest',
    path: 'namespaces[0]',
  },
  { label: 'namespace with a dot', input: (b) => ({ ...b, namespaces: ['team.a'] }), error: 'InvalidRequest', path: 'namespaces[0]' },
  { label: 'wildcard namespace', input: (b) => ({ ...b, namespaces: ['*'] }), error: 'InvalidRequest', path: 'namespaces[0]' },
  {
    label: 'namespace of 64 characters',
    input: (b) => ({ ...b, namespaces: ['n'.repeat(64)] }),
    error: 'InvalidRequest',
    path: 'namespaces[0]',
  },
  { label: 'empty namespace', input: (b) => ({ ...b, namespaces: [''] }), error: 'InvalidRequest', path: 'namespaces[0]' },
  { label: 'no namespaces', input: (b) => ({ ...b, namespaces: [] }), error: 'InvalidRequest', path: 'namespaces' },
  {
    label: 'repeated namespace',
    input: (b) => ({ ...b, namespaces: ['staging', 'staging'] }),
    error: 'InvalidRequest',
    path: 'namespaces',
  },
  {
    // 25 namespaces fit since ALB shards (issue 11 item 1); the request's own cap is 500.
    label: '501 namespaces (more than the request takes)',
    input: (b) => ({ ...b, namespaces: Array.from({ length: 501 }, (_, i) => `ns${i}`) }),
    error: 'InvalidRequest',
    path: 'namespaces',
  },
  {
    label: 'single mode beyond ACM’s 10 names',
    input: (b) => ({ ...b, certificates: { mode: 'single' }, namespaces: Array.from({ length: 10 }, (_, i) => `ns${i}`) }),
    error: 'InvalidRequest',
    path: 'namespaces',
  },
  {
    // Flat: <model>-<namespace> is ONE DNS label; sklearn-irisv2 (14) + '-' + 49 characters = 64.
    label: 'flat hostname label of 64 characters',
    input: (b) => ({ ...b, hostnames: 'flat', namespaces: [`n${'a'.repeat(48)}`] }),
    error: 'InvalidRequest',
    path: 'namespaces[0]',
  },
  {
    label: 'unknown hostname layout',
    input: (b) => ({ ...b, hostnames: 'wide' }),
    error: 'InvalidRequest',
    path: 'hostnames',
  },
  {
    label: 'canary namespace not in the request',
    input: (b) => ({ ...b, canary: { namespaces: ['prod'] } }),
    error: 'InvalidRequest',
    path: 'canary.namespaces[0]',
  },

  // ---- the ALB http-header condition
  {
    label: 'header name of 41 characters',
    input: (b) => cognito(b, { headerName: `x-${'k'.repeat(39)}` }),
    error: 'InvalidRequest',
    path: 'auth.headerName',
  },
  { label: 'header name Host', input: (b) => cognito(b, { headerName: 'Host' }), error: 'InvalidRequest', path: 'auth.headerName' },
  {
    label: 'header name Authorization',
    input: (b) => cognito(b, { headerName: 'authorization' }),
    error: 'InvalidRequest',
    path: 'auth.headerName',
  },
  {
    label: 'wildcard in the header name',
    input: (b) => cognito(b, { headerName: 'x-api-*' }),
    error: 'InvalidRequest',
    path: 'auth.headerName',
  },
  {
    label: 'space in the header name',
    input: (b) => cognito(b, { headerName: 'x api key' }),
    error: 'InvalidRequest',
    path: 'auth.headerName',
  },
  { label: 'empty header name', input: (b) => cognito(b, { headerName: '' }), error: 'InvalidRequest', path: 'auth.headerName' },
  {
    label: 'non-ASCII header name',
    input: (b) => cognito(b, { headerName: 'x-äpi-key' }),
    error: 'InvalidRequest',
    path: 'auth.headerName',
  },
  secretCase('token1', 'weakShort'),
  secretCase('token1token1token1', 'weakRepeated'),
  secretCase('changeme12345678', 'weakPlaceholder'),
  secretCase('one character repeated', 'weakOneChar'),
  secretCase('alphabet sequence', 'weakSequence'),
  secretCase('more than 128 characters', 'tooLong'),
  secretCase('ALB wildcard * in a value', 'albWildcard'),
  secretCase('space in a value', 'spaceInside'),
  secretCase('four values (the ALB evaluates three)', 'tooMany', 'headerValues'),
  secretCase('no values', 'emptyList', 'headerValues'),
  secretCase('values equal but for case', 'caseDuplicate', 'headerValues[1]'),
  secretCase('not JSON', 'notJson', ''),
  secretCase('headerValues not a list', 'notArray', 'headerValues'),
  {
    label: 'secret: does not exist',
    input: (b) => cognito(b, { headerValuesSecretId: 'kserve-edge/no-such-secret' }),
    error: 'InvalidSecret',
    path: '',
  },
  {
    label: 'secret: Dex login without a password',
    input: (b, s) => ({ ...b, auth: { provider: 'dex', loginSecretId: s.dexNoPassword } }),
    error: 'InvalidSecret',
    path: 'password',
  },

  // ---- unknown fields
  { label: 'unknown top-level field', input: (b) => ({ ...b, dryRun: true }), error: 'InvalidRequest', path: '(root)' },
  {
    label: 'header values inline instead of a secret',
    input: (b) => cognito(b, { headerValues: [STRONG] }),
    error: 'InvalidRequest',
    path: 'auth',
  },
  {
    label: 'unknown cluster field',
    input: (b) => ({ ...b, cluster: { name: 'kubeflow', region: REGION, endpoint: 'https://10.0.0.1' } }),
    error: 'InvalidRequest',
    path: 'cluster',
  },
  {
    label: 'unknown canary field',
    input: (b) => ({ ...b, canary: { insecureSkipVerify: true } }),
    error: 'InvalidRequest',
    path: 'canary',
  },
  {
    label: 'Cognito field on a Dex request',
    input: (b, s) => ({ ...b, auth: { provider: 'dex', loginSecretId: s.dexLogin, headerName: 'x-api-key' } }),
    error: 'InvalidRequest',
    path: 'auth',
  },

  // ---- size
  {
    label: 'input near the 256 KB payload limit (250 KB)',
    input: (b) => ({
      ...b,
      canary: { input: { inputs: [{ name: 'input-0', shape: [1], datatype: 'BYTES', data: ['x'.repeat(250 * 1024)] }] } },
    }),
    error: 'InvalidRequest',
    path: '(root)',
  },
  {
    label: 'input just over the 32 KB request limit',
    input: (b) => ({ ...b, canary: { expected: { data: ['y'.repeat(33 * 1024)] } } }),
    error: 'InvalidRequest',
    path: '(root)',
  },

  // ---- strings that would break out of an annotation's JSON or the ownership TXT
  {
    label: 'header name closing the conditions JSON',
    input: (b) => cognito(b, { headerName: 'x-api-key", "Values":["*"]}}]' }),
    error: 'InvalidRequest',
    path: 'auth.headerName',
  },
  secretCase('quote closing the Values array', 'quoteBreakout'),
  {
    label: 'domain with a quote',
    input: (b) => ({ ...b, domain: 'platform.example.com"},{"x":"' }),
    error: 'InvalidRequest',
    path: 'domain',
  },
  {
    label: 'model name with a quote',
    input: (b) => ({ ...b, canary: { model: 'iris","x":"y' } }),
    error: 'InvalidRequest',
    path: 'canary.model',
  },
  {
    label: 'owner id that forges TXT labels',
    input: (b) => ({ ...b, ownerId: 'me,heritage=kserve-edge' }),
    error: 'InvalidRequest',
    path: 'ownerId',
  },
  {
    label: 'Dex dashboard host with a quote',
    input: (b, s) => ({ ...b, auth: { provider: 'dex', loginSecretId: s.dexLogin, dashboardHost: 'kubeflow.example.com"' } }),
    error: 'InvalidRequest',
    path: 'auth.dashboardHost',
  },
  {
    label: 'secret id with a quote',
    input: (b) => cognito(b, { headerValuesSecretId: 'kserve-edge/api-tokens"' }),
    error: 'InvalidRequest',
    path: 'auth.headerValuesSecretId',
  },

  // ---- the cluster
  {
    label: 'region that is not a region',
    input: (b) => ({ ...b, cluster: { name: 'kubeflow', region: 'mars-1' } }),
    error: 'InvalidRequest',
    path: 'cluster.region',
  },
  {
    label: 'cluster that does not exist',
    input: (b) => ({ ...b, cluster: { name: 'no-such-cluster', region: REGION } }),
    error: 'ClusterNotFound',
  },
  {
    label: 'cluster name with a slash',
    input: (b) => ({ ...b, cluster: { name: 'kubeflow/../x', region: REGION } }),
    error: 'InvalidRequest',
    path: 'cluster.name',
  },
  // ---- the network: the packaged stack runs outside any VPC (KSERVE_EDGE_IN_VPC=false in the template)
  {
    label: 'internal ALB from a stack outside the VPC',
    input: (b) => ({ ...b, ingress: { scheme: 'internal' } }),
    error: 'VpcRequired',
    path: 'ingress.scheme',
  },
  {
    label: 'ALIAS records in a region without a known ALB zone',
    input: (b) => ({ ...b, cluster: { name: 'kubeflow', region: 'us-gov-west-1' }, dns: { recordType: 'ALIAS' } }),
    error: 'InvalidRequest',
    path: 'dns.recordType',
  },
];

describe('bad input: every malformed request ends in its named error and writes nothing', () => {
  let tb: Testbed;
  let proxy: FaultProxy;
  let base: Req;
  const secretIds: Record<string, string> = {};
  const outcomes: Array<{ label: string; expected: string; got?: string; clean: boolean }> = [];

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: ['staging'], clusterName: 'kubeflow', region: REGION });
    // In front of the testbed's AWS proxy, not moto: the product meets the ELBv2 the controller built
    // (elbv2-fidelity.ts), and IAM is enforced there for every worker's call.
    proxy = await FaultProxy.start(tb.env.AWS_ENDPOINT_URL!);
    for (const [key, value] of Object.entries(SECRETS)) {
      const name = `kserve-edge/bad-input/${key}`;
      await tb.aws.secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: value }));
      secretIds[key] = name;
    }
    secretIds.dexLogin = tb.secrets.dexLoginSecretId;
    // A real zone of another domain; moto draws random ids, real ones start with "Z" (the schema insists).
    for (let i = 0; i < 500 && !/^Z/.test(secretIds.otherZoneId ?? ''); i++) {
      const other = await tb.aws.route53.send(
        new CreateHostedZoneCommand({
          Name: `other${i}.example.org`,
          CallerReference: `bad-input-other-zone-${i}`,
          HostedZoneConfig: { Comment: 'not ours', PrivateZone: false },
        }),
      );
      secretIds.otherZoneId = (other.HostedZone?.Id ?? '').replace(/^\/hostedzone\//, '');
    }
    base = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      namespaces: ['staging'],
      auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
    };
  }, 240_000);

  afterAll(async () => {
    writeFigures('bad-input', {
      cases: outcomes.length,
      rejectedWithNamedError: outcomes.filter((o) => o.got === o.expected).length,
      cleanAfterwards: outcomes.filter((o) => o.clean).length,
      byError: outcomes.reduce<Record<string, number>>((m, o) => ({ ...m, [o.expected]: (m[o.expected] ?? 0) + 1 }), {}),
      awsOperationsSeen: proxy?.stats().requests,
    });
    await proxy?.stop();
    await tb?.stop();
  }, 60_000);

  it('has at least 40 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.label)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c, i) => [c.label, c, i] as const))(
    '%s',
    async (_label, c, i) => {
      const before = await snapshot(tb);
      const result = await run({ ...tb.env, AWS_ENDPOINT_URL: proxy.url }, c.input(base, secretIds), `bad-input-${i}`);
      const after = await snapshot(tb);
      const failure = failureOf(result);
      outcomes.push({ label: c.label, expected: c.error, got: failure.failState, clean: JSON.stringify(before) === JSON.stringify(after) });

      expect(result.status).toBe('FAILED');
      expect(failure.failState).toBe(c.error);
      expect(result.states.map((s) => s.name)).toEqual(['ValidateRequest', 'NotifyFailure', 'RouteFailure', c.error]);
      // The execution's own cause (describe-execution) names the original error and its message.
      expect(parseErrorCause(result.error?.cause)).toMatchObject({ errorType: c.error, errorMessage: failure.message });
      expect(failure.message).not.toBe('');
      if (c.path && c.path !== '(root)') expect(failure.message).toContain(c.path);
      expect(after).toEqual(before);
    },
    60_000,
  );

  // Step Functions cannot apply the Catch's `ResultPath: "$.error"` to an input that is not an
  // object, so such a run fails with States.ResultPathMatchFailure instead of InvalidRequest (and
  // skips NotifyFailure; the ExecutionsFailed alarm still fires). It still writes nothing.
  it.each([
    ['a string', DOMAIN],
    ['an array', [{ domain: DOMAIN }]],
    ['null', null],
  ])(
    'request that is %s: the run fails before any write',
    async (_label, input) => {
      const before = await snapshot(tb);
      const result = await run({ ...tb.env, AWS_ENDPOINT_URL: proxy.url }, input, `bad-input-root-${_label.replace(/\W/g, '')}`);
      expect(result.status).toBe('FAILED');
      // (aws-local-stepfunctions reports the null case as States.Runtime.)
      expect(result.error?.name).toMatch(/^States\.(ResultPathMatchFailure|Runtime)$/);
      expect(result.states.map((s) => s.name)).toEqual(['ValidateRequest']);
      expect(await snapshot(tb)).toEqual(before);
    },
    60_000,
  );

  // The testbed's cluster made private-only (EKS UpdateClusterConfig on moto, which DescribeCluster then
  // reports as resourcesVpcConfig.endpointPublicAccess false, as EKS does): the stack outside the VPC refuses it.
  it('cluster whose API endpoint is private only: VpcRequired naming the deploy parameters, nothing written', async () => {
    const endpointAccess = (endpointPublicAccess: boolean) =>
      tb.aws.eks.send(
        new UpdateClusterConfigCommand({
          name: 'kubeflow',
          resourcesVpcConfig: {
            subnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
            endpointPublicAccess,
            endpointPrivateAccess: true,
          },
        }),
      );
    await endpointAccess(false);
    try {
      const before = await snapshot(tb);
      const result = await run({ ...tb.env, AWS_ENDPOINT_URL: proxy.url }, base, 'bad-input-private-endpoint');
      const after = await snapshot(tb);
      const failure = failureOf(result);
      const clean = JSON.stringify(before) === JSON.stringify(after);
      outcomes.push({ label: 'private-only endpoint', expected: 'VpcRequired', got: failure.failState, clean });
      expect(result.states.map((st) => st.name)).toEqual(['ValidateRequest', 'NotifyFailure', 'RouteFailure', 'VpcRequired']);
      expect(failure.message).toMatch(/private-only API endpoint.*subnetIds.*securityGroupIds/);
      expect(after).toEqual(before);
    } finally {
      await endpointAccess(true);
    }
  }, 60_000);

  it('sent no write operation to AWS in any case', () => {
    const seen = Object.keys(proxy.stats().requests);
    expect(seen.filter((op) => AWS_WRITE_OPERATIONS.includes(op))).toEqual([]);
    // Reads happened (the cases went through the proxy at all), and the failure reached SNS.
    expect(seen).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue', 'sns:Publish']));
  });
});
