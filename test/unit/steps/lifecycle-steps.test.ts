/**
 * The lifecycle steps against stateful fakes: the sweep and the event path
 * start the runs the markers call for (once, by name), and deprovisioning
 * removes only what is ours. End state, not call sequences.
 */
import { silentLogger } from '../../../shared/log';
import { ownershipRecordName, ownershipRecordValue } from '../../../shared/ownership';
import { executionName } from '../../../shared/plan/lifecycle';
import { planDeprovision, type DeprovisionCurrent } from '../../../shared/plan/deprovision';
import { deprovisionNamespace, planDeprovisionNamespace } from '../../../shared/steps/deprovisionNamespace';
import {
  handleNamespaceEvents,
  reportUnparsedAuditMessages,
  sweepNamespaces,
  type LifecycleDeps,
} from '../../../shared/steps/reconcileNamespaces';
import { METRIC_AUDIT_EVENTS_UNPARSED, NAMESPACE_EVENTS_SERVICE, publishAuditEventsUnparsed } from '../../../shared/lifecycleMetrics';
import { decodeLogsEvent, parseAuditPayload } from '../../../shared/plan/namespaceEvents';
import { auditEvent, rawLogsEvent } from '../../fixtures/audit';
import { captureEmf } from '../../fixtures/emf';
import type { KubeObject } from '../../../shared/ports';
import { parseProvisionRequest } from '../../../shared/request';
import { FakeAcm, fakeValidationRecord } from '../../fakes/FakeAcm';
import { FakeExecutions } from '../../fakes/FakeExecutions';
import { FakeKube } from '../../fakes/FakeKube';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';

const DOMAIN = 'platform.example.com';
const ALB = 'k8s-istiosys-istioing-0123456789-1234567890.us-west-2.elb.amazonaws.com';
const TEMPLATE = {
  domain: DOMAIN,
  cluster: { name: 'kubeflow', region: 'us-west-2' },
  auth: { provider: 'cognito', headerValuesSecretId: 'kserve-edge/api-tokens' },
};
const OWNED = { 'kserve-edge:owner': 'kserve-edge', 'kserve-edge:domain': DOMAIN };

function namespace(name: string, labels: Record<string, string> = { 'app.kubernetes.io/part-of': 'kubeflow-profile' }): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, uid: `uid-${name}`, labels } };
}

function ingress(arns: string[]): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'istio-ingress-api',
      namespace: 'istio-system',
      labels: { 'app.kubernetes.io/managed-by': 'kserve-edge', 'kserve-edge.io/owner': 'kserve-edge' },
      annotations: { 'alb.ingress.kubernetes.io/certificate-arn': arns.join(',') },
    },
    spec: {},
  };
}

/** A cluster, a zone and ACM with `provisioned` namespaces fully set up the way a run leaves them. */
function world(provisioned: string[], extraNamespaces: KubeObject[] = []) {
  const r53 = new InMemoryRoute53();
  const zone = r53.addZone(DOMAIN);
  const acm = new FakeAcm();
  const base = acm.seed({ names: [`*.${DOMAIN}`], tags: { ...OWNED, 'kserve-edge:scope': 'base' }, status: 'ISSUED' });
  const certs: Record<string, string> = {};
  for (const ns of provisioned) {
    certs[ns] = acm.seed({ names: [`*.${ns}.${DOMAIN}`], tags: { ...OWNED, 'kserve-edge:scope': `namespace:${ns}` }, status: 'ISSUED' });
    r53.seedRecord(zone.id, { name: `*.${ns}.${DOMAIN}`, type: 'CNAME', ttl: 300, values: [ALB] });
    r53.seedRecord(zone.id, {
      name: ownershipRecordName(ns, DOMAIN),
      type: 'TXT',
      ttl: 300,
      values: [ownershipRecordValue('kserve-edge', `*.${ns}.${DOMAIN}`)],
    });
    const v = fakeValidationRecord(`*.${ns}.${DOMAIN}`);
    r53.seedRecord(zone.id, { name: v.name, type: 'CNAME', ttl: 300, values: [v.value] });
  }
  const kube = new FakeKube();
  for (const ns of [...provisioned.map((n) => namespace(n)), ...extraNamespaces]) kube.seed(ns);
  kube.seed(ingress([base, ...provisioned.map((n) => certs[n]!)]), 'kserve-edge');
  const provisionRuns = new FakeExecutions();
  const deprovisionRuns = new FakeExecutions();
  const deps: LifecycleDeps = {
    kube,
    route53: r53,
    acm,
    provisionRuns,
    deprovisionRuns,
    log: silentLogger,
    now: () => new Date('2026-01-01T00:00:00Z'),
    retryPeriodMinutes: 60,
  };
  return { r53, zone, acm, kube, base, certs, provisionRuns, deprovisionRuns, deps };
}

