/** wiring/config.ts: the environment, parsed and validated once into a frozen configuration. */
import { clearSecrets, redactString } from '../../../shared/log';
import { ConfigError, loadConfig, parseConfig, required } from '../../../wiring/config';

describe('parseConfig', () => {
  afterEach(() => clearSecrets());

  it('has the documented defaults for an empty environment', () => {
    const config = parseConfig({});
    expect(config).toEqual({
      region: undefined,
      log: { level: 'info', sampleRate: 0 },
      aws: { maxAttempts: 3 },
      secretsMaxAgeSeconds: 300,
      cluster: { mode: 'eks' },
      canary: { dns: { mode: 'system' }, extraCaFile: undefined, requests: undefined, metricsNamespace: undefined },
      lifecycle: {
        requestTemplate: undefined,
        provisionStateMachineArn: undefined,
        deprovisionStateMachineArn: undefined,
        retryPeriodMinutes: 360,
      },
      snsTopicArn: undefined,
      network: { inVpc: false },
    });
  });

  it('reads KSERVE_EDGE_IN_VPC as true or false, and refuses anything else', () => {
    expect(parseConfig({ KSERVE_EDGE_IN_VPC: 'true' }).network.inVpc).toBe(true);
    expect(parseConfig({ KSERVE_EDGE_IN_VPC: 'TRUE' }).network.inVpc).toBe(true);
    expect(parseConfig({ KSERVE_EDGE_IN_VPC: 'false' }).network.inVpc).toBe(false);
    expect(() => parseConfig({ KSERVE_EDGE_IN_VPC: 'yes' })).toThrow(ConfigError);
    expect(() => parseConfig({ KSERVE_EDGE_IN_VPC: 'yes' })).toThrow(/KSERVE_EDGE_IN_VPC must be true or false/);
  });

  it('is deeply frozen', () => {
    const config = parseConfig({ KSERVE_EDGE_DNS_MODE: 'route53', KSERVE_EDGE_HOST_MAP_FILE: '/tmp/map.json' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.canary.dns)).toBe(true);
    expect(() => {
      (config.aws as { maxAttempts: number }).maxAttempts = 9;
    }).toThrow(TypeError);
  });

  it('reads every setting', () => {
    const config = parseConfig({
      AWS_REGION: 'eu-west-1',
      LOG_LEVEL: 'DEBUG',
      POWERTOOLS_LOGGER_SAMPLE_RATE: '0.1',
      POWERTOOLS_METRICS_NAMESPACE: 'kserve-edge',
      KSERVE_EDGE_AWS_MAX_ATTEMPTS: '5',
      KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS: '0',
      KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://127.0.0.1:6443',
      KSERVE_EDGE_CLUSTER_CA_FILE: '/tmp/ca.pem',
      KSERVE_EDGE_CLUSTER_TOKEN_FILE: '/tmp/token',
      KSERVE_EDGE_DNS_MODE: 'Route53',
      KSERVE_EDGE_HOST_MAP_FILE: '/tmp/map.json',
      KSERVE_EDGE_EXTRA_CA_FILE: '/tmp/extra.pem',
      KSERVE_EDGE_SNS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:kserve-edge-alerts',
      KSERVE_EDGE_CANARY_REQUESTS: 'kserve-edge/canary-requests',
      KSERVE_EDGE_REQUEST_TEMPLATE: ' {"domain":"platform.example.com"} ',
      KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kserve-edge-provision-prod',
      KSERVE_EDGE_DEPROVISION_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:kserve-edge-deprovision-prod',
      KSERVE_EDGE_RETRY_PERIOD_MINUTES: '60',
    });
    expect(config).toMatchObject({
      region: 'eu-west-1',
      log: { level: 'debug', sampleRate: 0.1 },
      aws: { maxAttempts: 5 },
      secretsMaxAgeSeconds: 0,
      cluster: { mode: 'endpoint', endpoint: 'https://127.0.0.1:6443', caFile: '/tmp/ca.pem', tokenFile: '/tmp/token' },
      canary: {
        dns: { mode: 'route53', hostMapFile: '/tmp/map.json' },
        extraCaFile: '/tmp/extra.pem',
        requests: 'kserve-edge/canary-requests',
        metricsNamespace: 'kserve-edge',
      },
      lifecycle: { requestTemplate: '{"domain":"platform.example.com"}', retryPeriodMinutes: 60 },
      snsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:kserve-edge-alerts',
    });
    expect(parseConfig({ KSERVE_EDGE_KUBECONFIG: '/home/me/.kube/config' }).cluster).toEqual({
      mode: 'kubeconfig',
      path: '/home/me/.kube/config',
    });
  });

  it('treats a blank variable as unset', () => {
    expect(parseConfig({ KSERVE_EDGE_AWS_MAX_ATTEMPTS: ' ', LOG_LEVEL: '' })).toMatchObject({
      aws: { maxAttempts: 3 },
      log: { level: 'info' },
    });
  });

  it.each<[string, Record<string, string>, string, RegExp]>([
    ['max attempts 0', { KSERVE_EDGE_AWS_MAX_ATTEMPTS: '0' }, 'KSERVE_EDGE_AWS_MAX_ATTEMPTS', /integer from 1 to 20 \(got "0"\)/],
    ['max attempts 2.5', { KSERVE_EDGE_AWS_MAX_ATTEMPTS: '2.5' }, 'KSERVE_EDGE_AWS_MAX_ATTEMPTS', /integer from 1 to 20/],
    ['secrets max age', { KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS: '90000' }, 'KSERVE_EDGE_SECRETS_MAX_AGE_SECONDS', /integer from 0 to 86400/],
    ['retry period', { KSERVE_EDGE_RETRY_PERIOD_MINUTES: '0' }, 'KSERVE_EDGE_RETRY_PERIOD_MINUTES', /integer from 1 to/],
    ['log level', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /one of debug, info, warn, error, silent/],
    ['sample rate', { POWERTOOLS_LOGGER_SAMPLE_RATE: '2' }, 'POWERTOOLS_LOGGER_SAMPLE_RATE', /from 0 to 1/],
    ['region', { AWS_REGION: 'Oregon' }, 'AWS_REGION', /region name/],
    ['dns mode', { KSERVE_EDGE_DNS_MODE: 'rout53' }, 'KSERVE_EDGE_DNS_MODE', /system or route53/],
    ['host map', { KSERVE_EDGE_DNS_MODE: 'route53' }, 'KSERVE_EDGE_HOST_MAP_FILE', /is required when KSERVE_EDGE_DNS_MODE=route53/],
    [
      'endpoint scheme',
      { KSERVE_EDGE_CLUSTER_ENDPOINT: 'http://127.0.0.1:6443', KSERVE_EDGE_CLUSTER_CA_FILE: '/ca' },
      'KSERVE_EDGE_CLUSTER_ENDPOINT',
      /https:\/\/ URL/,
    ],
    [
      'CA file',
      { KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://127.0.0.1:6443' },
      'KSERVE_EDGE_CLUSTER_CA_FILE',
      /is required with KSERVE_EDGE_CLUSTER_ENDPOINT/,
    ],
    [
      'both overrides',
      { KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://a', KSERVE_EDGE_CLUSTER_CA_FILE: '/ca', KSERVE_EDGE_KUBECONFIG: '/x' },
      'KSERVE_EDGE_KUBECONFIG',
      /only one/,
    ],
    ['topic', { KSERVE_EDGE_SNS_TOPIC_ARN: 'kserve-edge-alerts' }, 'KSERVE_EDGE_SNS_TOPIC_ARN', /SNS topic ARN/],
    [
      'state machine',
      { KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN: 'arn:aws:sns:us-west-2:123456789012:x' },
      'KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN',
      /state machine ARN/,
    ],
  ])('refuses a bad %s with a ConfigError naming the variable and the rule', (_label, env, variable, rule) => {
    let caught: unknown;
    try {
      parseConfig(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught).toMatchObject({ name: 'ConfigError', variable });
    expect((caught as Error).message.startsWith(`${variable} `)).toBe(true);
    expect((caught as Error).message).toMatch(rule);
  });

  it('never shows the value of the cluster token, and registers it for redaction', () => {
    const token = 'tok-0123456789abcdef';
    let message = '';
    try {
      parseConfig({
        KSERVE_EDGE_CLUSTER_ENDPOINT: 'http://127.0.0.1',
        KSERVE_EDGE_CLUSTER_CA_FILE: '/ca',
        KSERVE_EDGE_CLUSTER_TOKEN: token,
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/KSERVE_EDGE_CLUSTER_ENDPOINT/);
    expect(message).not.toContain(token);
    parseConfig({
      KSERVE_EDGE_CLUSTER_ENDPOINT: 'https://127.0.0.1',
      KSERVE_EDGE_CLUSTER_CA_FILE: '/ca',
      KSERVE_EDGE_CLUSTER_TOKEN: token,
    });
    expect(redactString(`Bearer ${token}`)).toBe('Bearer [REDACTED]');
  });
});

describe('loadConfig', () => {
  it('parses once while the variables keep their values, again when one changes', () => {
    const env: Record<string, string> = { KSERVE_EDGE_AWS_MAX_ATTEMPTS: '4', UNRELATED: 'a' };
    const first = loadConfig(env);
    env.UNRELATED = 'b';
    expect(loadConfig(env)).toBe(first);
    env.KSERVE_EDGE_AWS_MAX_ATTEMPTS = '6';
    const second = loadConfig(env);
    expect(second).not.toBe(first);
    expect(second.aws.maxAttempts).toBe(6);
  });
});

describe('required', () => {
  it('names the missing variable', () => {
    expect(() => required(undefined, 'KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN')).toThrow(
      new ConfigError('KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN', 'is required'),
    );
    expect(required('x', 'KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN')).toBe('x');
  });
});

describe('edgeHandler', () => {
  it('hands the step the configuration, and fails the invocation with ConfigError on a bad environment', async () => {
    const { edgeHandler } = await import('../../../wiring/handler');
    const saved = { ...process.env };
    const handler = edgeHandler('Try', async (_event, { config }) => ({ maxAttempts: config.aws.maxAttempts }));
    try {
      Object.assign(process.env, { LOG_LEVEL: 'silent', KSERVE_EDGE_AWS_MAX_ATTEMPTS: '4' });
      await expect(handler({}, { awsRequestId: 'r1' })).resolves.toEqual({ maxAttempts: 4 });
      process.env.KSERVE_EDGE_AWS_MAX_ATTEMPTS = 'four';
      await expect(handler({}, { awsRequestId: 'r2' })).rejects.toMatchObject({
        name: 'ConfigError',
        variable: 'KSERVE_EDGE_AWS_MAX_ATTEMPTS',
      });
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
