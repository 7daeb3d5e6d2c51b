/**
 * The canary in operation: EMF lines (read back from stdout, as CloudWatch
 * Logs would), the scheduled round, its configuration, and the adapters it
 * and the lifecycle functions use (Powertools secrets with caching, Step
 * Functions by name).
 */
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { PowertoolsSecrets, readJsonConfig } from '../../../shared/aws/parameters';
import { executionArn, SfnExecutions } from '../../../shared/aws/sfn';
import { canaryMetricLines, publishCanaryMetrics } from '../../../shared/canary/metrics';
import type { ProbeResult } from '../../../shared/canary/probe';
import { parseCanaryRequests } from '../../../shared/canary/scheduled';
import { clearSecrets, redactString, silentLogger } from '../../../shared/log';
import { runScheduledCanary } from '../../../shared/steps/runScheduledCanary';
import { COGNITO_INPUT, request } from '../../fixtures/requests';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import { captureEmf } from '../../fixtures/emf';

const LAYERS_OK = { dns: 'pass', tls: 'pass', auth: 'pass', http: 'pass', protocol: 'pass', prediction: 'pass' } as const;

function result(over: Partial<ProbeResult> = {}): ProbeResult {
  return {
    namespace: 'staging',
    host: 'sklearn-irisv2.staging.platform.example.com',
    url: 'https://sklearn-irisv2.staging.platform.example.com/v2/models/sklearn-irisv2/infer',
    ok: true,
    status: 200,
    latencyMs: 42.4,
    certificateDaysToExpiry: 80,
    layers: { ...LAYERS_OK },
    ...over,
  };
}

describe('canary metrics (EMF through Powertools)', () => {
  it('writes one line per endpoint, one per failure with its kind, and one per round', async () => {
    // Act
    const { docs } = await captureEmf(() =>
      publishCanaryMetrics([
        result(),
        result({
          namespace: 'prod',
          host: 'sklearn-irisv2.prod.platform.example.com',
          ok: false,
          failureKind: 'auth',
          status: 404,
          latencyMs: 10,
          certificateDaysToExpiry: undefined,
        }),
      ]),
    );
    // Assess
    expect(docs).toHaveLength(4);
    const [staging, prod, failure, round] = docs;
    expect(staging!._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'kserve-edge',
      Dimensions: [['service', 'Namespace', 'Host']],
      Metrics: [
        { Name: 'CanarySuccess', Unit: 'Count' },
        { Name: 'CanaryLatency', Unit: 'Milliseconds' },
        { Name: 'CertificateDaysToExpiry', Unit: 'Count' },
      ],
    });
    expect(staging).toMatchObject({
      service: 'kserve-edge-canary',
      Namespace: 'staging',
      CanarySuccess: 1,
      CanaryLatency: 42,
      CertificateDaysToExpiry: 80,
      FailureKind: 'none',
    });
    expect(prod).toMatchObject({ Namespace: 'prod', CanarySuccess: 0, CanaryLatency: 10, FailureKind: 'auth', HttpStatus: '404' });
    expect(prod).not.toHaveProperty('CertificateDaysToExpiry');
    expect(failure!._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'Namespace', 'Host', 'FailureKind']]);
    expect(failure).toMatchObject({ FailureKind: 'auth', CanaryFailure: 1 });
    expect(round!._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
    expect(round).toMatchObject({
      CanaryEndpoints: 2,
      CanarySuccess: [1, 0],
      CanaryLatency: [42, 10],
      CertificateDaysToExpiry: 80,
      Failed: '1',
    });
  });

  it('writes nothing for an empty round', () => {
    expect(canaryMetricLines([])).toEqual([]);
  });
});

describe('runScheduledCanary', () => {
  it('turns an unreadable secret into auth failures with metrics, instead of failing the round', async () => {
    // Prepare
    const req = request({ namespaces: ['staging', 'prod'] });
    const published: ProbeResult[][] = [];
    // Act
    const out = await runScheduledCanary(
      { requests: [req] },
      {
        depsFor: () => ({
          secrets: new FakeSecrets({}),
          resolver: { resolve: async () => ({ address: '127.0.0.1', port: 1, chain: [] }) },
          now: () => new Date(),
          log: silentLogger,
        }),
        publish: (r) => published.push(r),
        log: silentLogger,
        now: () => new Date('2026-01-01T00:00:00Z'),
      },
    );
    // Assess
    expect(out.ok).toBe(false);
    expect(out.endpoints.map((e) => [e.namespace, e.ok, e.failureKind])).toEqual([
      ['staging', false, 'auth'],
      ['prod', false, 'auth'],
    ]);
    expect(out.endpoints[0]?.message).toMatch(/^InvalidSecret: /);
    expect(published[0]).toHaveLength(2);
  });

  it('reads its requests as one request, a list, or {requests}', () => {
    expect(parseCanaryRequests(COGNITO_INPUT)).toHaveLength(1);
    expect(parseCanaryRequests([COGNITO_INPUT, COGNITO_INPUT])).toHaveLength(2);
    expect(parseCanaryRequests({ requests: [COGNITO_INPUT] })[0]?.domain).toBe('platform.example.com');
    expect(() => parseCanaryRequests([COGNITO_INPUT, { ...COGNITO_INPUT, domain: 'X' }])).toThrow(
      expect.objectContaining({ name: 'InvalidRequest', path: 'requests[1].domain' }),
    );
  });
});