describe('sweepNamespaces', () => {
  it('flat hostnames: a new profile namespace is in sync at once (one *.<domain> certificate and record serve it); without them, a run', async () => {
    // Prepare: a flat deployment (the base certificate on the listener, the *.<domain> record and its TXT) and a new namespace.
    const r53 = new InMemoryRoute53();
    const zone = r53.addZone(DOMAIN);
    const acm = new FakeAcm();
    const base = acm.seed({ names: [`*.${DOMAIN}`], tags: { ...OWNED, 'kserve-edge:scope': 'base' }, status: 'ISSUED' });
    const kube = new FakeKube();
    for (const ns of ['team-a', 'team-new']) kube.seed(namespace(ns));
    kube.seed(ingress([base]), 'kserve-edge');
    const deps: LifecycleDeps = {
      kube,
      route53: r53,
      acm,
      provisionRuns: new FakeExecutions(),
      deprovisionRuns: new FakeExecutions(),
      log: silentLogger,
      now: () => new Date('2026-01-01T00:00:00Z'),
      retryPeriodMinutes: 60,
    };
    const template = { ...TEMPLATE, hostnames: 'flat' };
    // Act: before the wildcard record exists, every namespace needs a run.
    const before = await sweepNamespaces({ template }, deps);
    r53.seedRecord(zone.id, { name: `*.${DOMAIN}`, type: 'CNAME', ttl: 300, values: [ALB] });
    r53.seedRecord(zone.id, {
      name: `_kserve-edge.${DOMAIN}`,
      type: 'TXT',
      ttl: 300,
      values: [ownershipRecordValue('kserve-edge', `*.${DOMAIN}`)],
    });
    const after = await sweepNamespaces({ template }, deps);
    // Assess
    expect(before.runs.map((r) => [r.namespace, r.reason])).toEqual([
      ['team-a', 'no ownership record'],
      ['team-new', 'no ownership record'],
    ]);
    expect(after.inSync).toEqual(['team-a', 'team-new']);
    expect(after.runs).toEqual([]);
  });

  it('starts one run for a new profile namespace, carrying every profile namespace, and none on the next sweep', async () => {
    // Prepare
    const w = world(['team-a'], [namespace('team-b'), namespace('kube-system', {})]);
    // Act
    const first = await sweepNamespaces({ template: TEMPLATE }, w.deps);
    const second = await sweepNamespaces({ template: TEMPLATE }, w.deps);
    // Assess
    expect(first.inSync).toEqual(['team-a']);
    expect(first.runs).toEqual([
      expect.objectContaining({
        kind: 'provision',
        namespace: 'team-b',
        outcome: 'started',
        executionName: executionName('ns', 'team-b', 'uid-team-b'),
      }),
    ]);
    expect(w.provisionRuns.runs.get(first.runs[0]!.executionName)?.input).toMatchObject({
      namespaces: ['team-a', 'team-b'],
      domain: DOMAIN,
    });
    expect(second.runs.map((r) => r.outcome)).toEqual(['running']);
    expect(w.provisionRuns.started).toHaveLength(1);
  });

  it('starts a run for a provisioned namespace whose certificate an earlier run took off the listener (issue 10, defect 2)', async () => {
    const w = world(['team-a', 'team-b']);
    // The listener as a run for [team-a] alone used to leave it: team-b's DNS and TXT are there, its certificate is not.
    w.kube.seed(ingress([w.base, w.certs['team-a']!]), 'kserve-edge');
    const out = await sweepNamespaces({ template: TEMPLATE }, w.deps);
    expect(out.inSync).toEqual(['team-a']);
    expect(out.runs).toEqual([
      expect.objectContaining({ kind: 'provision', namespace: 'team-b', outcome: 'started', reason: 'no certificate on the listener' }),
    ]);
  });

  it('retries a failed run once per retry period', async () => {
    const w = world([], [namespace('team-b')]);
    const first = await sweepNamespaces({ template: TEMPLATE }, w.deps);
    w.provisionRuns.setStatus(first.runs[0]!.executionName, 'FAILED');
    const retried = await sweepNamespaces({ template: TEMPLATE }, w.deps);
    const again = await sweepNamespaces({ template: TEMPLATE }, w.deps);
    expect(retried.runs.map((r) => r.outcome)).toEqual(['retried']);
    expect(again.runs.map((r) => r.outcome)).toEqual(['retry-pending']);
    expect(w.provisionRuns.started).toHaveLength(2);
  });

  it('starts deprovisioning for a namespace that is gone but still holds our certificate', async () => {
    const w = world(['team-a', 'gone']);
    await w.kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'gone' });
    const out = await sweepNamespaces({ template: TEMPLATE }, w.deps);
    expect(out.runs).toEqual([expect.objectContaining({ kind: 'deprovision', namespace: 'gone', outcome: 'started' })]);
    expect(w.deprovisionRuns.runs.get(out.runs[0]!.executionName)?.input).toMatchObject({
      namespace: 'gone',
      request: { namespaces: ['gone'] },
    });
  });
});

