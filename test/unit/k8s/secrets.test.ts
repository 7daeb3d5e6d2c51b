import { createHash } from 'node:crypto';
import { InvalidSecretError } from '../../../shared/errors';
import { parseDexLogin, parseHeaderValuesSecret, validateHeaderValues, weakTokenReason } from '../../../shared/plan/secrets';
import { TOKEN_1, TOKEN_2 } from './fixtures';

/** The InvalidSecretError a call throws (fails the test if it does not throw one). */
function secretError(fn: () => unknown): InvalidSecretError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidSecretError);
    return err as InvalidSecretError;
  }
  throw new Error('expected InvalidSecretError');
}

describe('validateHeaderValues', () => {
  it('accepts 1 to 3 strong, distinct tokens and returns them', () => {
    expect(validateHeaderValues([TOKEN_1])).toEqual([TOKEN_1]);
    expect(validateHeaderValues([TOKEN_1, TOKEN_2, 'Kq4mN8pR2sT6vX0zB3dF7hJ1lP5rU9wY'])).toHaveLength(3);
    // base64 (openssl rand -base64 24) and hex (openssl rand -hex 16) tokens pass.
    expect(validateHeaderValues(['q2V+7f/0kX3mB9zR1sL8wT5yJ4nC6hPa'])).toHaveLength(1);
    expect(validateHeaderValues(['9f86d081884c7d659a2feaa0c55ad015'])).toHaveLength(1);
  });

  it.each([
    ['the guide sample', ['token1'], /16 to 128/],
    ['a placeholder word plus digits', ['changeme12345678'], /weak token.*placeholder/],
    ['one repeated character', ['aaaaaaaaaaaaaaaaaaaa'], /weak token.*one character/],
    ['a short unit repeated', ['token1token1token1'], /weak token/],
    ['password + digits', ['password20240101'], /weak token/],
    ['an alphabet run', ['abcdefghijklmnopqrst'], /weak token.*sequence/],
    ['digits only', ['73910284657392018465'], /weak token.*digits/],
  ])('rejects a weak token: %s', (_name, values, message) => {
    const err = secretError(() => validateHeaderValues(values));
    expect(err.message).toMatch(message);
    expect(err.path).toBe('headerValues[0]');
  });

  it('rejects a value longer than the ALB allows (128)', () => {
    const long = `${createHash('sha512').update('kserve-edge').digest('hex')}x`; // 129
    expect(long).toHaveLength(129);
    expect(secretError(() => validateHeaderValues([long])).message).toMatch(/16 to 128/);
    expect(validateHeaderValues([long.slice(0, 128)])).toHaveLength(1);
  });

  it.each([
    ['a double quote (would end the JSON string in the annotation)', `${TOKEN_1}"`],
    ['a backslash (would escape inside the annotation JSON)', `${TOKEN_1}\\`],
    ['a space', `${TOKEN_1.slice(0, 10)} ${TOKEN_1.slice(10)}`],
    ['the ALB wildcard *', `${TOKEN_1}*`],
    ['the ALB wildcard ?', `${TOKEN_1}?`],
    ['a comma', `${TOKEN_1},`],
    ['a non-ASCII letter', `${TOKEN_1}é`],
  ])('rejects %s', (_name, value) => {
    const err = secretError(() => validateHeaderValues([TOKEN_2, value]));
    expect(err.path).toBe('headerValues[1]');
    expect(err.message).toMatch(/may contain only/);
  });

  it('rejects 4 values (the ALB evaluates at most 3) and none', () => {
    const four = [TOKEN_1, TOKEN_2, 'Kq4mN8pR2sT6vX0zB3dF7hJ1lP5rU9wY', 'Wm3nB8vC1xZ6aS4dF9gH2jK7lQ5eR0tY'];
    expect(secretError(() => validateHeaderValues(four)).message).toMatch(/1 to 3 values.*holds 4/);
    expect(secretError(() => validateHeaderValues([])).message).toMatch(/1 to 3/);
  });

  it('rejects duplicates, also when they differ only in case (the ALB ignores case)', () => {
    expect(secretError(() => validateHeaderValues([TOKEN_1, TOKEN_1])).path).toBe('headerValues[1]');
    expect(secretError(() => validateHeaderValues([TOKEN_1, TOKEN_1.toUpperCase()])).message).toMatch(/repeats/);
  });

  it('rejects what is not an array of strings', () => {
    expect(secretError(() => validateHeaderValues('token')).path).toBe('headerValues');
    expect(secretError(() => validateHeaderValues(undefined)).path).toBe('headerValues');
    expect(secretError(() => validateHeaderValues([42])).message).toMatch(/must be a string/);
  });

  it('never puts a value in the message', () => {
    const bad = `${TOKEN_1}"`;
    for (const values of [[bad], ['changeme12345678'], [TOKEN_1, TOKEN_1]]) {
      const err = secretError(() => validateHeaderValues(values));
      for (const v of values) expect(err.message).not.toContain(v);
    }
  });

  it('weakTokenReason is undefined for a random token', () => {
    expect(weakTokenReason(TOKEN_1)).toBeUndefined();
  });
});

describe('parseHeaderValuesSecret', () => {
  it('reads {"headerValues": [...]}', () => {
    expect(parseHeaderValuesSecret(JSON.stringify({ headerValues: [TOKEN_1] }))).toEqual([TOKEN_1]);
  });

  it('does not echo a malformed secret (V8 quotes the input in its SyntaxError)', () => {
    const err = secretError(() => parseHeaderValuesSecret(`{"headerValues": ["${TOKEN_1}"`));
    expect(err.message).not.toContain(TOKEN_1);
    expect(err.cause).toBeUndefined();
    expect(secretError(() => parseHeaderValuesSecret('[]')).message).toMatch(/JSON object/);
    expect(secretError(() => parseHeaderValuesSecret('{}')).path).toBe('headerValues');
  });
});

describe('parseDexLogin', () => {
  it('reads username and password', () => {
    expect(parseDexLogin('{"username":"user@example.com","password":"12341234"}')).toEqual({
      username: 'user@example.com',
      password: '12341234',
    });
  });

  it.each([
    ['not JSON', 'user@example.com:12341234', /not JSON/],
    ['an array', '["user@example.com","12341234"]', /JSON object/],
    ['no password', '{"username":"user@example.com"}', /password/],
    ['an empty username', '{"username":" ","password":"x"}', /username/],
    ['a numeric password', '{"username":"u","password":12341234}', /password/],
  ])('rejects %s without quoting it', (_name, raw, message) => {
    const err = secretError(() => parseDexLogin(raw));
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('12341234');
  });
});