describe('Class: PowertoolsSecrets', () => {
  const sm = mockClient(SecretsManagerClient);
  beforeEach(() => {
    sm.reset();
    clearSecrets();
  });

  it('caches a secret for maxAge, registers it for redaction, and refresh() reads past the cache', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"headerValues":["tok-aaaaaaaaaaaa"]}' });
    const secrets = new PowertoolsSecrets(new SecretsManagerClient({ region: 'us-west-2' }), { maxAgeSeconds: 300 });
    await secrets.getSecretString('kserve-edge/api-tokens');
    await secrets.getSecretString('kserve-edge/api-tokens');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(redactString('x tok-aaaaaaaaaaaa')).toBe('x [REDACTED]');
    await secrets.refresh('kserve-edge/api-tokens');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('does not register configuration documents, and maps a missing secret to InvalidSecret', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'kserve-edge/request-template' }).resolves({
      SecretString: '{"domain":"platform.example.com"}',
    });
    sm.on(GetSecretValueCommand, { SecretId: 'absent' }).rejects(new ResourceNotFoundException({ message: 'no', $metadata: {} }));
    const secrets = new PowertoolsSecrets(new SecretsManagerClient({ region: 'us-west-2' }), { maxAgeSeconds: 0 });
    const config = await readJsonConfig('TEMPLATE', 'kserve-edge/request-template', (id) => secrets.getConfigString(id));
    expect(config).toEqual({ domain: 'platform.example.com' });
    expect(redactString('platform.example.com')).toBe('platform.example.com');
    await expect(secrets.getSecretString('absent')).rejects.toMatchObject({ name: 'InvalidSecret' });
  });

  it('readJsonConfig takes inline JSON and names the key when it is missing or not JSON', async () => {
    const asked: string[] = [];
    const read = async (id: string): Promise<string> => {
      asked.push(id);
      return '{}';
    };
    expect(await readJsonConfig('K', '[1]', read)).toEqual([1]);
    expect(asked).toEqual([]);
    await expect(readJsonConfig('K', undefined, read)).rejects.toMatchObject({ name: 'InvalidRequest', path: 'K' });
    await expect(readJsonConfig('K', '{nope', read)).rejects.toMatchObject({ name: 'InvalidRequest' });
  });
});

describe('Class: SfnExecutions', () => {
  const sfn = mockClient(SFNClient);
  const ARN = 'arn:aws:states:us-west-2:123456789012:stateMachine:kserve-edge-provision-prod';
  beforeEach(() => sfn.reset());

  it('starts by name and reports a taken name as "exists"', async () => {
    sfn.on(StartExecutionCommand, { name: 'ns-a-1' }).resolves({ executionArn: 'x', startDate: new Date() });
    sfn
      .on(StartExecutionCommand, { name: 'ns-a-2' })
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const runs = new SfnExecutions(new SFNClient({ region: 'us-west-2' }), ARN);
    expect(await runs.start('ns-a-1', { a: 1 })).toBe('started');
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toMatchObject({
      stateMachineArn: ARN,
      name: 'ns-a-1',
      input: '{"a":1}',
    });
    expect(await runs.start('ns-a-2', {})).toBe('exists');
  });

  it('reads the status of a run by name; none is undefined', async () => {
    sfn.on(DescribeExecutionCommand, { executionArn: executionArn(ARN, 'ns-a-1') }).resolves({ status: 'FAILED' } as never);
    sfn
      .on(DescribeExecutionCommand, { executionArn: executionArn(ARN, 'nope') })
      .rejects(new ExecutionDoesNotExist({ message: 'no', $metadata: {} }));
    const runs = new SfnExecutions(new SFNClient({ region: 'us-west-2' }), ARN);
    expect(executionArn(ARN, 'ns-a-1')).toBe('arn:aws:states:us-west-2:123456789012:execution:kserve-edge-provision-prod:ns-a-1');
    expect(await runs.status('ns-a-1')).toBe('FAILED');
    expect(await runs.status('nope')).toBeUndefined();
  });
});
