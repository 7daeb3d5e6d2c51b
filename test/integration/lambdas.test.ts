/**
 * The end-to-end suites run every Task as Lambda runs it (local/packaged.ts).
 * This suite proves the isolation that promises, with a small package of its
 * own (a template and zips built here, environments copied from the real
 * template) and with the real one that `npm run package` built:
 *
 * - a global set by one function is not seen by another;
 * - a handler past its Timeout ends the Task with Lambda's timeout error;
 * - a thrown error keeps the shape Retry/Catch match (errorType = name);
 * - each function sees its own template environment and credentials, nothing else;
 * - concurrent invocations of one function run in separate processes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toLocalDefinition } from '../../local/definition';
import { parseErrorCause } from '../../local/lambda';
import { functionAccessKeyId, functionKeyOfAccessKeyId, PackagedLambdas, readPackage, TEMPLATE_FILE } from '../../local/packaged';
import { runStateMachine } from '../../local/run';
import { REPO_ROOT } from '../../testbed/testbed';
import { writeZip } from '../fixtures/zip';
import { lambdasFor } from './lambdas';

const TOPIC = 'arn:aws:sns:us-west-2:123456789012:kserve-edge-testbed-alerts';
const REFS = {
  KserveEdgeAlerts: TOPIC,
  ProvisionStateMachine: 'arn:aws:states:us-west-2:123456789012:stateMachine:kserve-edge-provision-local',
  DeprovisionStateMachine: 'arn:aws:states:us-west-2:123456789012:stateMachine:kserve-edge-deprovision-local',
};
/** What a testbed passes on top of the template (never credentials). */
const OVERRIDES = { AWS_REGION: 'us-west-2', AWS_ENDPOINT_URL: 'http://127.0.0.1:1', KSERVE_EDGE_DNS_MODE: 'system', LOG_LEVEL: 'silent' };

/** Handlers of the fixture package, one module per function (ES modules, as the real bundles are). */
const HANDLERS: Record<string, string> = {
  setGlobal: `export const handler = async (event) => { globalThis.kserveEdgeMarker = event.marker; process.env.KSERVE_EDGE_MARKER = event.marker; return { pid: process.pid }; };`,
  readGlobal: `export const handler = async () => ({ pid: process.pid, global: globalThis.kserveEdgeMarker ?? null, env: process.env.KSERVE_EDGE_MARKER ?? null });`,
  sleeper: `export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms)); return { pid: process.pid }; };`,
  thrower: `class PatchConflict extends Error { name = 'PatchConflict'; } export const handler = async () => { throw new PatchConflict('the object changed under us'); };`,
  // Same keys (and so the same environments and access keys) as two real functions.
  notifyFailure: `export const handler = async () => ({ env: { ...process.env }, cwd: process.cwd() });`,
  configureCluster: `export const handler = async () => ({ env: { ...process.env }, cwd: process.cwd() });`,
};

const kebab = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const pascal = (key: string) => key.charAt(0).toUpperCase() + key.slice(1);

/** A package in the shape `osls package` writes: the template and one zip per function. */
function fixturePackage(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kserve-edge-lambdas-'));
  const real = readPackage(join(REPO_ROOT, '.serverless'));
  const resources: Record<string, unknown> = {};
  for (const [key, code] of Object.entries(HANDLERS)) {
    const file = `functions/${kebab(key)}/handler`;
    writeZip(join(dir, `${key}.zip`), { [`${file}.mjs`]: code });
    resources[`${pascal(key)}LambdaFunction`] = {
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: `kserve-edge-test-${key}`,
        Handler: `${file}.handler`,
        Runtime: 'nodejs24.x',
        MemorySize: 128,
        Timeout: key === 'sleeper' ? 1 : 10,
        Code: { S3Bucket: { Ref: 'ServerlessDeploymentBucket' }, S3Key: `serverless/kserve-edge/test/${key}.zip` },
        // The real functions' environments, as the real template has them.
        Environment: { Variables: real[key]?.environment ?? { LOG_LEVEL: 'info' } },
      },
    };
  }
  writeFileSync(join(dir, TEMPLATE_FILE), JSON.stringify({ Resources: resources }));
  return dir;
}