describe('sweepNamespaces, certificates.mode "bundled": released-but-still-bundled names', () => {
  const BUNDLED = { ...TEMPLATE, certificates: { mode: 'bundled', namesPerCertificate: 3 } };
  /** team-a and team-b provisioned in one bundle with gone-one, whose namespace and records are gone (deprovisioned). */
  function bundledWorld() {
    const w = world([]);
    const bundle = w.acm.seed({
      names: ['team-a', 'team-b', 'gone-one'].map((n) => `*.${n}.${DOMAIN}`),
      tags: { ...OWNED, 'kserve-edge:scope': 'bundle' },
      status: 'ISSUED',
    });
    for (const ns of ['team-a', 'team-b']) {
      w.kube.seed(namespace(ns));
      w.r53.seedRecord(w.zone.id, {
        name: ownershipRecordName(ns, DOMAIN),
        type: 'TXT',
        ttl: 300,
        values: [ownershipRecordValue('kserve-edge', `*.${ns}.${DOMAIN}`)],
      });
    }
    w.kube.seed(ingress([w.base, bundle]), 'kserve-edge');
    return w;
  }

  it('starts one rebundle run for the desired set with certificates.release, once', async () => {
    const w = bundledWorld();
    const out = await sweepNamespaces({ template: BUNDLED }, w.deps);
    expect(out.inSync).toEqual(['team-a', 'team-b']);
    expect(out.runs).toEqual([
      expect.objectContaining({
        kind: 'rebundle',
        namespace: 'gone-one',
        outcome: 'started',
        executionName: expect.stringMatching(/^rebundle-/),
      }),
    ]);
    expect(w.provisionRuns.runs.get(out.runs[0]!.executionName)?.input).toMatchObject({
      namespaces: ['team-a', 'team-b'],
      certificates: { mode: 'bundled', namesPerCertificate: 3, release: ['gone-one'] },
    });
    // While it runs, the next sweep starts nothing new.
    const again = await sweepNamespaces({ template: BUNDLED }, w.deps);
    expect(again.runs.map((r) => [r.kind, r.outcome])).toEqual([['rebundle', 'running']]);
    expect(w.provisionRuns.started).toHaveLength(1);
  });

  it('deprovisions first while the gone namespace still has its ownership TXT; nothing for the per-namespace template', async () => {
    const w = bundledWorld();
    w.r53.seedRecord(w.zone.id, {
      name: ownershipRecordName('gone-one', DOMAIN),
      type: 'TXT',
      ttl: 300,
      values: [ownershipRecordValue('kserve-edge', `*.gone-one.${DOMAIN}`)],
    });
    const out = await sweepNamespaces({ template: BUNDLED }, w.deps);
    expect(out.runs.map((r) => [r.kind, r.namespace])).toEqual([['deprovision', 'gone-one']]);

    const perNamespace = bundledWorld();
    const other = await sweepNamespaces({ template: TEMPLATE }, perNamespace.deps);
    expect(other.runs.map((r) => r.kind)).not.toContain('rebundle');
  });
});

