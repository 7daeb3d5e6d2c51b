/**
 * Lambdas as Lambda runs them, for the end-to-end tests: each Task runs the
 * packaged bundle (the zip `npm run package` builds into `.serverless/`), in
 * a process of its own, with the environment the CloudFormation template
 * gives that function and credentials of its own, and with its Timeout
 * enforced.
 *
 * | Lambda in AWS                                         | here ({@link PackagedLambdas})                                     |
 * |-------------------------------------------------------|--------------------------------------------------------------------|
 * | the function's zip, unpacked in /var/task             | the zip unpacked once into a cache folder keyed by its SHA-256     |
 * | one container per concurrent invocation, kept warm    | one forked worker (`lambda-worker.mjs`) per busy invocation, kept  |
 * | Environment.Variables of the AWS::Lambda::Function    | the same, `Ref`s resolved to the testbed's topic / state machines  |
 * | the runtime's AWS_REGION, AWS_LAMBDA_*, _HANDLER, TZ  | the same names ({@link lambdaRuntimeEnvironment})                  |
 * | the execution role's temporary credentials            | a per-function access key ({@link functionAccessKeyId})            |
 * | Timeout: the sandbox is stopped, `Sandbox.Timedout`   | the worker is killed, same error type and message                  |
 * | MemorySize                                            | the worker's V8 old-space limit (`--max-old-space-size`)           |
 *
 * Nothing is shared between two functions, nor between two concurrent
 * invocations of one function: module state (SDK clients, caches, the
 * redaction registry, globals) lives in the worker, as in a container.
 * What the testbed adds on top of the template ({@link PackagedLambdasOptions.overrides})
 * stands in for what AWS provides around a function: the endpoint of the AWS
 * APIs, the way to the cluster, the resolver the canary uses.
 *
 * The CLI (`kserve-edge provision`) keeps running the handlers in-process
 * (`tasks.ts`): it talks to a real account with the user's credentials,
 * where per-function test keys would mean nothing.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { DEFAULT_DEFINITION_PATH, LOCAL_ACCOUNT_ID, readRawDefinition, taskFunctionKeys } from './definition';
import { LambdaFunctionError, type TaskHandler } from './lambda';

/** One AWS::Lambda::Function of the packaged template, with its zip. */
export interface PackagedFunction {
  /** The serverless function key (`notifyFailure`), also the zip's name. */
  key: string;
  logicalId: string;
  functionName: string;
  /** `functions/notify-failure/handler.handler` */
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** Environment.Variables as the template has them (CloudFormation intrinsics unresolved). */
  environment: Record<string, unknown>;
  zipFile: string;
}

/** The properties of an AWS::Lambda::Function the runner reads. */
interface FunctionProperties {
  FunctionName?: string;
  Handler?: string;
  Runtime?: string;
  Timeout?: number;
  MemorySize?: number;
  Environment?: { Variables?: Record<string, unknown> };
  Code?: { S3Key?: unknown };
}

/** The template file `osls package` writes. */
export const TEMPLATE_FILE = 'cloudformation-template-update-stack.json';

/** What decides a bundle's content: when any of these is newer than the template, the package is stale. */
export const BUNDLE_SOURCES = [
  'functions',
  'shared',
  'wiring',
  'serverless.yml',
  'package-lock.json',
  'scripts/esbuild-plugins.cjs',
  // Deploy parameters resolved into the template (KSERVE_EDGE_IN_VPC, the audit-log trigger).
  'deploy/vpc.cjs',
  'deploy/audit-events.cjs',
];

/** The Lambda runtime the stack deploys on (serverless.yml provider.runtime). */
export const LAMBDA_RUNTIME = 'nodejs24.x';

/**
 * Throws a {@link PackageError} unless `runtime` (a template's `Runtime`, e.g.
 * `nodejs24.x`) is the Node.js major of `nodeVersion` (default: the Node
 * running the workers): an end-to-end test must run each bundle on the Node
 * that Lambda would run it on, not on whatever `node` is first on PATH.
 */
