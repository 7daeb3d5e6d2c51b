/**
 * Structured JSON logging (Powertools for AWS Lambda Logger) with secret redaction.
 *
 * Steps depend on the small {@link Logger} port below, never on Powertools:
 * {@link createLogger} puts a Powertools `Logger` behind it, which gives the
 * Lambda request id and cold start ({@link InvocationLogger}), Lambda's
 * Advanced Logging Controls (`AWS_LAMBDA_LOG_LEVEL`, read by Powertools and
 * stronger than the configured level) and debug sampling.
 *
 * Every value read from Secrets Manager (and every cluster token) is
 * registered with {@link registerSecret} the moment it is read; from then on
 * any log line, error message or step output passed through {@link redact} or
 * {@link redactString} has it replaced by `[REDACTED]`. This is a second line
 * of defence: code never logs secrets on purpose.
 *
 * Redaction works on values, before serialisation: the log formatter walks the
 * attributes and replaces secrets inside each string, so a secret holding `"`
 * or `\` (which JSON would escape) is still found.
 *
 * The registry is bounded: it keeps the {@link MAX_SECRETS} most recently
 * registered values. A warm Lambda container registers a fresh EKS token on
 * every invocation; without a bound the set (and the cost of every log line)
 * would grow for the life of the container. 64 is far above what one
 * invocation holds (a handful of tokens, passwords and session cookies), so a
 * secret still in use is never pushed out; registering a value again makes it
 * the most recent.
 */
import { LogFormatter, LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { Context } from 'aws-lambda';

/** How many secrets the registry keeps (most recently registered first out last). */
export const MAX_SECRETS = 64;
const MIN_SECRET_LENGTH = 4;
const REDACTED = '[REDACTED]';

/** Insertion-ordered: the first key is the least recently registered. */
const secrets = new Map<string, true>();

/** Remember a secret value so it is masked everywhere from now on (the oldest is forgotten past {@link MAX_SECRETS}). */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return;
  secrets.delete(value);
  secrets.set(value, true);
  while (secrets.size > MAX_SECRETS) secrets.delete(secrets.keys().next().value as string);
}

/** Forget registered secrets (tests). */
export function clearSecrets(): void {
  secrets.clear();
}

/** How many secrets are registered (tests of the bound). */
export function registeredSecretCount(): number {
  return secrets.size;
}