describe('handleNamespaceEvents', () => {
  it('starts the run for a created profile namespace under the same name the sweep would use', async () => {
    const w = world(['team-a'], [namespace('team-b')]);
    const out = await handleNamespaceEvents(
      { template: TEMPLATE, events: [{ action: 'created', namespace: 'team-b', resource: 'namespaces', auditId: 'a1' }] },
      w.deps,
    );
    expect(out.runs.map((r) => [r.namespace, r.outcome])).toEqual([['team-b', 'started']]);
    // The sweep right after sees the same name taken: no second run.
    const sweep = await sweepNamespaces({ template: TEMPLATE }, w.deps);
    expect(sweep.runs.map((r) => r.outcome)).toEqual(['running']);
    expect(w.provisionRuns.started).toHaveLength(1);
  });

  it('flat hostnames: a created profile namespace in sync gets one run for its first canary; nested, an in-sync one gets none', async () => {
    // Prepare: a flat deployment (base certificate on the listener, *.<domain> record and TXT) and a new profile namespace.
    const w = world([], [namespace('team-a'), namespace('team-c')]);
    w.r53.seedRecord(w.zone.id, { name: `*.${DOMAIN}`, type: 'CNAME', ttl: 300, values: [ALB] });
    w.r53.seedRecord(w.zone.id, {
      name: `_kserve-edge.${DOMAIN}`,
      type: 'TXT',
      ttl: 300,
      values: [ownershipRecordValue('kserve-edge', `*.${DOMAIN}`)],
    });
    const flat = { ...TEMPLATE, hostnames: 'flat' };
    const created = [{ action: 'created' as const, namespace: 'team-c', resource: 'namespaces' as const, auditId: 'c1' }];
    // Act
    const first = await handleNamespaceEvents({ template: flat, events: created }, w.deps);
    const again = await handleNamespaceEvents({ template: flat, events: created }, w.deps);
    const sweep = await sweepNamespaces({ template: flat }, w.deps);
    // Assess: one run, under the namespace incarnation's name, carrying every profile namespace; the sweep starts none.
    expect(first.inSync).toEqual(['team-a', 'team-c']);
    expect(first.runs).toEqual([
      expect.objectContaining({
        kind: 'provision',
        namespace: 'team-c',
        outcome: 'started',
        executionName: executionName('ns', 'team-c', 'uid-team-c'),
        reason: expect.stringContaining('first canary'),
      }),
    ]);
    expect(w.provisionRuns.runs.get(first.runs[0]!.executionName)?.input).toMatchObject({
      namespaces: ['team-a', 'team-c'],
      hostnames: 'flat',
    });
    expect(again.runs.map((r) => r.outcome)).toEqual(['running']);
    expect(sweep.runs).toEqual([]);
    expect(w.provisionRuns.started).toHaveLength(1);

    // Nested: a created namespace that is already provisioned needs no run.
    const n = world(['team-a']);
    const nested = await handleNamespaceEvents(
      { template: TEMPLATE, events: [{ action: 'created', namespace: 'team-a', resource: 'namespaces', auditId: 'a1' }] },
      n.deps,
    );
    expect(nested.runs).toEqual([]);
    expect(nested.ignored).toEqual([{ namespace: 'team-a', reason: 'already provisioned' }]);
  });

  it('a duplicate event is refused by name, and an event for a non-profile namespace is left to the sweep', async () => {
    const w = world([], [namespace('team-b'), namespace('plain', {})]);
    const events = [
      { action: 'created' as const, namespace: 'team-b', resource: 'namespaces' as const, auditId: 'a1' },
      { action: 'created' as const, namespace: 'plain', resource: 'namespaces' as const, auditId: 'a2' },
    ];
    await handleNamespaceEvents({ template: TEMPLATE, events }, w.deps);
    w.provisionRuns.setStatus([...w.provisionRuns.runs.keys()][0]!, 'SUCCEEDED');
    const dup = await handleNamespaceEvents({ template: TEMPLATE, events }, w.deps);
    expect(dup.runs.map((r) => [r.namespace, r.outcome])).toEqual([['team-b', 'duplicate']]);
    expect(dup.ignored).toEqual([{ namespace: 'plain', reason: 'not an active profile namespace (yet); the sweep checks again' }]);
    expect(w.provisionRuns.started).toHaveLength(1);
  });

  it('starts deprovisioning for a deleted namespace with our records, and nothing for one that never was ours', async () => {
    const w = world(['team-a', 'team-b']);
    await w.kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: 'team-b' });
    const out = await handleNamespaceEvents(
      {
        template: TEMPLATE,
        events: [
          { action: 'deleted', namespace: 'team-b', resource: 'namespaces', auditId: 'd1' },
          { action: 'deleted', namespace: 'other', resource: 'namespaces', auditId: 'd2' },
        ],
      },
      w.deps,
    );
    expect(out.runs.map((r) => [r.kind, r.namespace, r.outcome])).toEqual([['deprovision', 'team-b', 'started']]);
    expect(out.ignored).toEqual([{ namespace: 'other', reason: 'nothing of ours to remove' }]);
  });
});