export function assertRuntimeMatches(fn: Pick<PackagedFunction, 'key' | 'runtime'>, nodeVersion: string = process.versions.node): void {
  const wanted = /^nodejs(\d+)\.x$/.exec(fn.runtime)?.[1];
  const have = nodeVersion.replace(/^v/, '').split('.')[0];
  if (!wanted) throw new PackageError(`${fn.key}: Runtime ${JSON.stringify(fn.runtime)} is not a Node.js runtime (nodejsNN.x)`);
  if (wanted !== have) {
    throw new PackageError(
      `${fn.key}: the template's Runtime is ${fn.runtime} but the workers would run Node ${nodeVersion}: ` +
        'put node_modules/.bin first on PATH (the `node` dev dependency)',
    );
  }
}

/** Lambda's defaults when the template leaves them out. */
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;

const ACCESS_KEY_PREFIX = 'AKIDKSE';
const ACCESS_KEY_LENGTH = 20;

/**
 * The access key id a function's worker signs its AWS calls with:
 * `AKIDKSE` + the function key in upper case, cut to 20 characters (the
 * length of AWS's own key ids), e.g. `notifyFailure` → `AKIDKSENOTIFYFAILURE`.
 * The testbed maps it back to the function ({@link functionKeyOfAccessKeyId})
 * to find its role; {@link readPackage} refuses a template where two
 * functions would share one.
 */
export function functionAccessKeyId(functionKey: string): string {
  return `${ACCESS_KEY_PREFIX}${functionKey.toUpperCase().replace(/[^A-Z0-9]/g, '')}`.slice(0, ACCESS_KEY_LENGTH);
}

/** The secret key paired with {@link functionAccessKeyId}: a test value (nothing in the testbed checks signatures). */
export function functionSecretAccessKey(functionKey: string): string {
  return `kserve-edge-testbed-secret-${functionKey}`;
}

/** The function key whose {@link functionAccessKeyId} is `accessKeyId`, among `functionKeys`; undefined if none. */
export function functionKeyOfAccessKeyId(accessKeyId: string, functionKeys: Iterable<string>): string | undefined {
  for (const key of functionKeys) if (functionAccessKeyId(key) === accessKeyId) return key;
  return undefined;
}

/** The packaged build is missing, stale or not what the runner can run. */
export class PackageError extends Error {
  override readonly name = 'PackageError';
}

/**
 * Every function of the packaged template in `dir` (default `.serverless`
 * under the repository), by function key.
 *
 * @throws PackageError when the template or a zip is missing, or two functions would share an access key id.
 */
export function readPackage(dir: string = defaultPackageDir()): Record<string, PackagedFunction> {
  const templateFile = join(dir, TEMPLATE_FILE);
  if (!existsSync(templateFile)) throw new PackageError(`no packaged template at ${templateFile}: run npm run package`);
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
    Resources?: Record<string, { Type?: string; Properties?: FunctionProperties }>;
  };
  const out: Record<string, PackagedFunction> = {};
  const keyIds = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const p = resource.Properties ?? {};
    const s3Key = String(p.Code?.S3Key ?? '');
    const key = /([^/]+)\.zip$/.exec(s3Key)?.[1];
    if (!key) throw new PackageError(`${logicalId}: Code.S3Key ${JSON.stringify(s3Key)} names no zip`);
    const zipFile = join(dir, `${key}.zip`);
    if (!existsSync(zipFile)) throw new PackageError(`${logicalId}: no bundle ${zipFile}: run npm run package`);
    const accessKeyId = functionAccessKeyId(key);
    const clash = keyIds.get(accessKeyId);
    if (clash) throw new PackageError(`functions ${clash} and ${key} would share the access key id ${accessKeyId}`);
    keyIds.set(accessKeyId, key);
    out[key] = {
      key,
      logicalId,
      functionName: String(p.FunctionName ?? logicalId),
      handler: String(p.Handler ?? ''),
      runtime: String(p.Runtime ?? ''),
      timeoutSeconds: Number(p.Timeout ?? DEFAULT_TIMEOUT_SECONDS),
      memoryMb: Number(p.MemorySize ?? DEFAULT_MEMORY_MB),
      environment: { ...(p.Environment?.Variables ?? {}) },
      zipFile,
    };
  }
  return out;
}

/**
 * Throws a {@link PackageError} unless the packaged template in `dir` is
 * newer than every file of {@link BUNDLE_SOURCES}: a test must not run
 * yesterday's bundles against today's code.
 */
