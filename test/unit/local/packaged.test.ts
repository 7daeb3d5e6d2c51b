/**
 * The pure parts of the packaged runner (local/packaged.ts): which
 * environment each function gets, how template values resolve, the
 * per-function access keys, reading a package and unpacking a bundle. The
 * processes themselves are exercised in test/integration/lambdas.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertRuntimeMatches,
  functionAccessKeyId,
  functionEnvironment,
  functionKeyOfAccessKeyId,
  PackageError,
  readPackage,
  resolveTemplateValue,
  TEMPLATE_FILE,
  unpackBundle,
  type PackagedFunction,
} from '../../../local/packaged';
import { writeZip } from '../../fixtures/zip';

const fn = (key: string, environment: Record<string, unknown>): PackagedFunction => ({
  key,
  logicalId: `${key}LambdaFunction`,
  functionName: `kserve-edge-ci-${key}`,
  handler: `functions/${key}/handler.handler`,
  runtime: 'nodejs24.x',
  timeoutSeconds: 60,
  memoryMb: 256,
  environment,
  zipFile: `/nowhere/${key}.zip`,
});

const notify = fn('notifyFailure', { LOG_LEVEL: 'info', KSERVE_EDGE_SNS_TOPIC_ARN: { Ref: 'KserveEdgeAlerts' } });
const configure = fn('configureCluster', { LOG_LEVEL: 'info' });
const all = { notifyFailure: notify, configureCluster: configure };
const TOPIC = 'arn:aws:sns:us-west-2:123456789012:alerts';
const options = (overrides: Record<string, string> = {}) => ({
  refs: { KserveEdgeAlerts: TOPIC },
  overrides,
  region: 'us-west-2',
  taskRoot: '/var/task',
});

describe('functionEnvironment', () => {
  it('gives each function its own template variables, Refs resolved, and the runtime variables', () => {
    const env = functionEnvironment(notify, all, options());
    expect(env).toMatchObject({
      LOG_LEVEL: 'info',
      KSERVE_EDGE_SNS_TOPIC_ARN: TOPIC,
      AWS_REGION: 'us-west-2',
      AWS_LAMBDA_FUNCTION_NAME: 'kserve-edge-ci-notifyFailure',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      LAMBDA_TASK_ROOT: '/var/task',
      _HANDLER: 'functions/notifyFailure/handler.handler',
      AWS_ACCESS_KEY_ID: 'AKIDKSENOTIFYFAILURE',
    });
    expect(functionEnvironment(configure, all, options())).not.toHaveProperty('KSERVE_EDGE_SNS_TOPIC_ARN');
  });

  it('an override of a variable the template sets applies only where the template sets it; others apply everywhere', () => {
    const overrides = {
      KSERVE_EDGE_SNS_TOPIC_ARN: 'arn:aws:sns:us-west-2:123456789012:other',
      LOG_LEVEL: 'silent',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:5000',
    };
    const n = functionEnvironment(notify, all, options(overrides));
    const c = functionEnvironment(configure, all, options(overrides));
    expect(n).toMatchObject(overrides);
    expect(c).toMatchObject({ LOG_LEVEL: 'silent', AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' });
    expect(c).not.toHaveProperty('KSERVE_EDGE_SNS_TOPIC_ARN');
  });

  it('refuses overrides of the credentials, and a Ref without a value, with a PackageError', () => {
    expect(() => functionEnvironment(notify, all, options({ AWS_ACCESS_KEY_ID: 'testing' }))).toThrow(PackageError);
    expect(() => functionEnvironment(notify, all, { ...options(), refs: {} })).toThrow(/\{"Ref": "KserveEdgeAlerts"\} has no local value/);
  });
});

describe('resolveTemplateValue', () => {
  it('passes literals, resolves Ref, refuses any other intrinsic', () => {
    expect(resolveTemplateValue('info', {}, 'x')).toBe('info');
    expect(resolveTemplateValue(360, {}, 'x')).toBe('360');
    expect(resolveTemplateValue({ Ref: 'A' }, { A: 'a' }, 'x')).toBe('a');
    expect(() => resolveTemplateValue({ 'Fn::GetAtt': ['A', 'Arn'] }, {}, 'F.Environment')).toThrow(/F\.Environment: cannot resolve/);
  });
});

describe('per-function access keys', () => {
  it('are 20 characters at most, upper case, and map back to their function', () => {
    const keys = ['publishValidationRecords', 'notifyFailure', 'sweep'];
    for (const key of keys) {
      const id = functionAccessKeyId(key);
      expect(id).toMatch(/^AKIDKSE[A-Z0-9]{1,13}$/);
      expect(functionKeyOfAccessKeyId(id, keys)).toBe(key);
    }
    expect(functionAccessKeyId('publishValidationRecords')).toBe('AKIDKSEPUBLISHVALIDA');
    expect(functionKeyOfAccessKeyId('AKIDKSEUNKNOWN', keys)).toBeUndefined();
  });
});

describe('readPackage and unpackBundle', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'kserve-edge-packaged-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const template = (keys: string[]) => ({
    Resources: Object.fromEntries(
      keys.map((k) => [
        `${k}LambdaFunction`,
        { Type: 'AWS::Lambda::Function', Properties: { Handler: 'h.handler', Code: { S3Key: `serverless/x/${k}.zip` }, Timeout: 7 } },
      ]),
    ),
  });

  it('reads the functions of the template, Lambda defaults where it is silent', () => {
    writeFileSync(join(dir, TEMPLATE_FILE), JSON.stringify(template(['one'])));
    writeZip(join(dir, 'one.zip'), { 'h.mjs': 'export const handler = () => 1;' });
    expect(readPackage(dir).one).toMatchObject({ key: 'one', timeoutSeconds: 7, memoryMb: 128, handler: 'h.handler' });
  });

  it('refuses a missing template, a missing zip, and two functions that would share an access key', () => {
    expect(() => readPackage(dir)).toThrow(/run npm run package/);
    writeFileSync(join(dir, TEMPLATE_FILE), JSON.stringify(template(['one'])));
    expect(() => readPackage(dir)).toThrow(/no bundle .*one\.zip/);
    const twins = ['publishValidationRecordsA', 'publishValidationRecordsB'];
    writeFileSync(join(dir, TEMPLATE_FILE), JSON.stringify(template(twins)));
    for (const k of twins) writeZip(join(dir, `${k}.zip`), { 'h.mjs': '' });
    expect(() => readPackage(dir)).toThrow(/would share the access key id AKIDKSEPUBLISHVALIDA/);
  });

  it('unpacks a bundle once into a folder named by its hash; a changed zip gets a new folder', () => {
    const zip = join(dir, 'one.zip');
    writeZip(zip, { 'functions/one/handler.mjs': 'v1' });
    const first = unpackBundle(zip, join(dir, 'cache'));
    expect(first).toMatch(/one-[0-9a-f]{16}$/);
    expect(readFileSync(join(first, 'functions/one/handler.mjs'), 'utf8')).toBe('v1');
    expect(unpackBundle(zip, join(dir, 'cache'))).toBe(first);
    writeZip(zip, { 'functions/one/handler.mjs': 'v2' });
    const second = unpackBundle(zip, join(dir, 'cache'));
    expect(second).not.toBe(first);
    expect(readFileSync(join(second, 'functions/one/handler.mjs'), 'utf8')).toBe('v2');
  });

  it('refuses an entry that would land outside the bundle', () => {
    const zip = join(dir, 'evil.zip');
    writeZip(zip, { '../escaped.txt': 'x' });
    expect(() => unpackBundle(zip, join(dir, 'cache'))).toThrow(/leaves the bundle/);
    expect(existsSync(join(dir, 'escaped.txt'))).toBe(false);
  });
});

describe('assertRuntimeMatches', () => {
  it('accepts the Node whose major the template names', () => {
    expect(() => assertRuntimeMatches(notify, '24.21.0')).not.toThrow();
    expect(() => assertRuntimeMatches(notify, 'v24.0.1')).not.toThrow();
  });

  it('refuses another major, or a runtime that is not Node.js, naming the function', () => {
    expect(() => assertRuntimeMatches(notify, '22.23.3')).toThrow(PackageError);
    expect(() => assertRuntimeMatches(notify, '22.23.3')).toThrow(
      /notifyFailure: the template's Runtime is nodejs24.x but .* Node 22.23.3/,
    );
    expect(() => assertRuntimeMatches({ key: 'x', runtime: 'python3.13' }, '24.1.0')).toThrow(/not a Node.js runtime/);
  });
});
