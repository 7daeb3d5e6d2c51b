/**
 * The pure side of the namespace lifecycle: execution names, the sweep plan,
 * the request for a namespace set, and audit events from a Logs subscription.
 */
import {
  executionName,
  MAX_EXECUTION_NAME,
  namespaceInfo,
  parseRequestTemplate,
  planSweep,
  rebundleExecutionName,
  requestForNamespaces,
  retryPeriod,
  type NamespaceInfo,
  type ProvisionedState,
} from '../../../shared/plan/lifecycle';
import { auditEvent, logsEvent } from '../../fixtures/audit';
import {
  AUDIT_FILTER_PATTERN,
  decodeLogsEvent,
  namespaceEventFromAudit,
  namespaceEventsFromAudit,
} from '../../../shared/plan/namespaceEvents';

const TEMPLATE = {
  domain: 'platform.example.com',
  cluster: { name: 'kubeflow', region: 'us-west-2' },
  auth: { provider: 'cognito', headerValuesSecretId: 'kserve-edge/api-tokens' },
};

const ns = (name: string, extra: Partial<NamespaceInfo> = {}): NamespaceInfo => ({
  name,
  uid: `uid-${name}`,
  profile: true,
  terminating: false,
  ...extra,
});
const done: ProvisionedState = { ownershipRecord: true, certificateIssued: true, certificateOnListener: true };