/** A state machine of fixture Tasks, caught like the real one (States.ALL to a Fail state). */
function definition(tasks: string[]) {
  const states: Record<string, unknown> = {};
  tasks.forEach((key, i) => {
    states[key] = {
      Type: 'Task',
      Resource: { 'Fn::GetAtt': [key, 'Arn'] },
      Parameters: { 'marker.$': '$.marker', 'ms.$': '$.ms' },
      ResultPath: `$.results.${key}`,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
      ...(i + 1 < tasks.length ? { Next: tasks[i + 1] } : { End: true }),
    };
  });
  states.Failed = { Type: 'Fail', Error: 'TaskFailed', Cause: 'a Task failed' };
  return toLocalDefinition({ StartAt: tasks[0], States: states });
}

describe('Lambdas as Lambda runs them: packaged bundles in processes of their own', () => {
  let dir: string;
  let lambdas: PackagedLambdas;

  beforeAll(() => {
    dir = fixturePackage();
    lambdas = new PackagedLambdas({ dir, refs: REFS, overrides: OVERRIDES, cacheDir: join(dir, 'cache') });
  });

  afterAll(async () => {
    await lambdas?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a global (and an environment variable) set by one function is not seen by another', async () => {
    const handlers = Object.fromEntries(['setGlobal', 'readGlobal'].map((k) => [k, (input: unknown) => lambdas.invoke(k, input)]));
    const result = await runStateMachine({
      definition: definition(['setGlobal', 'readGlobal']),
      handlers,
      input: { marker: 'leaked', ms: 0 },
    });
    expect(result.status).toBe('SUCCEEDED');
    const { setGlobal, readGlobal } = (result.output as { results: Record<string, { pid: number; global?: unknown; env?: unknown }> })
      .results;
    expect(readGlobal).toMatchObject({ global: null, env: null });
    expect(readGlobal!.pid).not.toBe(setGlobal!.pid);
    expect([setGlobal!.pid, readGlobal!.pid]).not.toContain(process.pid);
    // The same function's warm container does keep its globals, as Lambda's does.
    expect(await lambdas.invoke('setGlobal', { marker: 'again' })).toEqual({ pid: setGlobal!.pid });
  });

  it('a handler past its Timeout ends the Task with Lambda timeout error, and its process is gone', async () => {
    const handlers = { sleeper: (input: unknown) => lambdas.invoke('sleeper', input) };
    const started = Date.now();
    const result = await runStateMachine({ definition: definition(['sleeper']), handlers, input: { marker: 'x', ms: 5_000 } });
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(result.failState).toBe('Failed');
    const entered = result.events.find((e) => e.type === 'StateEntered' && e.state === 'Failed') as {
      input: { error: { Error: string; Cause: string } };
    };
    expect(entered.input.error.Error).toBe('Sandbox.Timedout');
    expect(parseErrorCause(entered.input.error.Cause)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: expect.stringMatching(/^RequestId: [0-9a-f-]{36} Error: Task timed out after 1\.00 seconds$/),
    });
    expect(lambdas.workerCounts().sleeper ?? 0).toBe(0);
    // Within the Timeout the same function answers, in a new container.
    expect(await lambdas.invoke('sleeper', { ms: 10 })).toEqual({ pid: expect.any(Number) });
  });

  it('a thrown error reaches Retry/Catch as Lambda reports it: Error = error.name, Cause = {errorType, errorMessage, trace}', async () => {
    const handlers = { thrower: (input: unknown) => lambdas.invoke('thrower', input) };
    const result = await runStateMachine({ definition: definition(['thrower']), handlers, input: { marker: 'x', ms: 0 } });
    const entered = result.events.find((e) => e.type === 'StateEntered' && e.state === 'Failed') as {
      input: { error: { Error: string; Cause: string } };
    };
    expect(entered.input.error.Error).toBe('PatchConflict');
    const cause = JSON.parse(entered.input.error.Cause) as { errorType: string; errorMessage: string; trace: string[] };
    expect(cause).toMatchObject({ errorType: 'PatchConflict', errorMessage: 'the object changed under us' });
    expect(cause.trace[0]).toBe('PatchConflict: the object changed under us');
  });

  it('each function sees its own template environment and credentials, and the testbed overrides', async () => {
    const notify = (await lambdas.invoke('notifyFailure', {})) as { env: Record<string, string>; cwd: string };
    const configure = (await lambdas.invoke('configureCluster', {})) as { env: Record<string, string>; cwd: string };
    expect(notify.env.KSERVE_EDGE_SNS_TOPIC_ARN).toBe(TOPIC);
    expect(configure.env).not.toHaveProperty('KSERVE_EDGE_SNS_TOPIC_ARN');
    for (const [key, seen] of [
      ['notifyFailure', notify],
      ['configureCluster', configure],
    ] as const) {
      // Exactly what the runner computes for it (template + runtime + overrides), and nothing of this process.
      expect(seen.env).toEqual(lambdas.environmentOf(key));
      expect(seen.env.AWS_ACCESS_KEY_ID).toBe(functionAccessKeyId(key));
      expect(seen.env).toMatchObject({ AWS_ENDPOINT_URL: OVERRIDES.AWS_ENDPOINT_URL, LOG_LEVEL: 'silent', AWS_REGION: 'us-west-2' });
      expect(seen.cwd).toBe(seen.env.LAMBDA_TASK_ROOT);
    }
    expect(notify.env.AWS_ACCESS_KEY_ID).not.toBe(configure.env.AWS_ACCESS_KEY_ID);
    expect(notify.env).not.toHaveProperty('JEST_WORKER_ID');
    expect(notify.env).not.toHaveProperty('HOME');
  });

  it('concurrent invocations of one function run in separate processes; an idle one is reused', async () => {
    const pids = (await Promise.all([0, 1, 2].map(() => lambdas.invoke('sleeper', { ms: 300 })))) as Array<{ pid: number }>;
    expect(new Set(pids.map((p) => p.pid)).size).toBe(3);
    const again = (await lambdas.invoke('sleeper', { ms: 0 })) as { pid: number };
    expect(pids.map((p) => p.pid)).toContain(again.pid);
  });

  it('each bundle is unpacked once, in a folder named by its hash', () => {
    const root = lambdas.environmentOf('readGlobal').LAMBDA_TASK_ROOT!;
    expect(root).toMatch(/readGlobal-[0-9a-f]{16}$/);
    expect(readFileSync(join(root, 'functions/read-global/handler.mjs'), 'utf8')).toBe(HANDLERS.readGlobal);
    expect(lambdas.environmentOf('readGlobal').LAMBDA_TASK_ROOT).toBe(root);
  });
});

