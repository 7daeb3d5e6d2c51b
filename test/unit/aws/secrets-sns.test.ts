import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsAdapter } from '../../../shared/aws/secrets';
import { SnsNotifier, snsSubject } from '../../../shared/aws/sns';
import { AccessDeniedError, AwsUnavailableError, InvalidSecretError } from '../../../shared/errors';
import { clearSecrets, redactString, registerSecret } from '../../../shared/log';
import { sdkError } from '../../fakes/awsError';

describe('Class: SecretsAdapter', () => {
  const sm = mockClient(SecretsManagerClient);
  const adapter = new SecretsAdapter(new SecretsManagerClient({ region: 'us-west-2' }));

  beforeEach(() => {
    sm.reset();
    clearSecrets();
  });

  it('returns the string and registers it and every JSON string leaf for redaction', async () => {
    // Prepare
    const value = JSON.stringify({ headerValues: ['tok-aaaaaaaa', 'tok-bbbbbbbb'], nested: { p: 'pass-cccc' } });
    sm.on(GetSecretValueCommand, { SecretId: 'kserve-edge/tokens' }).resolves({ SecretString: value });
    // Act
    const out = await adapter.getSecretString('kserve-edge/tokens');
    // Assess
    expect(out).toBe(value);
    expect(redactString('sent tok-aaaaaaaa and tok-bbbbbbbb with pass-cccc')).toBe('sent [REDACTED] and [REDACTED] with [REDACTED]');
  });

  it('registers a plain-text secret whole', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'plain-secret-value' });
    await adapter.getSecretString('s');
    expect(redactString('x plain-secret-value y')).toBe('x [REDACTED] y');
  });

  it('maps ResourceNotFoundException to InvalidSecret', async () => {
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }),
    );
    const err = await adapter.getSecretString('missing/one').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidSecretError);
    expect((err as Error).message).toBe('secret missing/one not found');
  });

  it('maps AccessDeniedException to AccessDenied', async () => {
    sm.on(GetSecretValueCommand).rejects(sdkError('AccessDeniedException', 'no'));
    await expect(adapter.getSecretString('s')).rejects.toThrow(/^not allowed to secretsmanager:GetSecretValue/);
    await expect(adapter.getSecretString('s')).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it('rejects a binary-only secret', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2]) });
    await expect(adapter.getSecretString('bin')).rejects.toBeInstanceOf(InvalidSecretError);
  });
});

describe('Class: SnsNotifier', () => {
  const sns = mockClient(SNSClient);
  const topic = 'arn:aws:sns:us-west-2:123456789012:kserve-edge';
  const notifier = new SnsNotifier(new SNSClient({ region: 'us-west-2' }), topic);

  beforeEach(() => {
    sns.reset();
    clearSecrets();
  });

  it('publishes to the topic with an ASCII subject of at most 100 characters, redacted', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm1' });
    registerSecret('hunter2-secret');
    // Act
    await notifier.publish(`kserve-edge: CanaryFailed — café ${'x'.repeat(200)}\nline2`, 'token hunter2-secret leaked');
    // Assess
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.TopicArn).toBe(topic);
    expect(input?.Subject).toHaveLength(100);
    expect(input?.Subject).toMatch(/^kserve-edge: CanaryFailed - cafe x+\.\.\.$/);
    expect(input?.Subject).toMatch(/^[\x20-\x7e]+$/);
    expect(input?.Message).toBe('token [REDACTED] leaked');
  });

  it('subject rules', () => {
    expect(snsSubject('a\r\nb\tc')).toBe('a b c');
    expect(snsSubject('ok 🚨 now')).toBe('ok ? now');
    expect(snsSubject('   ')).toBe('kserve-edge notification');
    expect(snsSubject('y'.repeat(100))).toBe('y'.repeat(100));
  });

  it('maps 5xx to AwsUnavailable', async () => {
    sns.on(PublishCommand).rejects(sdkError('InternalError', 'boom', 500));
    await expect(notifier.publish('s', 'm')).rejects.toBeInstanceOf(AwsUnavailableError);
  });

  it('refuses a topic that is not an ARN', () => {
    expect(() => new SnsNotifier(new SNSClient({ region: 'us-west-2' }), 'my-topic')).toThrow(TypeError);
  });
});