export function assertPackageFresh(dir: string = defaultPackageDir(), root: string = repositoryRoot()): void {
  const templateFile = join(dir, TEMPLATE_FILE);
  if (!existsSync(templateFile)) throw new PackageError(`no packaged template at ${templateFile}: run npm run package`);
  const built = statSync(templateFile).mtimeMs;
  const newer = (path: string): string | undefined => {
    if (!existsSync(path)) return undefined;
    const st = statSync(path);
    if (st.isFile()) return st.mtimeMs > built ? path : undefined;
    for (const entry of readdirSync(path)) {
      const found = newer(join(path, entry));
      if (found) return found;
    }
    return undefined;
  };
  for (const source of BUNDLE_SOURCES) {
    const found = newer(join(root, source));
    if (found) throw new PackageError(`the packaged bundles in ${dir} are older than ${found}: run npm run package`);
  }
}

// ------------------------------------------------------------------ environment

/**
 * A template value as CloudFormation would resolve it in the stack, for the
 * intrinsics the functions' environments use: a literal, or `{"Ref": id}`
 * looked up in `refs` (the testbed's stand-ins for the stack's resources).
 *
 * @throws PackageError for a Ref without a value in `refs`, or any other intrinsic.
 */
export function resolveTemplateValue(value: unknown, refs: Readonly<Record<string, string>>, where: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Ref') {
      const id = String((value as { Ref: unknown }).Ref);
      const resolved = refs[id];
      if (resolved === undefined) throw new PackageError(`${where}: {"Ref": "${id}"} has no local value (pass refs.${id})`);
      return resolved;
    }
  }
  throw new PackageError(`${where}: cannot resolve ${JSON.stringify(value)} locally`);
}

/** Variables the Lambda runtime sets in every function's environment (the ones a handler could read). */
export function lambdaRuntimeEnvironment(fn: PackagedFunction, region: string, taskRoot: string): Record<string, string> {
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime || LAMBDA_RUNTIME}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    AWS_ACCESS_KEY_ID: functionAccessKeyId(fn.key),
    AWS_SECRET_ACCESS_KEY: functionSecretAccessKey(fn.key),
    LAMBDA_TASK_ROOT: taskRoot,
    _HANDLER: fn.handler,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: '/usr/local/bin:/usr/bin:/bin',
  };
}

/** Credentials are the function's own: an override may not replace them. */
const CREDENTIAL_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];

/**
 * The environment one function's worker gets, in this order (later wins):
 *
 * 1. what the Lambda runtime sets ({@link lambdaRuntimeEnvironment}), with the
 *    function's own credentials;
 * 2. the function's Environment.Variables from the template, `Ref`s resolved
 *    through `refs`;
 * 3. `overrides`: a variable the template sets for some function replaces it
 *    only where the template sets it (LOG_LEVEL everywhere, a topic ARN only
 *    in NotifyFailure); any other applies to every function (the testbed's
 *    endpoint, cluster and resolver settings).
 *
 * @throws PackageError when `overrides` names a credential variable, or a Ref has no value.
 */
export function functionEnvironment(
  fn: PackagedFunction,
  all: Readonly<Record<string, PackagedFunction>>,
  options: { refs: Readonly<Record<string, string>>; overrides: Readonly<Record<string, string>>; region: string; taskRoot: string },
): Record<string, string> {
  const credentials = CREDENTIAL_VARIABLES.filter((v) => v in options.overrides);
  if (credentials.length > 0) throw new PackageError(`overrides may not set ${credentials.join(', ')}: each function has its own`);
  const env = lambdaRuntimeEnvironment(fn, options.region, options.taskRoot);
  for (const [name, value] of Object.entries(fn.environment)) {
    env[name] = resolveTemplateValue(value, options.refs, `${fn.logicalId} Environment.Variables.${name}`);
  }
  const templateSet = new Set(Object.values(all).flatMap((f) => Object.keys(f.environment)));
  for (const [name, value] of Object.entries(options.overrides)) {
    if (templateSet.has(name) && !(name in fn.environment)) continue;
    env[name] = value;
  }
  return env;
}

// ------------------------------------------------------------------ bundles

/** One file of a zip, read from its central directory. */
interface ZipEntry {
  name: string;
  data(): Buffer;
}

