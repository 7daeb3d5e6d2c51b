/**
 * `kserve-edge status` end to end (issue 13 item 7): provision two namespaces
 * with the real workflow, then run the CLI against the same AWS (moto behind
 * the IAM proxy), cluster (kube-apiserver), ALB (the real AWS Load Balancer
 * Controller, nginx) and Step Functions (a provisioning state machine in moto
 * with the run the namespace-event path would have started):
 *
 * - every row is green: certificate ISSUED with days left, on the listener,
 *   the record's target the ALB's DNS name, the canary answering, the last run found by name;
 * - a deleted record shows in its row (and the canary's), exit code 1;
 * - status writes nothing: Route 53, ACM and the Ingress are the same before and after.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { main } from '../../cli/main';
import { executionName } from '../../shared/plan/lifecycle';
import type { StatusReport } from '../../shared/plan/status';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { failureOf, withEnv } from './reliability';
import { awsFor, listCertificates, listRecords, provisionWith } from './workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NAMESPACES = ['team-a', 'team-b'];

describe('kserve-edge status: one row per namespace, read without writing', () => {
  let tb: Testbed;
  let requestFile: string;
  let albHostname: string;
  let stateMachineArn: string;
  let teamARun: string;
  const figures: Record<string, number> = {};

  /** Runs the CLI in-process with the testbed's environment; returns exit code, stdout, stderr. */
  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await withEnv({ ...tb.env, LOG_LEVEL: 'silent', KSERVE_EDGE_PROVISION_STATE_MACHINE_ARN: stateMachineArn }, () =>
      main(args, { out: (t) => (out += t), err: (t) => (err += t), env: process.env }),
    );
    return { code, out, err };
  }

  /** Everything status could write to: every record set, every certificate, the Ingress's version. */
  async function writable() {
    const { acm, route53 } = awsFor(tb.motoUrl, REGION);
    const ingress = await tb.kubeAdmin().get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api');
    return {
      records: await listRecords(route53, tb.hostedZoneId),
      certificates: await listCertificates(acm),
      ingressVersion: ingress?.metadata.resourceVersion,
    };
  }

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: NAMESPACES, clusterName: 'kubeflow', region: REGION });
    const request = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      namespaces: NAMESPACES,
      auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
    };
    requestFile = join(mkdtempSync(join(tmpdir(), 'kserve-edge-status-')), 'request.json');
    writeFileSync(requestFile, JSON.stringify(request));
    const result = await provisionWith(tb.env, request, 'status-provision');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    albHostname = (result.output as { loadBalancer: { hostname: string } }).loadBalancer.hostname;

    // The deployed provisioning state machine, and the run the namespace-event path starts for team-a (named by its uid).
    const sfn = new SFNClient({
      endpoint: tb.motoUrl,
      region: REGION,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    stateMachineArn = (
      await sfn.send(
        new CreateStateMachineCommand({
          name: 'kserve-edge-provision',
          roleArn: 'arn:aws:iam::123456789012:role/kserve-edge-provision',
          definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }),
        }),
      )
    ).stateMachineArn!;
    const uid = (await tb.kubeAdmin().get('v1', 'Namespace', undefined, 'team-a'))!.metadata.uid!;
    teamARun = executionName('ns', 'team-a', uid);
    await sfn.send(new StartExecutionCommand({ stateMachineArn, name: teamARun, input: JSON.stringify(request) }));
  }, 400_000);

  afterAll(async () => {
    console.log(`status figures: ${JSON.stringify(figures)}`);
    await tb?.stop();
  }, 60_000);

  it('every namespace green: certificate days > 0, on the listener, record target = ALB, canary ok, last run by name', async () => {
    const before = await writable();
    const t0 = Date.now();
    const { code, out, err } = await cli(['status', '--request', requestFile, '--json']);
    figures.statusMs = Date.now() - t0;
    const report = JSON.parse(out) as StatusReport;
    expect({ code, healthy: report.healthy, problems: report.namespaces.map((n) => n.problems) }).toEqual({
      code: 0,
      healthy: true,
      problems: [[], []],
    });
    expect(report.loadBalancer).toBe(albHostname);
    for (const row of report.namespaces) {
      expect(row.certificate?.status).toBe('ISSUED');
      expect(row.certificate?.daysToExpiry).toBeGreaterThan(0);
      expect(row.certificate?.onListener).toBe(true);
      expect(row.record).toEqual({ name: `*.${row.namespace}.${DOMAIN}`, type: 'CNAME', target: albHostname, targetIsAlb: true });
      expect(row.canary).toMatchObject({ ok: true, status: 200 });
      expect(row.runsKnown).toBe(true);
    }
    expect(report.namespaces[0]?.lastRun).toMatchObject({ name: teamARun });
    expect(report.namespaces[1]?.lastRun).toBeUndefined();
    // The table goes to stderr, one row per namespace.
    expect(err).toMatch(/NAMESPACE\s+HEALTH\s+CERTIFICATE/);
    expect(err.split('\n').filter((l) => /^team-[ab]\s+ok\s/.test(l))).toHaveLength(2);
    // Nothing written.
    expect(await writable()).toEqual(before);
  }, 120_000);

  it('a deleted record shows in its row; exit 1; still nothing written', async () => {
    const { route53 } = awsFor(tb.motoUrl, REGION);
    const record = (await listRecords(route53, tb.hostedZoneId)).find((r) => r.name === `*.team-b.${DOMAIN}` && r.type === 'CNAME')!;
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: tb.hostedZoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'DELETE',
              ResourceRecordSet: { Name: record.name, Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: record.values[0] }] },
            },
          ],
        },
      }),
    );
    const before = await writable();
    const json = await cli(['status', '--request', requestFile, '--json']);
    const report = JSON.parse(json.out) as StatusReport;
    expect(json.code).toBe(1);
    expect(report.namespaces.map((n) => [n.namespace, n.healthy])).toEqual([
      ['team-a', true],
      ['team-b', false],
    ]);
    const teamB = report.namespaces[1]!;
    expect(teamB.record).toBeUndefined();
    expect(teamB.problems).toContain('no DNS record');
    expect(teamB.canary?.ok).toBe(false);

    // Without --json: the verdict on stdout, the table (with the reason) on stderr; --no-canary skips the probes.
    const text = await cli(['status', '--request', requestFile, '--no-canary']);
    expect(text.code).toBe(1);
    expect(text.out).toBe(`unhealthy: team-b (1 of 2 namespace(s) of ${DOMAIN})\n`);
    expect(text.err).toMatch(/team-b\s+UNHEALTHY: no DNS record/);
    console.log(
      `status with a deleted record (the README's example):\n${json.err}${json.out.length} bytes of JSON\n${text.err}${text.out}`,
    );
    expect(await writable()).toEqual(before);
  }, 120_000);

  it('--template reads the deployed request template and every profile namespace, as the lifecycle functions do', async () => {
    const { namespaces: _all, ...template } = JSON.parse(readFileSync(requestFile, 'utf8')) as Record<string, unknown>;
    let out = '';
    const code = await withEnv({ ...tb.env, LOG_LEVEL: 'silent', KSERVE_EDGE_REQUEST_TEMPLATE: JSON.stringify(template) }, () =>
      main(['status', '--template', '--no-canary', '--json'], { out: (t) => (out += t), err: () => undefined, env: process.env }),
    );
    const report = JSON.parse(out) as StatusReport;
    expect(report.namespaces.map((n) => n.namespace)).toEqual(NAMESPACES);
    // team-b's record is still deleted (previous test); no state machine configured here: no run looked up.
    expect(code).toBe(1);
    expect(report.namespaces.map((n) => [n.namespace, n.healthy, n.runsKnown])).toEqual([
      ['team-a', true, false],
      ['team-b', false, false],
    ]);
  }, 60_000);

  it('usage errors exit 2', async () => {
    expect((await cli(['status'])).code).toBe(2);
    expect((await cli(['status', '--request', requestFile, '--template'])).code).toBe(2);
  }, 30_000);
});