describe('executionName', () => {
  it('is deterministic, names the namespace, and stays within 80 characters', () => {
    const a = executionName('ns', 'team-a', 'uid-1');
    expect(a).toBe(executionName('ns', 'team-a', 'uid-1'));
    expect(a).toMatch(/^ns-team-a-[0-9a-f]{10}$/);
    expect(executionName('ns', 'team-a', 'uid-2')).not.toBe(a);
    const long = 'n'.repeat(63);
    for (const name of [executionName('ns', long, 'u'), executionName('del', long, 'u', retryPeriod(new Date(), 360))]) {
      expect(name.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME);
      expect(name).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it('gives one retry name per period', () => {
    const t = new Date('2026-01-01T00:10:00Z');
    expect(retryPeriod(t, 60)).toBe(retryPeriod(new Date('2026-01-01T00:50:00Z'), 60));
    expect(retryPeriod(t, 60)).not.toBe(retryPeriod(new Date('2026-01-01T01:10:00Z'), 60));
  });
});

describe('planSweep', () => {
  it('provisions active profile namespaces without markers, leaves provisioned ones alone', () => {
    // Prepare
    const provisioned = new Map([
      ['team-a', done],
      ['team-b', { ownershipRecord: true, certificateIssued: false, certificateOnListener: false }],
    ]);
    // Act
    const plan = planSweep({
      namespaces: [ns('team-a'), ns('team-b'), ns('team-c'), ns('kube-system', { profile: false })],
      staticNamespaces: [],
      provisioned,
      withCertificates: ['team-a', 'team-b'],
    });
    // Assess
    expect(plan.desired).toEqual(['team-a', 'team-b', 'team-c']);
    expect(plan.inSync).toEqual(['team-a']);
    expect(plan.provision.map((p) => [p.namespace, p.executionName, p.reason])).toEqual([
      ['team-b', executionName('ns', 'team-b', 'uid-team-b'), 'no issued certificate'],
      ['team-c', executionName('ns', 'team-c', 'uid-team-c'), 'no ownership record and no issued certificate'],
    ]);
    expect(plan.deprovision).toEqual([]);
  });

  it('counts a namespace whose issued certificate is not on the listener as not provisioned (issue 10, defect 2)', () => {
    const plan = planSweep({
      namespaces: [ns('team-a'), ns('team-b')],
      staticNamespaces: [],
      provisioned: new Map([
        ['team-a', done],
        ['team-b', { ownershipRecord: true, certificateIssued: true, certificateOnListener: false }],
      ]),
      withCertificates: ['team-a', 'team-b'],
    });
    expect(plan.inSync).toEqual(['team-a']);
    expect(plan.provision.map((p) => [p.namespace, p.reason])).toEqual([['team-b', 'no certificate on the listener']]);
  });

  it('deprovisions gone or terminating namespaces that still have our markers, never static or active ones', () => {
    const plan = planSweep({
      namespaces: [
        ns('team-a'),
        ns('leaving', { terminating: true }),
        ns('unlabelled', { profile: false }),
        ns('staging', { profile: false }),
      ],
      staticNamespaces: ['staging'],
      provisioned: new Map([
        ['team-a', done],
        ['leaving', done],
        ['unlabelled', done],
        ['staging', done],
      ]),
      withCertificates: ['gone', 'leaving', 'staging'],
    });
    expect(plan.desired).toEqual(['staging', 'team-a']);
    expect(plan.deprovision.map((d) => [d.namespace, d.reason])).toEqual([
      ['gone', 'namespace no longer exists'],
      ['leaving', 'namespace is terminating'],
    ]);
    expect(plan.deprovision[1]!.executionName).toBe(executionName('del', 'leaving', 'uid-leaving'));
  });

  it('treats a terminating profile namespace as gone, not as desired', () => {
    const plan = planSweep({
      namespaces: [ns('x', { terminating: true })],
      staticNamespaces: [],
      provisioned: new Map(),
      withCertificates: [],
    });
    expect(plan.desired).toEqual([]);
    expect(plan.provision).toEqual([]);
  });
});

describe('planSweep: released-but-still-bundled names (certificates.mode "bundled")', () => {
  const gone: ProvisionedState = { ownershipRecord: false, certificateIssued: true, certificateOnListener: true };
  const input = (over: Partial<Parameters<typeof planSweep>[0]> = {}) => ({
    namespaces: [ns('team-a'), ns('team-b')],
    staticNamespaces: [],
    provisioned: new Map([
      ['team-a', done],
      ['team-b', done],
      ['team-c', gone],
      ['team-d', gone],
    ]),
    withCertificates: [],
    certificateMode: 'bundled' as const,
    bundles: [
      { arn: 'arn-abc', namespaces: ['team-a', 'team-b', 'team-c'] },
      { arn: 'arn-d', namespaces: ['team-d'] },
    ],
    ...over,
  });

  it('plans one rebundle run for every deprovisioned name, with a deterministic name', () => {
    const plan = planSweep(input());
    expect(plan.rebundle).toEqual({
      release: ['team-c', 'team-d'],
      executionName: rebundleExecutionName(['team-c', 'team-d'], ['arn-abc', 'arn-d']),
      reason: 'deprovisioned, still named by 2 bundle certificates',
    });
    expect(plan.rebundle!.executionName).toMatch(/^rebundle-[0-9a-f]{10}$/);
    // The same state plans the same name (a second sweep does not start a second run); order does not matter.
    expect(planSweep(input({ bundles: [...input().bundles].reverse() })).rebundle!.executionName).toBe(plan.rebundle!.executionName);
    expect(plan.deprovision).toEqual([]);
    expect(plan.provision).toEqual([]);
  });

  it('none for a name whose ownership TXT is still ours (deprovisioning first), which still exists, or is terminating with its TXT', () => {
    const stillOurs = planSweep(
      input({
        provisioned: new Map([
          ['team-a', done],
          ['team-b', done],
          ['team-c', done],
          ['team-d', done],
        ]),
      }),
    );
    expect(stillOurs.rebundle).toBeUndefined();
    expect(stillOurs.deprovision.map((d) => d.namespace)).toEqual(['team-c', 'team-d']);

    const exists = planSweep(
      input({ namespaces: [ns('team-a'), ns('team-b'), ns('team-c', { profile: false }), ns('team-d', { profile: false })] }),
    );
    expect(exists.rebundle).toBeUndefined();

    // Terminating and deprovisioned: gone.
    const terminating = planSweep(input({ namespaces: [ns('team-a'), ns('team-b'), ns('team-c', { terminating: true })] }));
    expect(terminating.rebundle?.release).toEqual(['team-c', 'team-d']);
  });

  it('none outside mode "bundled", and none while a name is desired', () => {
    expect(planSweep(input({ certificateMode: 'per-namespace' })).rebundle).toBeUndefined();
    expect(planSweep(input({ certificateMode: undefined })).rebundle).toBeUndefined();
    const desired = planSweep(input({ staticNamespaces: ['team-c', 'team-d'] }));
    expect(desired.rebundle).toBeUndefined();
  });

  it('none when nothing is desired (a request needs one namespace: the last bundle stays)', () => {
    expect(planSweep(input({ namespaces: [] })).rebundle).toBeUndefined();
  });

  it('a later release of a re-created namespace of the same name (other certificates) gets another name', () => {
    expect(rebundleExecutionName(['team-c'], ['arn-1'])).not.toBe(rebundleExecutionName(['team-c'], ['arn-2']));
    expect(rebundleExecutionName(['team-c'], ['arn-1'], 'r5xk2')).toBe(`${rebundleExecutionName(['team-c'], ['arn-1'])}-r5xk2`);
  });
});

describe('requestForNamespaces', () => {
  it('carries every desired namespace, sorted, with the static ones', () => {
    const req = requestForNamespaces({ ...TEMPLATE, namespaces: ['staging'] }, ['team-b', 'team-a', 'staging']);
    expect(req.namespaces).toEqual(['staging', 'team-a', 'team-b']);
    expect(req.domain).toBe('platform.example.com');
  });

  it('keeps only canary namespaces that are in the set, and drops the list when none is', () => {
    const template = { ...TEMPLATE, canary: { namespaces: ['team-a', 'gone'], timeoutSeconds: 5 } };
    expect(requestForNamespaces(template, ['team-a', 'team-b']).canary).toEqual({ namespaces: ['team-a'], timeoutSeconds: 5 });
    expect(requestForNamespaces(template, ['team-b']).canary).toEqual({ timeoutSeconds: 5 });
  });

  it('carries more namespaces than one ALB takes (ALB shards serve them), up to the request maximum of 500 (issue 11)', () => {
    // Before issue 11's shards, the automatic path stopped at 24: one listener's certificates.
    const team = (i: number) => `team-${String(i).padStart(3, '0')}`;
    expect(
      requestForNamespaces(
        TEMPLATE,
        Array.from({ length: 25 }, (_, i) => team(i)),
      ).namespaces,
    ).toHaveLength(25);
    expect(
      requestForNamespaces(
        TEMPLATE,
        Array.from({ length: 500 }, (_, i) => team(i)),
      ).namespaces,
    ).toHaveLength(500);
    expect(() =>
      requestForNamespaces(
        TEMPLATE,
        Array.from({ length: 501 }, (_, i) => team(i)),
      ),
    ).toThrow(expect.objectContaining({ name: 'InvalidRequest', path: 'namespaces', message: expect.stringContaining('at most 500') }));
  });

  it('validates the template at load', () => {
    expect(parseRequestTemplate(TEMPLATE)).toBe(TEMPLATE);
    expect(() => parseRequestTemplate({ ...TEMPLATE, domain: 'NOPE' })).toThrow(expect.objectContaining({ name: 'InvalidRequest' }));
    expect(() => parseRequestTemplate({ ...TEMPLATE, namespaces: ['Bad_Name'] })).toThrow(expect.objectContaining({ path: 'namespaces' }));
    expect(() => parseRequestTemplate([])).toThrow(expect.objectContaining({ name: 'InvalidRequest' }));
  });
});

describe('namespaceInfo', () => {
  it('reads uid, the profile label and termination', () => {
    expect(
      namespaceInfo({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: 'a',
          uid: 'u1',
          labels: { 'app.kubernetes.io/part-of': 'kubeflow-profile' },
          deletionTimestamp: '2026-01-01T00:00:00Z',
        },
      }),
    ).toEqual({ name: 'a', uid: 'u1', profile: true, terminating: true });
  });
});

describe('audit events from a Logs subscription', () => {
  it('decodes the gzipped base64 payload and keeps namespace and Profile creates and deletes', () => {
    // Prepare
    const event = logsEvent([
      auditEvent('create', 'namespaces', 'team-a', {
        responseObject: { metadata: { name: 'team-a', uid: 'u-a', labels: { 'app.kubernetes.io/part-of': 'kubeflow-profile' } } },
      }),
      auditEvent('create', 'profiles', 'team-b'),
      auditEvent('delete', 'namespaces', 'team-c'),
      auditEvent('create', 'namespaces', 'failed', { responseStatus: { code: 409 } }),
      auditEvent('create', 'namespaces', 'early', { stage: 'RequestReceived' }),
      { ...auditEvent('create', 'namespaces', 'x'), objectRef: { resource: 'configmaps', name: 'x' } },
      'not json',
    ]);
    // Act
    const data = decodeLogsEvent(event);
    const events = namespaceEventsFromAudit(data);
    // Assess
    expect(data.logGroup).toBe('/aws/eks/kubeflow/cluster');
    expect(events).toEqual([
      {
        action: 'created',
        namespace: 'team-a',
        resource: 'namespaces',
        uid: 'u-a',
        profileLabel: true,
        auditId: 'audit-create-team-a',
        at: '2026-01-01T00:00:00.000000Z',
      },
      {
        action: 'created',
        namespace: 'team-b',
        resource: 'profiles',
        profileLabel: true,
        auditId: 'audit-create-team-b',
        at: '2026-01-01T00:00:00.000000Z',
      },
      { action: 'deleted', namespace: 'team-c', resource: 'namespaces', auditId: 'audit-delete-team-c', at: '2026-01-01T00:00:00.000000Z' },
    ]);
  });

  it('keeps the last event per namespace and ignores sub-resources', () => {
    const events = namespaceEventsFromAudit(
      decodeLogsEvent(
        logsEvent([
          auditEvent('create', 'namespaces', 'a'),
          auditEvent('delete', 'namespaces', 'a'),
          { ...auditEvent('create', 'namespaces', 'b'), objectRef: { resource: 'namespaces', name: 'b', subresource: 'finalize' } },
        ]),
      ),
    );
    expect(events.map((e) => [e.action, e.namespace])).toEqual([['deleted', 'a']]);
  });

  it('rejects what is not a subscription event', () => {
    expect(() => decodeLogsEvent({ detail: {} })).toThrow(TypeError);
    expect(namespaceEventFromAudit(JSON.stringify({ ...auditEvent('create', 'namespaces', 'BAD') }))).toBeUndefined();
  });

  it('matches the filter pattern serverless.yml deploys', async () => {
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(new URL('../../../serverless.yml', import.meta.url), 'utf8')).toContain(`filter: '${AUDIT_FILTER_PATTERN}'`);
  });
});
