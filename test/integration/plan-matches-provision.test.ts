/**
 * `kserve-edge plan` predicts what `provision` then changes, on the testbed.
 *
 * Each round runs the CLI's `plan --json`, snapshots what the workflow may
 * write (ACM, the hosted zone, the four Kubernetes objects), runs the real
 * provision.asl.json, snapshots again, and compares what changed with what the
 * plan said:
 *
 * - certificates: the ones planned `reuse` are the ones the run used, and the
 *   new certificates in ACM are exactly the name sets planned `request`;
 * - Kubernetes objects: the objects whose labels, annotations, spec or data
 *   changed (read back from the apiserver) are exactly the ones planned
 *   `apply`/`patch`;
 * - DNS: per namespace, the record sets that changed are as many as the plan
 *   said, and none changed where it said `none`; besides them only the new
 *   certificates' validation CNAMEs changed.
 *
 * Round 1 starts from nothing (everything is created); round 2 adds a
 * namespace, so the plan mixes reuse/request, none/apply and none/create.
 * A last `plan` after provisioning reports no changes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { main } from '../../cli/main';
import type { PlanReport } from '../../shared/steps/planProvisioning';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { certificates, records, run, withEnv, type CertSnapshot, type RecordSnapshot } from './reliability';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';

/** The objects ConfigureCluster plans, as `Kind ns/name` → [apiVersion, kind, namespace, name]. */
const OBJECTS: Record<string, [string, string, string, string]> = {
  'ConfigMap knative-serving/config-domain': ['v1', 'ConfigMap', 'knative-serving', 'config-domain'],
  'AuthorizationPolicy istio-system/allow-predictor': [
    'security.istio.io/v1beta1',
    'AuthorizationPolicy',
    'istio-system',
    'allow-predictor',
  ],
  'AuthorizationPolicy istio-system/allow-transformer': [
    'security.istio.io/v1beta1',
    'AuthorizationPolicy',
    'istio-system',
    'allow-transformer',
  ],
  'Ingress istio-system/istio-ingress-api': ['networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api'],
};

interface World {
  certificates: CertSnapshot[];
  records: RecordSnapshot[];
  /** `Kind ns/name` → what we write of it (status, resourceVersion and managedFields left out: the LB controller writes status). */
  objects: Record<string, string | null>;
}

async function world(tb: Testbed): Promise<World> {
  const kube = tb.kubeAdmin();
  const objects: World['objects'] = {};
  for (const [key, [apiVersion, kind, namespace, name]] of Object.entries(OBJECTS)) {
    const o = await kube.get(apiVersion, kind, namespace, name);
    objects[key] = o
      ? JSON.stringify({
          labels: o.metadata.labels ?? {},
          annotations: o.metadata.annotations ?? {},
          spec: o.spec ?? null,
          data: o.data ?? null,
        })
      : null;
  }
  return { certificates: await certificates(tb.aws.acm), records: await records(tb.aws.route53, tb.hostedZoneId), objects };
}

const nameSet = (names: readonly string[]) => [...new Set(names)].sort().join(',');
const recordKey = (r: RecordSnapshot) => `${r.name} ${r.type}`;

/** Record sets that are new or differ in `after`, and those gone from it. */
function changedRecords(before: readonly RecordSnapshot[], after: readonly RecordSnapshot[]): string[] {
  const was = new Map(before.map((r) => [recordKey(r), JSON.stringify(r)]));
  const now = new Map(after.map((r) => [recordKey(r), JSON.stringify(r)]));
  return [...new Set([...was.keys(), ...now.keys()])].filter((k) => was.get(k) !== now.get(k)).sort();
}

/** The validation CNAME names ACM gave a certificate. */
async function validationNames(tb: Testbed, arn: string): Promise<string[]> {
  const d = await tb.aws.acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
  return (d.Certificate?.DomainValidationOptions ?? []).flatMap((o) =>
    o.ResourceRecord?.Name ? [o.ResourceRecord.Name.replace(/\.$/, '')] : [],
  );
}

