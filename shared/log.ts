/**
 * Structured JSON logging with secret redaction.
 *
 * Every value read from Secrets Manager (and every cluster token) is
 * registered with {@link registerSecret} the moment it is read; from then on
 * any log line, error message or step output passed through {@link redact}
 * has it replaced by `[REDACTED]`. This is a second line of defence: code
 * never logs secrets on purpose.
 */

const secrets = new Set<string>();
const MIN_SECRET_LENGTH = 4;

/** Remember a secret value so it is masked everywhere from now on. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

/** Forget registered secrets (tests). */
export function clearSecrets(): void {
  secrets.clear();
}

/** Replace every registered secret in a string. */
export function redactString(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  }
  return out;
}

/** Deep-redact any JSON-like value. */
export function redact<T>(value: T): T {
  if (secrets.size === 0) return value;
  return JSON.parse(redactString(JSON.stringify(value) ?? 'null')) as T;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; default stdout (Lambda ships it to CloudWatch Logs). */
  sink?: (line: string) => void;
  fields?: Record<string, unknown>;
}

/** A JSON-lines logger; every line is redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const envLevel = process.env.LOG_LEVEL?.toLowerCase() as LogLevel | undefined;
  const min = LEVELS[options.level ?? (envLevel && envLevel in LEVELS ? envLevel : 'info')];
  const sink = options.sink ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < min || level === 'silent') return;
    const line = JSON.stringify({ level, time: new Date().toISOString(), message, ...base, ...fields });
    sink(redactString(line));
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, quiet CLI). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