describe('deprovisionNamespace', () => {
  const request = parseProvisionRequest({ ...TEMPLATE, namespaces: ['team-b'] });

  it('removes the records, the Ingress entry and the certificate, keeps a foreign record and another namespace', async () => {
    // Prepare
    const w = world(['team-a', 'team-b']);
    w.r53.seedRecord(w.zone.id, { name: `foreign.team-b.${DOMAIN}`, type: 'A', ttl: 60, values: ['192.0.2.1'] });
    // Act
    const out = await deprovisionNamespace({ request, namespace: 'team-b' }, { ...w.deps });
    // Assess
    expect(out.done).toBe(true);
    expect(out.deletedCertificates).toEqual([w.certs['team-b']]);
    expect(w.acm.has(w.certs['team-b']!)).toBe(false);
    expect(w.acm.has(w.certs['team-a']!)).toBe(true);
    const names = w.r53.allRecords(w.zone.id).map((r) => `${r.type} ${r.name}`);
    expect(names).not.toContain(`CNAME *.team-b.${DOMAIN}`);
    expect(names).not.toContain(`TXT _kserve-edge.team-b.${DOMAIN}`);
    expect(names).not.toContain(`CNAME ${fakeValidationRecord(`*.team-b.${DOMAIN}`).name}`);
    expect(names).toContain(`A foreign.team-b.${DOMAIN}`);
    expect(names).toContain(`CNAME *.team-a.${DOMAIN}`);
    const ing = w.kube.peek({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'istio-system', name: 'istio-ingress-api' });
    expect(ing?.metadata.annotations?.['alb.ingress.kubernetes.io/certificate-arn']).toBe(`${w.base},${w.certs['team-a']}`);
    // A second run finds nothing left to do.
    const again = await deprovisionNamespace({ request, namespace: 'team-b' }, w.deps);
    expect(again).toMatchObject({ done: true, deletedRecords: [], deletedCertificates: [], removedFromIngress: [] });
  });

  it('waits while the load balancer still uses the certificate, then deletes it', async () => {
    const w = world(['team-b']);
    w.acm.setInUseBy(w.certs['team-b']!, ['arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/x/y']);
    const first = await deprovisionNamespace({ request, namespace: 'team-b' }, w.deps);
    expect(first).toMatchObject({ done: false, deletedCertificates: [], removedFromIngress: [w.certs['team-b']] });
    expect(first.waitSeconds).toBeGreaterThan(0);
    // The validation CNAME stays while the certificate exists.
    expect(w.r53.allRecords(w.zone.id).map((r) => r.name)).toContain(fakeValidationRecord(`*.team-b.${DOMAIN}`).name);
    w.acm.setInUseBy(w.certs['team-b']!, []);
    const second = await deprovisionNamespace({ request, namespace: 'team-b', startedAt: first.startedAt }, w.deps);
    expect(second).toMatchObject({ done: true, deletedCertificates: [w.certs['team-b']] });
    expect(w.r53.allRecords(w.zone.id).map((r) => r.name)).not.toContain(fakeValidationRecord(`*.team-b.${DOMAIN}`).name);
  });

  it('planning alone writes nothing, and the step then removes what the plan named', async () => {
    const w = world(['team-a', 'team-b']);
    const records = () => w.r53.allRecords(w.zone.id).map((r) => `${r.type} ${r.name}`);
    const before = records();
    const { plan } = await planDeprovisionNamespace({ request, namespace: 'team-b' }, w.deps);
    expect(records()).toEqual(before);
    expect(w.acm.has(w.certs['team-b']!)).toBe(true);
    expect(plan.deleteCertificates).toEqual([w.certs['team-b']]);
    const out = await deprovisionNamespace({ request, namespace: 'team-b' }, w.deps);
    expect(out.deletedRecords).toEqual(plan.recordChanges.map((c) => ({ name: c.record.name, type: c.record.type })));
    expect(out.removedFromIngress).toEqual(plan.ingressPatch?.removedArns ?? []);
    expect(out.deletedCertificates).toEqual(plan.deleteCertificates);
  });

  it('leaves records it does not own', async () => {
    const w = world([]);
    w.r53.seedRecord(w.zone.id, { name: `*.team-b.${DOMAIN}`, type: 'CNAME', ttl: 300, values: ['elsewhere.example.net'] });
    const out = await deprovisionNamespace({ request, namespace: 'team-b' }, w.deps);
    expect(out.deletedRecords).toEqual([]);
    expect(out.kept).toEqual([{ what: `CNAME *.team-b.${DOMAIN}`, reason: 'it has no ownership record of ours' }]);
    expect(w.r53.getRecord(w.zone.id, `*.team-b.${DOMAIN}`, 'CNAME')).toBeDefined();
  });
});