describe('the real package: every function has its own environment and access key', () => {
  it('NotifyFailure gets the alerts topic, ConfigureCluster does not; access keys map back to their function', async () => {
    const lambdas = lambdasFor({
      ...OVERRIDES,
      KSERVE_EDGE_SNS_TOPIC_ARN: TOPIC,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    });
    expect(lambdas.environmentOf('notifyFailure').KSERVE_EDGE_SNS_TOPIC_ARN).toBe(TOPIC);
    expect(lambdas.environmentOf('configureCluster')).not.toHaveProperty('KSERVE_EDGE_SNS_TOPIC_ARN');
    const keys = Object.keys(lambdas.functions);
    const ids = keys.map((k) => lambdas.environmentOf(k).AWS_ACCESS_KEY_ID!);
    expect(new Set(ids).size).toBe(keys.length);
    for (const [i, id] of ids.entries()) {
      expect(id).toMatch(/^AKIDKSE[A-Z0-9]{1,13}$/);
      expect(functionKeyOfAccessKeyId(id, keys)).toBe(keys[i]);
    }
    // The real bundle, in its own process: bad input is refused with the product's named error.
    await expect(lambdas.invoke('validateRequest', { domain: 'not a request' })).rejects.toMatchObject({ name: 'InvalidRequest' });
  });
});