/** The entries of a zip file (stored or deflated; what osls writes). */
function readZip(file: string): ZipEntry[] {
  const buf = readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd -= 1;
  if (eocd < 0) throw new PackageError(`${file}: not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new PackageError(`${file}: bad central directory`);
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLength);
    if (method !== 0 && method !== 8) throw new PackageError(`${file}: ${name} uses compression method ${method}`);
    entries.push({
      name,
      data() {
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const raw = buf.subarray(start, start + compressed);
        return method === 0 ? Buffer.from(raw) : inflateRawSync(raw);
      },
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * Unpacks `zipFile` into `<cacheDir>/<name>-<sha256 prefix>` unless that
 * folder is already there, and returns it: each distinct bundle is unpacked
 * once, and a rebuilt one gets a folder of its own.
 */
export function unpackBundle(zipFile: string, cacheDir: string): string {
  const hash = createHash('sha256').update(readFileSync(zipFile)).digest('hex').slice(0, 16);
  const name = (zipFile.split(sep).pop() ?? 'bundle').replace(/\.zip$/, '');
  const target = join(cacheDir, `${name}-${hash}`);
  if (existsSync(target)) return target;
  const staging = `${target}.partial-${process.pid}-${randomUUID()}`;
  try {
    for (const entry of readZip(zipFile)) {
      if (entry.name.endsWith('/')) continue;
      const normalized = normalize(entry.name);
      if (isAbsolute(normalized) || normalized.startsWith('..'))
        throw new PackageError(`${zipFile}: entry ${entry.name} leaves the bundle`);
      const out = join(staging, normalized);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, entry.data());
    }
    mkdirSync(cacheDir, { recursive: true });
    // Atomic: a folder under the final name is always complete.
    renameSync(staging, target);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(target)) throw err;
  }
  return target;
}

// ------------------------------------------------------------------ workers

/** How the workers are set up. */
export interface PackagedLambdasOptions {
  /** The `osls package` output; default `.serverless` under the repository. */
  dir?: string;
  /** Values of the template's `Ref`s: `KserveEdgeAlerts`, `ProvisionStateMachine`, `DeprovisionStateMachine`. */
  refs: Readonly<Record<string, string>>;
  /** The testbed's settings on top of the template (see {@link functionEnvironment}); never credentials. */
  overrides?: Readonly<Record<string, string>>;
  /** AWS_REGION of the functions; default `overrides.AWS_REGION`, else us-east-1. */
  region?: string;
  /** Where bundles are unpacked; default `.testbed/lambda-bundles` under the repository. */
  cacheDir?: string;
  /**
   * `true` (default): a worker stays warm for the next invocation of its
   * function, as Lambda keeps containers. `false`: every invocation gets a
   * fresh worker (a cold start each time).
   */
  warm?: boolean;
  /** Where the workers' stdout and stderr go; default this process's. */
  output?: { stdout: (chunk: Buffer) => void; stderr: (chunk: Buffer) => void };
}

interface Pending {
  resolve: (json: unknown) => void;
  reject: (err: Error) => void;
  requestId: string;
}

/** One forked worker: one function's container. */
class Worker {
  readonly child: ChildProcess;
  pending: Pending | undefined;
  /** Exited, or killed and about to: never handed another invocation. */
  exited = false;

  /** Settles once the process has exited and its stdout and stderr are read to the end. */
  readonly closed: Promise<void>;

  constructor(child: ChildProcess) {
    this.child = child;
    this.closed = new Promise((done) => child.once('close', () => done()));
    child.on('message', (message: { type?: string; ok?: boolean; json?: string; error?: LambdaFunctionError['payload'] }) => {
      if (message?.type !== 'result' || !this.pending) return;
      const { resolve, reject } = this.pending;
      this.pending = undefined;
      if (message.ok) resolve(JSON.parse(message.json ?? 'null') as unknown);
      else reject(new LambdaFunctionError(message.error ?? { errorType: 'Error', errorMessage: 'unknown error' }));
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      const pending = this.pending;
      this.pending = undefined;
      // What Lambda reports when the runtime process dies mid-invocation (a crash, process.exit, out of memory).
      pending?.reject(
        new LambdaFunctionError({
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${pending.requestId} Error: Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}`,
        }),
      );
    });
  }

  kill(): void {
    this.exited = true;
    this.child.kill('SIGKILL');
  }

  /** Idle workers must not keep the test process alive. */
  hold(held: boolean): void {
    const handles = [this.child, this.child.channel, this.child.stdout, this.child.stderr] as (
      { ref?(): void; unref?(): void } | null | undefined
    )[];
    for (const h of handles) (held ? h?.ref : h?.unref)?.call(h);
  }
}