describe('planDeprovision', () => {
  const base = (over: Partial<DeprovisionCurrent> = {}): DeprovisionCurrent => ({
    namespace: 'team-b',
    domain: DOMAIN,
    ownerId: 'kserve-edge',
    target: [],
    ownership: [],
    certificates: [],
    allCertificates: [],
    validationRecords: [],
    ...over,
  });
  const cert = (arn: string, names: string[], scope: string) => ({
    arn,
    domainName: names[0]!,
    names,
    status: 'ISSUED' as const,
    validationRecords: names.map(fakeValidationRecord),
    namesWithoutRecord: [],
    inUseBy: [],
    tags: { ...OWNED, 'kserve-edge:scope': scope },
  });

  it('keeps a validation CNAME another certificate (ours or not) still needs', () => {
    const mine = cert('arn:aws:acm:us-west-2:123456789012:certificate/mine', [`*.team-b.${DOMAIN}`], 'namespace:team-b');
    const v = fakeValidationRecord(`*.team-b.${DOMAIN}`);
    const plan = planDeprovision(
      base({
        certificates: [mine],
        allCertificates: [{ arn: 'arn:aws:acm:us-west-2:123456789012:certificate/theirs', names: [`team-b.${DOMAIN}`] }],
        validationRecords: [{ name: v.name, type: 'CNAME', ttl: 300, values: [v.value] }],
      }),
    );
    expect(plan.deleteCertificates).toEqual([mine.arn]);
    expect(plan.recordChanges).toEqual([]);
    expect(plan.kept).toEqual([{ what: `validation CNAME ${v.name}`, reason: 'another certificate still validates through it' }]);
  });

  it('does not delete a TXT record that also holds values that are not ours', () => {
    const plan = planDeprovision(
      base({
        target: [{ name: `*.team-b.${DOMAIN}`, type: 'CNAME', ttl: 300, values: [ALB] }],
        ownership: [
          {
            name: ownershipRecordName('team-b', DOMAIN),
            type: 'TXT',
            ttl: 300,
            values: [ownershipRecordValue('kserve-edge', `*.team-b.${DOMAIN}`), '"other"'],
          },
        ],
      }),
    );
    expect(plan.recordChanges.map((c) => `${c.action} ${c.record.type}`)).toEqual(['DELETE CNAME']);
    expect(plan.kept[0]?.reason).toBe('holds values that are not ours');
  });
});