/** Replace every registered secret in a string; longest first, so a secret containing another is masked whole. */
export function redactString(text: string): string {
  if (secrets.size === 0) return text;
  let out = text;
  for (const s of [...secrets.keys()].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/**
 * Deep-redact a JSON-like value: every string (object keys included) has the
 * registered secrets replaced. Plain objects and arrays are copied; other
 * objects are turned into what `JSON.stringify` would make of them first, since
 * this is what reaches a log line or a step output.
 */
export function redact<T>(value: T): T {
  if (secrets.size === 0) return value;
  return redactValue(value, new WeakSet()) as T;
}

function redactValue(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redactValue(v, seen));
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return redactValue(toJSON.call(value), seen);
    if (value instanceof Error) {
      return redactValue({ name: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) }, seen);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redactString(k)] = redactValue(v, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * Powertools' standard keys (level, message, timestamp, service, cold_start,
 * function_request_id, …, then the line's own attributes), with every value
 * redacted before Powertools serialises the line.
 */
export class RedactingLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const base: LogAttributes = {
      level: attributes.logLevel,
      message: attributes.message,
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      cold_start: attributes.lambdaContext?.coldStart,
      function_name: attributes.lambdaContext?.functionName,
      function_request_id: attributes.lambdaContext?.awsRequestId,
      sampling_rate: attributes.sampleRateValue,
      xray_trace_id: attributes.xRayTraceId,
    };
    return new LogItem({ attributes: redact(base) }).addAttributes(redact(additional));
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
/** The levels the `LOG_LEVEL` variable and {@link LoggerOptions.level} accept. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** The logging port the steps use. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  /** Default `info`. `AWS_LAMBDA_LOG_LEVEL` (Lambda's log controls), when set, wins over it. */
  level?: LogLevel;
  /** Share of invocations logged at debug level (0 to 1; Powertools sampling); default 0. */
  sampleRate?: number;
  /** Where lines go; default Powertools' stdout/stderr (Lambda ships it to CloudWatch Logs). */
  sink?: (line: string) => void;
  fields?: Record<string, unknown>;
  /** The `service` key; default Powertools' (`POWERTOOLS_SERVICE_NAME`, set by the stack). */
  serviceName?: string;
}

/** Powertools' logger with an optional sink in place of its console. */
class SinkLogger extends PowertoolsLogger {
  constructor(
    options: ConstructorParameters<typeof PowertoolsLogger>[0],
    private readonly sink?: (line: string) => void,
  ) {
    super(options);
  }

  /** A logger that replaces another in the same container: its next invocation is not a cold start. */
  markWarm(): void {
    this.coldStart = false;
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    if (!this.sink) return super.printLog(logLevel, log);
    log.prepareForPrint();
    this.sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

function powertoolsLogger(options: LoggerOptions): SinkLogger {
  return new SinkLogger(
    {
      logLevel: (options.level ?? 'info').toUpperCase() as 'INFO',
      sampleRateValue: options.sampleRate ?? 0,
      logFormatter: new RedactingLogFormatter(),
      ...(options.serviceName ? { serviceName: options.serviceName } : {}),
    },
    options.sink,
  );
}

/**
 * The {@link Logger} port over one Powertools logger. `child()` shares that
 * logger (and so its Lambda context and cold-start state) and only adds fields.
 */
class PortLogger implements Logger {
  constructor(
    private readonly pt: PowertoolsLogger,
    private readonly fields: Record<string, unknown>,
  ) {}

  debug(message: string, fields?: Record<string, unknown>): void {
    this.pt.debug(message, this.with(fields));
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.pt.info(message, this.with(fields));
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.pt.warn(message, this.with(fields));
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.pt.error(message, this.with(fields));
  }
  child(fields: Record<string, unknown>): Logger {
    return new PortLogger(this.pt, { ...this.fields, ...fields });
  }

  /** Powertools drops (with a warning line) a field named like one of its own keys: such a field keeps its value as `field_<name>`. */
  private with(fields: Record<string, unknown> | undefined): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries({ ...this.fields, ...fields })) out[RESERVED_KEYS.has(k) ? `field_${k}` : k] = v;
    return out;
  }
}

const RESERVED_KEYS = new Set(['level', 'message', 'sampling_rate', 'service', 'timestamp']);

/** A JSON-lines logger (Powertools); every line is redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return new PortLogger(powertoolsLogger(options), options.fields ?? {});
}

/**
 * One Powertools logger per Lambda container, re-armed for each invocation:
 * the level and sampling rate of this invocation's configuration, the Lambda
 * context (request id; cold start is true on the container's first invocation
 * only, which is why the logger outlives invocations), and a fresh sampling
 * decision.
 */
export class InvocationLogger {
  private pt: SinkLogger | undefined;
  private settings = '';

  /** The logger for one invocation of `step`. */
  begin(step: string, context: Partial<Context> | undefined, options: Omit<LoggerOptions, 'sink' | 'fields'> = {}): Logger {
    const key = JSON.stringify([options.level ?? 'info', options.sampleRate ?? 0, options.serviceName ?? '']);
    if (!this.pt || key !== this.settings) {
      // Other settings in the same container happen only in local runs that change LOG_LEVEL
      // between runs; Powertools fixes the level at construction, so a new logger takes over.
      const warm = this.pt !== undefined;
      this.pt = powertoolsLogger(options);
      if (warm) this.pt.markWarm();
      this.settings = key;
    }
    if (context?.awsRequestId) this.pt.addContext(context as Context);
    this.pt.refreshSampleRateCalculation();
    return new PortLogger(this.pt, { step });
  }
}

/** A logger that drops everything (tests, quiet CLI). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
