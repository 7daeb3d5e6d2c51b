/**
 * The logger: Powertools behind the Logger port, redaction of registered
 * secrets on values before serialisation, and the bound on the registry.
 */
import { MAX_SECRETS, clearSecrets, createLogger, redact, redactString, registerSecret, registeredSecretCount } from '../../shared/log';
import { lambdaHandler } from '../../shared/handler';

function capture(level: 'debug' | 'info' | 'warn' | 'error' | 'silent' = 'debug') {
  const lines: string[] = [];
  const log = createLogger({ level, sink: (l) => lines.push(l) });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('redaction of registered secrets', () => {
  beforeEach(() => clearSecrets());
  afterAll(() => clearSecrets());

  // JSON escapes these characters, so a secret holding them does not appear verbatim in a serialised line.
  it.each([
    ['a double quote', 'pass"word-1234'],
    ['a backslash', 'pass\\word-5678'],
    ['both', 'p"a\\s"s\\-9012'],
  ])('masks a secret containing %s in the message and in nested fields', (_label, secret) => {
    registerSecret(secret);
    const { log, lines, parsed } = capture();
    log.child({ caller: `user ${secret}` }).info(`login with ${secret}`, { nested: { values: [secret, `Bearer ${secret}`] } });
    expect(lines).toHaveLength(1);
    const text = lines[0]!;
    expect(text).not.toContain(secret);
    expect(text).not.toContain(JSON.stringify(secret).slice(1, -1)); // the escaped form either
    expect(parsed()[0]).toMatchObject({
      message: 'login with [REDACTED]',
      caller: 'user [REDACTED]',
      nested: { values: ['[REDACTED]', 'Bearer [REDACTED]'] },
    });
  });

  it('redact() walks values (object keys and Error messages included) and leaves other values alone', () => {
    const secret = 'k"e\\y-secret';
    registerSecret(secret);
    const out = redact({ [secret]: 1, list: [`x${secret}x`, 2, null, true], err: new Error(`failed with ${secret}`) });
    expect(JSON.stringify(out)).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(out).toMatchObject({ '[REDACTED]': 1, list: ['x[REDACTED]x', 2, null, true] });
    expect((out as unknown as { err: { message: string } }).err.message).toBe('failed with [REDACTED]');
  });

  it('masks a secret that contains another one whole', () => {
    registerSecret('abcd');
    registerSecret('xxabcdyy');
    expect(redactString('token xxabcdyy and abcd')).toBe('token [REDACTED] and [REDACTED]');
  });

  it(`keeps only the ${MAX_SECRETS} most recently registered secrets`, () => {
    const values = Array.from({ length: MAX_SECRETS + 10 }, (_, i) => `secret-value-${String(i).padStart(3, '0')}`);
    values.forEach(registerSecret);
    expect(registeredSecretCount()).toBe(MAX_SECRETS);
    // The 10 oldest are forgotten, the newest 64 still masked.
    for (const v of values.slice(0, 10)) expect(redactString(v)).toBe(v);
    for (const v of values.slice(10)) expect(redactString(v)).toBe('[REDACTED]');
  });

  it('registering a value again makes it the most recent, so a secret in use is not pushed out', () => {
    const first = 'still-in-use-0000';
    registerSecret(first);
    for (let i = 0; i < MAX_SECRETS - 1; i++) registerSecret(`token-${i}-abcdefgh`);
    registerSecret(first); // e.g. the cached Dex session, re-registered on every invocation
    registerSecret('one-more-token');
    expect(registeredSecretCount()).toBe(MAX_SECRETS);
    expect(redactString(first)).toBe('[REDACTED]');
    expect(redactString('token-0-abcdefgh')).toBe('token-0-abcdefgh');
  });

  it('ignores values too short to be secrets', () => {
    registerSecret('abc');
    registerSecret(undefined);
    expect(registeredSecretCount()).toBe(0);
  });
});

describe('createLogger', () => {
  it('drops lines below the level; silent drops everything', () => {
    const warn = capture('warn');
    warn.log.info('no');
    warn.log.warn('yes');
    expect(warn.parsed().map((l) => [l.level, l.message])).toEqual([['WARN', 'yes']]);
    const silent = capture('silent');
    silent.log.error('no');
    expect(silent.lines).toEqual([]);
  });

  it('keeps a field named like a Powertools key instead of dropping it', () => {
    const { log, parsed } = capture();
    log.info('m', { message: 'detail', level: 3 });
    expect(parsed()[0]).toMatchObject({ message: 'm', field_message: 'detail', field_level: 3 });
  });

  it("Lambda's log level (AWS_LAMBDA_LOG_LEVEL, read by Powertools) wins over the configured one", () => {
    const saved = process.env.AWS_LAMBDA_LOG_LEVEL;
    process.env.AWS_LAMBDA_LOG_LEVEL = 'ERROR';
    try {
      const { log, parsed } = capture('debug');
      log.info('dropped');
      log.error('kept');
      expect(parsed().map((l) => l.message)).toEqual(['kept']);
    } finally {
      if (saved === undefined) delete process.env.AWS_LAMBDA_LOG_LEVEL;
      else process.env.AWS_LAMBDA_LOG_LEVEL = saved;
    }
  });
});

describe('lambdaHandler logging', () => {
  it('carries the request id, and cold start only on the first invocation', async () => {
    const saved = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      const handler = lambdaHandler(
        'Try',
        async () => ({ ok: true }),
        () => ({ level: 'info' }),
      );
      await handler({}, { awsRequestId: 'req-1', functionName: 'fn' });
      await handler({}, { awsRequestId: 'req-2', functionName: 'fn' });
    } finally {
      process.stdout.write = write;
      if (saved === undefined) delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
      else process.env.AWS_LAMBDA_INITIALIZATION_TYPE = saved;
    }
    const lines = written
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.message, l.step, l.function_request_id, l.cold_start])).toEqual([
      ['step succeeded', 'Try', 'req-1', true],
      ['step succeeded', 'Try', 'req-2', false],
    ]);
  });
});