describe('audit-log messages that cannot be parsed (issue 13)', () => {
  /** A logger that keeps what is written, to read back the warnings. */
  function recordingLogger() {
    const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
    const at =
      (level: string) =>
      (message: string, fields?: Record<string, unknown>): void => {
        lines.push({ level, message, fields });
      };
    const log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
    return { log, lines };
  }

  it('acts on the good message and counts and logs the malformed one with its log event id', async () => {
    // Prepare: one profile namespace created, and a truncated line next to it.
    const w = world([], [namespace('team-b')]);
    const event = rawLogsEvent([
      { id: '38131', message: JSON.stringify(auditEvent('create', 'namespaces', 'team-b')) },
      { id: '38132', message: '{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"cre' },
    ]);
    const { log, lines } = recordingLogger();
    const counted: number[] = [];
    // Act: what the handler does, in its order.
    const { events, unparsed } = parseAuditPayload(decodeLogsEvent(event));
    const n = reportUnparsedAuditMessages(unparsed, { log, count: (c) => counted.push(c) });
    const out = await handleNamespaceEvents({ template: TEMPLATE, events }, w.deps);
    // Assess
    expect(n).toBe(1);
    expect(counted).toEqual([1]);
    expect(unparsed).toEqual([{ id: '38132', reason: expect.stringMatching(/^not JSON/) }]);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([
      { level: 'warn', message: 'audit-log message could not be parsed', fields: { logEventId: '38132', reason: unparsed[0]!.reason } },
    ]);
    expect(out.runs.map((r) => [r.namespace, r.outcome])).toEqual([['team-b', 'started']]);
    expect(w.provisionRuns.started).toHaveLength(1);
  });

  it('counts JSON that is not an object, and counts nothing for a clean payload', () => {
    const { unparsed } = parseAuditPayload(
      decodeLogsEvent(
        rawLogsEvent([
          { id: 'a', message: '"a string"' },
          { id: 'b', message: JSON.stringify(auditEvent('delete', 'namespaces', 'x')) },
        ]),
      ),
    );
    expect(unparsed).toEqual([{ id: 'a', reason: 'JSON but not an object' }]);
    const counted: number[] = [];
    const clean = parseAuditPayload(
      decodeLogsEvent(rawLogsEvent([{ id: 'c', message: JSON.stringify(auditEvent('create', 'profiles', 'y')) }])),
    );
    expect(reportUnparsedAuditMessages(clean.unparsed, { log: silentLogger, count: (c) => counted.push(c) })).toBe(0);
    expect(counted).toEqual([]);
  });

  it('publishes the count as the AuditEventsUnparsed EMF metric the alarm watches', async () => {
    const { docs } = await captureEmf(() => publishAuditEventsUnparsed(2));
    expect(docs).toHaveLength(1);
    expect(docs[0]!._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'kserve-edge',
      Dimensions: [['service']],
      Metrics: [{ Name: METRIC_AUDIT_EVENTS_UNPARSED, Unit: 'Count' }],
    });
    expect(docs[0]).toMatchObject({ service: NAMESPACE_EVENTS_SERVICE, [METRIC_AUDIT_EVENTS_UNPARSED]: 2 });
  });
});
