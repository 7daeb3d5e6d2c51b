/**
 * Pure checks of what the request's Secrets Manager secrets hold.
 *
 * ValidateRequest calls them before anything is written; ConfigureCluster and
 * the canary call them again on the value they actually use (the secret may
 * have changed in between).
 *
 * Error messages name the offending position (`headerValues[1]`) and the
 * rule, never the value: these are credentials.
 */
import { InvalidSecretError } from '../errors';
import { MAX_HEADER_VALUE, MAX_HEADER_VALUES } from '../request';

/** Shortest header token we accept: 16 characters of the allowed set is ≥ 96 bits when random. */
export const MIN_HEADER_VALUE = 16;

/**
 * Characters a header value may contain: the base64/base64url alphabet plus
 * `.`, `_` and `~`. This keeps every value safe inside the ALB conditions
 * annotation (a JSON string: no `"` or `\`), inside an HTTP header (no
 * spaces or control characters), and literal for the ALB (`*` and `?` are
 * its wildcards).
 */
export const HEADER_VALUE_CHARSET = /^[A-Za-z0-9._~+/=-]+$/;

/** Words that make a token guessable when the rest of it is only digits (`changeme12345678`). */
const WEAK_WORDS = [
  'token',
  'changeme',
  'change-me',
  'change_me',
  'password',
  'passw0rd',
  'secret',
  'apikey',
  'api-key',
  'api_key',
  'example',
  'default',
  'admin',
  'letmein',
  'qwerty',
  'test',
];

/** A unit of at most this many characters, repeated, is a weak token ("token1token1token1"). */
const MAX_WEAK_PERIOD = 8;

/** Why a value is an obvious weak token, or undefined. Exported for tests. */
export function weakTokenReason(value: string): string | undefined {
  const distinct = new Set(value).size;
  if (distinct === 1) return 'is one character repeated';
  if (distinct < 6) return 'uses fewer than 6 distinct characters';
  // A short unit repeated ("token1token1token1", "abcabcabc…").
  for (let period = 1; period <= Math.min(MAX_WEAK_PERIOD, value.length / 2); period++) {
    if (value.length % period === 0 && value.slice(0, period).repeat(value.length / period) === value) {
      return 'is a short sequence repeated';
    }
  }
  if (/^[0-9]+$/.test(value)) return 'is digits only';
  let ascending = 0;
  let descending = 0;
  for (let i = 1; i < value.length; i++) {
    const d = value.charCodeAt(i) - value.charCodeAt(i - 1);
    if (d === 1) ascending++;
    if (d === -1) descending++;
  }
  if (Math.max(ascending, descending) >= (value.length - 1) * 0.75) return 'is a keyboard or alphabet sequence';
  let rest = value.toLowerCase();
  for (const word of WEAK_WORDS) rest = rest.split(word).join('');
  if (rest.length < value.length && /^[0-9._~+/=-]*$/.test(rest)) return 'is a common placeholder word plus digits';
  return undefined;
}

/**
 * Checks the header values of a Cognito deployment's secret and returns them.
 *
 * Rules: 1 to 3 values (the ALB evaluates at most three per condition), each
 * 16 to 128 characters of {@link HEADER_VALUE_CHARSET}, no obvious weak token
 * (`token1`, `changeme…`, one repeated character, …), all distinct —
 * compared case-insensitively, because the ALB matches header values without
 * regard to case.
 *
 * @throws InvalidSecretError naming the first offending position.
 * @example
 *   validateHeaderValues(['Zt3o9w1Qm2xVb7Rk4Lp8Hs6Jd0Fy5Nc']) // ok
 *   validateHeaderValues(['token1'])                          // InvalidSecret: headerValues[0]: must be 16 to 128 characters
 */
export function validateHeaderValues(values: unknown): string[] {
  if (!Array.isArray(values)) {
    throw new InvalidSecretError('the header-values secret must be JSON {"headerValues": ["<token>", ...]}', { path: 'headerValues' });
  }
  if (values.length < 1 || values.length > MAX_HEADER_VALUES) {
    throw new InvalidSecretError(
      `headerValues must hold 1 to ${MAX_HEADER_VALUES} values (the ALB evaluates at most ${MAX_HEADER_VALUES}); it holds ${values.length}`,
      {
        path: 'headerValues',
      },
    );
  }
  const seen = new Set<string>();
  values.forEach((value: unknown, i) => {
    const path = `headerValues[${i}]`;
    if (typeof value !== 'string') throw new InvalidSecretError(`${path}: must be a string`, { path });
    if (value.length < MIN_HEADER_VALUE || value.length > MAX_HEADER_VALUE) {
      throw new InvalidSecretError(`${path}: must be ${MIN_HEADER_VALUE} to ${MAX_HEADER_VALUE} characters`, { path });
    }
    if (!HEADER_VALUE_CHARSET.test(value)) {
      throw new InvalidSecretError(
        `${path}: may contain only A-Z, a-z, 0-9 and . _ ~ + / = - (no quotes, backslashes, spaces or the ALB wildcards * and ?)`,
        { path },
      );
    }
    const weak = weakTokenReason(value);
    if (weak) throw new InvalidSecretError(`${path}: is a weak token (it ${weak}); use e.g. \`openssl rand -base64 24\``, { path });
    const key = value.toLowerCase();
    if (seen.has(key))
      throw new InvalidSecretError(`${path}: repeats an earlier value (the ALB compares them case-insensitively)`, { path });
    seen.add(key);
  });
  return values as string[];
}

/**
 * Parses a Cognito header-values secret (`{"headerValues": [...]}`) and
 * validates the values with {@link validateHeaderValues}.
 *
 * @throws InvalidSecretError; never with the secret text or the JSON parser's message (it quotes the input).
 */
export function parseHeaderValuesSecret(secretString: string): string[] {
  const parsed = parseJsonObject(secretString, 'the header-values secret', '{"headerValues": ["<token>", ...]}');
  return validateHeaderValues(parsed.headerValues);
}

/** The Dex user the canary logs in as. */
export interface DexLogin {
  username: string;
  password: string;
}

/**
 * Parses a Dex login secret: `{"username": "user@example.com", "password": "..."}`.
 *
 * @throws InvalidSecretError on any other shape; the message never contains the secret.
 */
export function parseDexLogin(secretString: string): DexLogin {
  const parsed = parseJsonObject(secretString, 'the Dex login secret', '{"username": "...", "password": "..."}');
  const { username, password } = parsed;
  if (typeof username !== 'string' || username.trim() === '' || username.length > 256) {
    throw new InvalidSecretError('the Dex login secret: username must be a non-empty string of at most 256 characters', {
      path: 'username',
    });
  }
  if (typeof password !== 'string' || password === '' || password.length > 1024) {
    throw new InvalidSecretError('the Dex login secret: password must be a non-empty string of at most 1024 characters', {
      path: 'password',
    });
  }
  return { username, password };
}

function parseJsonObject(text: string, what: string, shape: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Deliberately no `cause`: V8's SyntaxError message quotes part of the secret.
    throw new InvalidSecretError(`${what} is not JSON; expected ${shape}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidSecretError(`${what} must be a JSON object: ${shape}`);
  }
  return parsed as Record<string, unknown>;
}