/**
 * The packaged functions, each run in worker processes of its own (see the
 * module comment). One instance can serve several executions at once: a
 * warm worker takes one invocation at a time, and a busy function gets
 * another worker, as Lambda scales out containers.
 *
 * @example
 *   const lambdas = new PackagedLambdas({ refs: { KserveEdgeAlerts: topicArn }, overrides: { AWS_ENDPOINT_URL: url, AWS_REGION: 'us-west-2' } });
 *   try {
 *     await runStateMachine({ definition: loadDefinition(), handlers: lambdas.taskHandlers(), input });
 *   } finally {
 *     await lambdas.stop();
 *   }
 */
export class PackagedLambdas {
  readonly functions: Readonly<Record<string, PackagedFunction>>;
  private readonly options: PackagedLambdasOptions;
  private readonly cacheDir: string;
  private readonly idle = new Map<string, Worker[]>();
  private readonly workers = new Set<Worker>();
  private readonly roots = new Map<string, string>();
  private readonly environments = new Map<string, Record<string, string>>();
  private stopped = false;

  constructor(options: PackagedLambdasOptions) {
    this.options = options;
    this.functions = readPackage(options.dir ?? defaultPackageDir());
    this.cacheDir = options.cacheDir ?? join(repositoryRoot(), '.testbed', 'lambda-bundles');
    live.add(this);
    // One listener for every instance: workers never outlive the process that started them.
    if (live.size === 1 && !process.listeners('exit').includes(killLiveWorkers)) process.on('exit', killLiveWorkers);
  }

  /** The region the functions run in. */
  get region(): string {
    return this.options.region ?? this.options.overrides?.AWS_REGION ?? 'us-east-1';
  }

  /** The environment the worker of `functionKey` gets (see {@link functionEnvironment}). */
  environmentOf(functionKey: string): Record<string, string> {
    const fn = this.functionOf(functionKey);
    let env = this.environments.get(fn.key);
    if (!env) {
      env = functionEnvironment(fn, this.functions, {
        refs: this.options.refs,
        overrides: this.options.overrides ?? {},
        region: this.region,
        taskRoot: this.taskRoot(fn),
      });
      this.environments.set(fn.key, env);
    }
    return { ...env };
  }

