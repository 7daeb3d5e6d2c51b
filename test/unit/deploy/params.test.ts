/**
 * The deploy parameters resolved at package time: deploy/vpc.cjs (subnetIds,
 * securityGroupIds) and deploy/audit-events.cjs (auditEvents,
 * auditEventsInvoker), alone and through osls's own resolution of
 * serverless.yml (`osls print`, offline, no credentials). The compiled
 * templates are checked by scripts/check-template.mjs: the default package
 * (subscription, no VPC) and the one scripts/lint-template.sh builds (VPC, off).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

/** The parts of the resolved serverless.yml these tests read. */
interface Printed {
  provider: { environment: Record<string, string> };
  functions: Record<string, { vpc: unknown; events: unknown[] }>;
  resources: { Conditions: Record<string, unknown>; Resources: Record<string, { Properties: Record<string, unknown> }> };
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const require = createRequire(import.meta.url);
const vpc = require(join(ROOT, 'deploy/vpc.cjs')) as {
  placement: (s: string, g: string) => { inVpc: boolean; vpc: false | { subnetIds: string[]; securityGroupIds: string[] } };
};
const audit = require(join(ROOT, 'deploy/audit-events.cjs')) as { source: (m: string, i: string) => { mode: string; invoker: string } };

const SUBNETS = 'subnet-0123456789abcdef0,subnet-0123456789abcdef1';
const SG = 'sg-0123456789abcdef0';
const INVOKER = 'arn:aws:iam::123456789012:role/log-forwarder';

describe('deploy/vpc.cjs', () => {
  it('is no VPC without parameters, and every id given with both', () => {
    expect(vpc.placement('', '')).toEqual({ inVpc: false, vpc: false });
    expect(vpc.placement(SUBNETS, SG)).toEqual({
      inVpc: true,
      vpc: { subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'], securityGroupIds: [SG] },
    });
  });

  it('refuses one without the other, and ids that are not ids', () => {
    expect(() => vpc.placement(SUBNETS, '')).toThrow(/securityGroupIds is required with subnetIds/);
    expect(() => vpc.placement('', SG)).toThrow(/subnetIds is required with securityGroupIds/);
    expect(() => vpc.placement('vpc-0123456789abcdef0', SG)).toThrow(/subnetIds: "vpc-0123456789abcdef0" is not an id/);
    expect(() => vpc.placement(SUBNETS, 'sg-1,sg-2')).toThrow(/securityGroupIds/);
  });
});

describe('deploy/audit-events.cjs', () => {
  it('takes subscription (default), forwarded with an invoker role, off', () => {
    expect(audit.source('', '')).toEqual({ mode: 'subscription', invoker: '' });
    expect(audit.source('forwarded', INVOKER)).toEqual({ mode: 'forwarded', invoker: INVOKER });
    expect(audit.source('off', '')).toEqual({ mode: 'off', invoker: '' });
  });

  it('refuses an unknown mode, forwarded without a role ARN, and an invoker without forwarded', () => {
    expect(() => audit.source('eventbridge', '')).toThrow(/auditEvents: "eventbridge" is not one of subscription, forwarded, off/);
    expect(() => audit.source('forwarded', '')).toThrow(/auditEventsInvoker/);
    expect(() => audit.source('forwarded', 'arn:aws:lambda:us-west-2:123456789012:function:x')).toThrow(/auditEventsInvoker/);
    expect(() => audit.source('off', INVOKER)).toThrow(/only for auditEvents=forwarded/);
  });
});

describe('serverless.yml as osls resolves it', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'kserve-edge-print-'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  /** `osls print` with the given params (offline), parsed. */
  function print(params: Record<string, string>) {
    const args = ['print', '--stage', 'ci', '--region', 'us-west-2'];
    for (const [k, v] of Object.entries({ hostedZoneIds: 'Z0000000000EXAMPLEA', clusterName: 'kubeflow', ...params }))
      args.push('--param', `${k}=${v}`);
    const r = spawnSync(join(ROOT, 'node_modules/.bin/osls'), args, {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: home, SLS_TELEMETRY_DISABLED: '1', AWS_EC2_METADATA_DISABLED: 'true' },
      timeout: 60_000,
    });
    return {
      status: r.status,
      output: `${r.stdout}${r.stderr}`,
      config: r.status === 0 ? (yaml.load(r.stdout) as Printed) : undefined,
    };
  }

  it('subscription (default): the audit-log filter on namespaceEvents, no forwarder permission', () => {
    const { config } = print({});
    expect(config!.functions.namespaceEvents!.events).toEqual([
      {
        cloudwatchLog: expect.objectContaining({ logGroup: '/aws/eks/kubeflow/cluster', filter: expect.stringContaining('"namespaces"') }),
      },
    ]);
    expect(config!.resources.Conditions.AuditEventsForwarded).toEqual({ 'Fn::Equals': ['false', 'true'] });
  }, 60_000);

  it('forwarded: no filter, the forwarder role may invoke; off: no filter, no forwarder', () => {
    const forwarded = print({ auditEvents: 'forwarded', auditEventsInvoker: INVOKER }).config!;
    expect(forwarded.functions.namespaceEvents!.events).toEqual([]);
    expect(forwarded.resources.Conditions.AuditEventsForwarded).toEqual({ 'Fn::Equals': ['true', 'true'] });
    expect(forwarded.resources.Resources.NamespaceEventsForwarderPermission!.Properties.Principal).toBe(INVOKER);
    const off = print({ auditEvents: 'off' }).config!;
    expect(off.functions.namespaceEvents!.events).toEqual([]);
    expect(off.resources.Conditions.AuditEventsForwarded).toEqual({ 'Fn::Equals': ['false', 'true'] });
  }, 60_000);

  it('VPC parameters: vpc on every function and KSERVE_EDGE_IN_VPC=true; without: vpc false everywhere', () => {
    const inVpc = print({ subnetIds: SUBNETS, securityGroupIds: SG }).config!;
    const fns = Object.values(inVpc.functions) as Array<{ vpc: unknown }>;
    expect(fns.length).toBe(14);
    for (const fn of fns) expect(fn.vpc).toEqual({ subnetIds: SUBNETS.split(','), securityGroupIds: [SG] });
    expect(inVpc.provider.environment.KSERVE_EDGE_IN_VPC).toBe('true');
    const outside = print({}).config!;
    for (const fn of Object.values(outside.functions) as Array<{ vpc: unknown }>) expect(fn.vpc).toBe(false);
    expect(outside.provider.environment.KSERVE_EDGE_IN_VPC).toBe('false');
  }, 60_000);

  it('a bad parameter stops packaging with its name', () => {
    const r = print({ auditEvents: 'forwarded' });
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('auditEventsInvoker');
  }, 60_000);
});
