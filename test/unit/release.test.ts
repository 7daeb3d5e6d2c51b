/**
 * scripts/release.mjs: the release artefact for a deploy without the
 * Serverless Framework, built from a small osls-shaped package (the real one
 * is checked by scripts/check-template.mjs after every `npm run package`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeZip } from '../fixtures/zip';

const SCRIPT = fileURLToPath(new URL('../../scripts/release.mjs', import.meta.url));

const lambda = (key: string) => ({
  Type: 'AWS::Lambda::Function',
  Properties: {
    Code: { S3Bucket: { Ref: 'ServerlessDeploymentBucket' }, S3Key: `serverless/kserve-edge/ci/1-2026/${key}.zip` },
    Handler: `functions/${key}/handler.handler`,
    Runtime: 'nodejs24.x',
  },
});

const oslsTemplate = (extra: Record<string, unknown> = {}) => ({
  AWSTemplateFormatVersion: '2010-09-09',
  Resources: {
    ServerlessDeploymentBucket: { Type: 'AWS::S3::Bucket' },
    ServerlessDeploymentBucketPolicy: { Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: { Ref: 'ServerlessDeploymentBucket' } } },
    SweepLambdaFunction: lambda('sweep'),
    NotifyFailureLambdaFunction: lambda('notifyFailure'),
    ...extra,
  },
  Outputs: { ServerlessDeploymentBucketName: { Value: { Ref: 'ServerlessDeploymentBucket' } }, Other: { Value: 'x' } },
});

function run(dir: string) {
  return spawnSync(process.execPath, [SCRIPT, dir, '--stage', 'prod', '--region', 'eu-west-1', '--param', 'clusterName=kubeflow'], {
    encoding: 'utf8',
  });
}

describe('scripts/release.mjs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kserve-edge-release-'));
    writeZip(join(dir, 'sweep.zip'), { 'functions/sweep/handler.mjs': 'export const handler = () => 1;' });
    writeZip(join(dir, 'notifyFailure.zip'), { 'functions/notify-failure/handler.mjs': 'export const handler = () => 2;' });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a template that reads every zip from ArtifactBucket/ArtifactPrefix, the zips and a README naming the template', () => {
    writeFileSync(join(dir, 'cloudformation-template-update-stack.json'), JSON.stringify(oslsTemplate()));
    const r = run(dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = join(dir, 'release');
    const template = JSON.parse(readFileSync(join(out, 'kserve-edge.template.json'), 'utf8'));
    expect(Object.keys(template.Resources).sort()).toEqual(['NotifyFailureLambdaFunction', 'SweepLambdaFunction']);
    expect(Object.keys(template.Outputs)).toEqual(['Other']);
    expect(template.Resources.SweepLambdaFunction.Properties.Code).toEqual({
      S3Bucket: { Ref: 'ArtifactBucket' },
      S3Key: { 'Fn::Sub': '${ArtifactPrefix}sweep.zip' },
    });
    const prefix: string = template.Parameters.ArtifactPrefix.Default;
    expect(prefix).toMatch(/^kserve-edge\/prod\/[0-9a-f]{12}\/$/);
    expect(readFileSync(join(out, 'functions', 'sweep.zip'))).toEqual(readFileSync(join(dir, 'sweep.zip')));
    expect(existsSync(join(out, 'functions', 'notifyFailure.zip'))).toBe(true);
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toContain('--template-file kserve-edge.template.json');
    expect(readme).toContain(`aws s3 cp functions/ "s3://$BUCKET/${prefix}" --recursive --region eu-west-1`);
    expect(readme).toContain('| `clusterName` | `kubeflow` |');
    expect(readme).toContain('resource "aws_cloudformation_stack"');
  });

  it('gives a new build a new prefix (CloudFormation updates code only when S3Key changes)', () => {
    writeFileSync(join(dir, 'cloudformation-template-update-stack.json'), JSON.stringify(oslsTemplate()));
    const prefixOf = () =>
      JSON.parse(readFileSync(join(dir, 'release', 'kserve-edge.template.json'), 'utf8')).Parameters.ArtifactPrefix.Default as string;
    expect(run(dir).status).toBe(0);
    const first = prefixOf();
    expect(run(dir).status).toBe(0);
    expect(prefixOf()).toBe(first);
    writeZip(join(dir, 'sweep.zip'), { 'functions/sweep/handler.mjs': 'export const handler = () => 3;' });
    expect(run(dir).status).toBe(0);
    expect(prefixOf()).not.toBe(first);
  });

  it('refuses a template that still needs the osls bucket elsewhere', () => {
    const other = { Type: 'AWS::SSM::Parameter', Properties: { Value: { Ref: 'ServerlessDeploymentBucket' } } };
    writeFileSync(join(dir, 'cloudformation-template-update-stack.json'), JSON.stringify(oslsTemplate({ Other: other })));
    const r = run(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/still refers to osls's deployment bucket: ServerlessDeploymentBucket/);
  });
});