  /**
   * Invokes `functionKey` with `event` (JSON in, JSON out), in a worker that
   * is doing nothing else. A failure throws {@link LambdaFunctionError} with
   * the Lambda runtime's payload: the handler's error (`errorType` = its
   * name), `Sandbox.Timedout` past the Timeout, `Runtime.ExitError` if the
   * process died.
   */
  async invoke(functionKey: string, event: unknown): Promise<unknown> {
    if (this.stopped) throw new Error('PackagedLambdas: stopped');
    const fn = this.functionOf(functionKey);
    const worker = this.idle.get(fn.key)?.pop() ?? this.spawn(fn);
    const requestId = randomUUID();
    const env = this.environmentOf(fn.key);
    const timeoutMs = fn.timeoutSeconds * 1000;
    worker.hold(true);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<unknown>((resolve, reject) => {
        worker.pending = { resolve, reject, requestId };
        timer = setTimeout(() => {
          worker.pending = undefined;
          worker.kill();
          // The runtime's own words for a timeout; Step Functions reports errorType as the Error.
          reject(
            new LambdaFunctionError({
              errorType: 'Sandbox.Timedout',
              errorMessage: `RequestId: ${requestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
            }),
          );
        }, timeoutMs);
        worker.child.send({
          type: 'invoke',
          id: requestId,
          requestId,
          context: {
            functionName: fn.functionName,
            functionVersion: '$LATEST',
            invokedFunctionArn: `arn:aws:lambda:${this.region}:${LOCAL_ACCOUNT_ID}:function:${fn.functionName}`,
            memoryLimitInMB: String(fn.memoryMb),
            logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
            logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
          },
          // The payload crosses the wire as JSON text, as it does to Lambda.
          event: JSON.stringify(event ?? null),
          deadline: Date.now() + timeoutMs,
        });
      });
    } finally {
      clearTimeout(timer);
      await this.release(fn.key, worker);
    }
  }

  /**
   * Task state name → handler, for `runStateMachine`: each Task invokes the
   * function its `Fn::GetAtt` names in the definition file at `definitionPath`.
   *
   * @throws PackageError when a Task's function is not in the package.
   */
  taskHandlers(definitionPath: string = DEFAULT_DEFINITION_PATH): Record<string, TaskHandler> {
    const keys = taskFunctionKeys(readRawDefinition(definitionPath));
    for (const key of Object.values(keys)) this.functionOf(key);
    return Object.fromEntries(Object.entries(keys).map(([state, key]) => [state, (input: unknown) => this.invoke(key, input)]));
  }

  /** How many worker processes are alive, by function key (tests use it to see concurrency). */
  workerCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const w of this.workers) {
      const key = (w.child as ChildProcess & { functionKey?: string }).functionKey ?? '?';
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Ends every worker; the instance cannot be used afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    live.delete(this);
    const exits = [...this.workers].map(
      (w) =>
        new Promise<void>((done) => {
          if (w.child.exitCode !== null || w.child.signalCode !== null) return done();
          w.child.once('exit', () => done());
          // Held until it has exited, or the wait itself would let the process end first.
          w.hold(true);
          w.kill();
        }),
    );
    await Promise.all(exits);
    this.workers.clear();
    this.idle.clear();
  }

  /** Kills every worker at once, synchronously (the process is exiting). */
  killNow(): void {
    for (const w of this.workers) w.child.kill('SIGKILL');
  }

  private functionOf(functionKey: string): PackagedFunction {
    const fn = this.functions[functionKey];
    if (!fn) throw new PackageError(`no function ${functionKey} in the package (has ${Object.keys(this.functions).join(', ')})`);
    return fn;
  }

  private taskRoot(fn: PackagedFunction): string {
    let root = this.roots.get(fn.key);
    if (!root) {
      root = unpackBundle(fn.zipFile, this.cacheDir);
      this.roots.set(fn.key, root);
    }
    return root;
  }

  private spawn(fn: PackagedFunction): Worker {
    assertRuntimeMatches(fn);
    const env = this.environmentOf(fn.key);
    const child = fork(workerScript(), [env.LAMBDA_TASK_ROOT!, fn.handler, `${env.LAMBDA_TASK_ROOT}.v8-cache`], {
      cwd: env.LAMBDA_TASK_ROOT,
      env,
      execPath: process.execPath,
      // About the function's memory for V8's heap (the rest of the process needs some too).
      execArgv: [`--max-old-space-size=${Math.max(64, Math.floor(fn.memoryMb * 0.9))}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    Object.assign(child, { functionKey: fn.key });
    const output = this.options.output;
    // Looked up at every chunk: a test that captures process.stdout sees the function's logs.
    child.stdout?.on('data', (chunk: Buffer) => (output ? output.stdout(chunk) : process.stdout.write(chunk)));
    child.stderr?.on('data', (chunk: Buffer) => (output ? output.stderr(chunk) : process.stderr.write(chunk)));
    const worker = new Worker(child);
    this.workers.add(worker);
    child.once('exit', () => {
      this.workers.delete(worker);
      const idle = this.idle.get(fn.key);
      if (idle)
        this.idle.set(
          fn.key,
          idle.filter((w) => w !== worker),
        );
    });
    return worker;
  }

  /** Back to the idle list, or ended; an ended worker's output is all forwarded before the invocation returns. */
  private async release(functionKey: string, worker: Worker): Promise<void> {
    if (worker.exited) return worker.closed;
    if (this.stopped || this.options.warm === false) {
      worker.kill();
      return worker.closed;
    }
    worker.hold(false);
    const idle = this.idle.get(functionKey) ?? [];
    idle.push(worker);
    this.idle.set(functionKey, idle);
  }
}

/** Instances not stopped yet. */
const live = new Set<PackagedLambdas>();

function killLiveWorkers(): void {
  for (const lambdas of live) lambdas.killNow();
}

// ------------------------------------------------------------------ paths

/** The repository root: the nearest folder above this module holding package.json and local/. */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'local', 'lambda-worker.mjs'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve('.');
    dir = parent;
  }
}

function defaultPackageDir(): string {
  return join(repositoryRoot(), '.serverless');
}

function workerScript(): string {
  return join(repositoryRoot(), 'local', 'lambda-worker.mjs');
}
