/**
 * `npm run preflight` (scripts/preflight.ts) against moto's CloudWatch Logs:
 * an audit log group with the two subscription filters a
 * group allows (moto refuses a third with LimitExceededException, as AWS does),
 * and a group that does not exist. The preflight runs as a user runs it, in a
 * process of its own with the AWS endpoint pointed at moto.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMoto } from '../../testbed/aws';
import { ProcessSupervisor } from '../../testbed/lib/proc';
import { readToolPaths } from '../../testbed/testbed';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('preflight: how many subscription filters the audit log group has, and which auditEvents to choose', () => {
  let dir: string;
  let supervisor: ProcessSupervisor;
  let motoUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kserve-edge-preflight-'));
    supervisor = new ProcessSupervisor(dir, join(dir, 'registry.json'));
    motoUrl = (await startMoto(supervisor, readToolPaths().motoServer, dir, 0)).url;
  }, 90_000);
  afterAll(async () => {
    await supervisor?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  const preflight = (...args: string[]) =>
    spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/preflight.ts'), '--region', 'us-west-2', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        AWS_ENDPOINT_URL: motoUrl,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      timeout: 60_000,
    });

  it('two filters already (the limit, a third refused): forwarded through the Lambda subscriber, or off', () => {
    const seeded = JSON.parse(
      execFileSync(readToolPaths().python, [join(ROOT, 'test/fixtures/seed-log-subscriptions.py'), motoUrl, '/aws/eks/kubeflow/cluster'], {
        encoding: 'utf8',
      }),
    ) as { shipper: string; afterOne: number; third: string };
    expect(seeded.third).toBe('LimitExceededException');

    const r = preflight('--cluster', 'kubeflow', '--stage', 'prod', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const advice = JSON.parse(r.stdout) as { auditEvents: string; others: unknown[]; limit: number; reason: string };
    expect(advice).toMatchObject({ logGroup: '/aws/eks/kubeflow/cluster', limit: 2, auditEvents: 'forwarded' });
    expect(advice.others).toHaveLength(2);
    expect(advice.reason).toContain(seeded.shipper);

    const text = preflight('--cluster', 'kubeflow', '--stage', 'prod');
    expect(text.stdout).toMatch(/^--param "auditEvents=forwarded"/);
    expect(text.stderr).toContain('2 subscription filter(s), limit 2');
  }, 120_000);

  it('a group that does not exist: exit 1 naming it; no --cluster: usage error, exit 2', () => {
    const missing = preflight('--cluster', 'nope');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('/aws/eks/nope/cluster');
    const usage = preflight();
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('usage: npm run preflight');
  }, 120_000);
});