describe('plan predicts provision', () => {
  let tb: Testbed;
  let dir: string;

  /** Runs `kserve-edge plan` in-process with the testbed's environment; its output as printed. */
  async function planText(request: unknown, json: boolean): Promise<{ code: number; out: string }> {
    const file = join(dir, `request-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(request));
    let out = '';
    let err = '';
    const args = ['plan', '--request', file, ...(json ? ['--json'] : [])];
    const code = await withEnv({ ...tb.env, LOG_LEVEL: 'silent' }, () =>
      main(args, { out: (t) => (out += t), err: (t) => (err += t), env: process.env }),
    );
    if (code !== 0 && out === '') throw new Error(`plan failed (${code}): ${err}`);
    // The plan reads the header tokens to plan the Ingress; they must never be printed.
    for (const token of tb.secrets.apiTokens) expect(out).not.toContain(token);
    return { code, out };
  }

  /** `kserve-edge plan --json`, parsed. */
  async function plan(request: unknown): Promise<{ code: number; report: PlanReport }> {
    const { code, out } = await planText(request, true);
    return { code, report: JSON.parse(out) as PlanReport };
  }

  function requestFor(namespaces: string[]) {
    return {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      namespaces,
      auth: { provider: 'cognito', headerValuesSecretId: tb.secrets.apiTokensSecretId },
      certificates: { mode: 'per-namespace' },
      canary: { expected: { outputName: 'predict', data: [1, 1] } },
    };
  }

  /** plan → provision, and the comparison of the module comment. */
  async function planThenProvision(namespaces: string[], name: string): Promise<PlanReport> {
    const request = requestFor(namespaces);
    const before = await world(tb);
    const { code, report } = await plan(request);
    expect(code).toBe(0);
    // The plan wrote nothing.
    expect(await world(tb)).toEqual(before);
    const result = await run(tb.env, request, name);
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(result.error)}`);
    const after = await world(tb);
    const output = result.output as {
      certificates: { items: Array<{ scope: string; arn: string; requested: boolean }> };
      cluster: { actions: Array<{ action: string; kind: string; namespace?: string; name: string }> };
    };

    // Certificates: reuse → the same ARN in the run's output; request → a new certificate with those names.
    const beforeArns = new Set(before.certificates.map((c) => c.arn));
    const created = after.certificates.filter((c) => !beforeArns.has(c.arn));
    expect(created.map((c) => nameSet([c.domainName, ...c.names])).sort()).toEqual(
      report.certificates
        .filter((c) => c.action === 'request')
        .map((c) => nameSet(c.names))
        .sort(),
    );
    expect(output.certificates.items.map((i) => [i.scope, i.requested ? 'request' : 'reuse'])).toEqual(
      report.certificates.map((c) => [c.scope, c.action]),
    );
    for (const c of report.certificates.filter((x) => x.action === 'reuse')) {
      expect(output.certificates.items.find((i) => i.scope === c.scope)?.arn).toBe(c.arn);
      expect(beforeArns.has(c.arn!)).toBe(true);
    }

    // Kubernetes: what changed on the apiserver is what the plan said it would apply or patch, and the step agreed.
    if (!Array.isArray(report.cluster)) throw new Error(`cluster plan refused: ${report.cluster.refused}`);
    const planned = report.cluster.filter((a) => a.action !== 'none').map((a) => `${a.kind} ${a.namespace}/${a.name}`);
    const changed = Object.keys(OBJECTS).filter((k) => before.objects[k] !== after.objects[k]);
    expect(changed.sort()).toEqual(planned.sort());
    expect(output.cluster.actions.map((a) => [a.action, a.kind, a.namespace, a.name])).toEqual(
      report.cluster.map((a) => [a.action, a.kind, a.namespace, a.name]),
    );

    // DNS: per namespace, as many record sets changed as the plan counted; the rest are the new certificates' validation CNAMEs.
    if (!Array.isArray(report.dns)) throw new Error(`DNS plan refused: ${report.dns.refused}`);
    const changedSets = changedRecords(before.records, after.records);
    const unexplained = new Set(changedSets);
    for (const ns of namespaces) {
      const entry = report.dns.find((d) => d.name === `*.${ns}.${DOMAIN}`);
      expect(entry).toBeDefined();
      const mine = changedSets.filter((k) => k.startsWith(`*.${ns}.${DOMAIN} `) || k.startsWith(`_kserve-edge.${ns}.${DOMAIN} `));
      expect([ns, entry!.action === 'none' ? 0 : entry!.changes]).toEqual([ns, mine.length]);
      mine.forEach((k) => unexplained.delete(k));
    }
    const newValidation = new Set((await Promise.all(created.map((c) => validationNames(tb, c.arn)))).flat().map((n) => `${n} CNAME`));
    expect([...unexplained].filter((k) => !newValidation.has(k))).toEqual([]);
    // The validation CNAMEs the plan listed (reused certificates) were already there and are still there.
    const zone = new Set(after.records.map(recordKey));
    for (const v of report.validationRecords) expect(zone.has(`${v.name.replace(/\.$/, '')} CNAME`)).toBe(true);
    // … so the plan said none of them is written (PublishValidationRecords writes only what the zone lacks).
    expect(report.validationRecords.filter((v) => v.action !== 'none')).toEqual([]);
    return report;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kserve-edge-plan-'));
    tb = await startTestbed({
      authProvider: 'cognito',
      domain: DOMAIN,
      namespaces: ['staging', 'prod'],
      clusterName: 'kubeflow',
      region: REGION,
    });
  }, 240_000);

  afterAll(async () => {
    await tb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('from nothing: the plan creates everything, and provision created exactly that', async () => {
    const report = await planThenProvision(['staging'], 'plan-e2e-1');
    expect(report.certificates.map((c) => [c.scope, c.action])).toEqual([
      ['base', 'request'],
      ['namespace:staging', 'request'],
    ]);
    expect(report.loadBalancer).toBeNull();
    expect(Array.isArray(report.cluster) && report.cluster.map((a) => a.action)).toEqual(['patch', 'apply', 'apply', 'apply']);
    expect(report.dns).toEqual([{ name: `*.staging.${DOMAIN}`, action: 'create', changes: 2 }]);
  }, 300_000);

  it('a namespace added: reuse and request, none and apply, none and create, each as planned', async () => {
    const report = await planThenProvision(['staging', 'prod'], 'plan-e2e-2');
    expect(report.certificates.map((c) => [c.scope, c.action])).toEqual([
      ['base', 'reuse'],
      ['namespace:staging', 'reuse'],
      ['namespace:prod', 'request'],
    ]);
    expect(report.loadBalancer).toMatch(/\.elb\.amazonaws\.com$/);
    expect(Array.isArray(report.cluster) && report.cluster.map((a) => a.action)).toEqual(['none', 'none', 'none', 'apply']);
    expect(report.dns).toEqual([
      { name: `*.staging.${DOMAIN}`, action: 'none', changes: 0 },
      { name: `*.prod.${DOMAIN}`, action: 'create', changes: 2 },
    ]);
  }, 300_000);

  it('after provisioning, a plan reports no changes', async () => {
    const { code, report } = await plan(requestFor(['staging', 'prod']));
    expect(code).toBe(0);
    expect(report.certificates.map((c) => c.action)).toEqual(['reuse', 'reuse', 'reuse']);
    expect(Array.isArray(report.cluster) && report.cluster.map((a) => a.action)).toEqual(['none', 'none', 'none', 'none']);
    expect(Array.isArray(report.dns) && report.dns.map((d) => [d.action, d.changes])).toEqual([
      ['none', 0],
      ['none', 0],
    ]);
    // The table says the same.
    const table = await planText(requestFor(['staging', 'prod']), false);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/Kubernetes objects\nACTION +KIND +NAMESPACE +NAME +REASON\n[- ]+\n(none +.*\n){4}/);
    expect(table.out).toContain(`Load balancer: ${report.loadBalancer}`);
    expect(table.out).toMatch(/Nothing was written\.\n$/);
  }, 120_000);
});
