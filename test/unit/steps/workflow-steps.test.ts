/**
 * The AWS-facing steps against stateful in-memory fakes: end state, not call
 * sequences.
 */
import { checkCertificates } from '../../../shared/steps/checkCertificates';
import { checkDnsChange } from '../../../shared/steps/checkDnsChange';
import { ensureCertificates } from '../../../shared/steps/ensureCertificates';
import { publishValidationRecords } from '../../../shared/steps/publishValidationRecords';
import { upsertDnsRecords } from '../../../shared/steps/upsertDnsRecords';
import { validateRequest } from '../../../shared/steps/validateRequest';
import { notifyFailure, summarizeFailure } from '../../../shared/steps/notifyFailure';
import { silentLogger, registerSecret, clearSecrets } from '../../../shared/log';
import type { ClusterAccessPort, KubeObject } from '../../../shared/ports';
import { FakeKube } from '../../fakes/FakeKube';
import { AccessDeniedError, ClusterNotFoundError, VpcRequiredError } from '../../../shared/errors';
import { FakeAcm } from '../../fakes/FakeAcm';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import { FakeNotify } from '../../fakes/FakeNotify';
import { COGNITO_INPUT, DEX_INPUT, STRONG_TOKEN, validated } from '../../fixtures/requests';

const ALB = 'k8s-istiosys-istioing-0123456789-1234567890.us-west-2.elb.amazonaws.com';
const clock = (iso: string) => () => new Date(iso);
const cluster: ClusterAccessPort = { connect: async () => ({ server: 'https://127.0.0.1:1', caData: 'pem', token: 't' }) };

function world() {
  const r53 = new InMemoryRoute53({ pendingPolls: 1 });
  const zone = r53.addZone('platform.example.com');
  const acm = new FakeAcm({ recordsAfterDescribes: 1 });
  const secrets = new FakeSecrets({
    'kserve-edge/api-tokens': { headerValues: [STRONG_TOKEN] },
    'kserve-edge/dex-login': { username: 'user@example.com', password: 'pw-123456' },
  });
  return { r53, zone, acm, secrets };
}

describe('validateRequest', () => {
  it('resolves the hosted zone from the domain and keeps the defaults', async () => {
    const { r53, zone, secrets } = world();
    const out = await validateRequest(
      { request: COGNITO_INPUT, runId: 'run-1' },
      { route53: r53, secrets, cluster, log: silentLogger, now: clock('2026-01-01T00:00:00Z'), inVpc: false },
    );
    expect(out.request.hostedZoneId).toBe(zone.id);
    expect(out.request.auth).toMatchObject({ provider: 'cognito', headerName: 'x-api-key' });
    expect(out.runId).toBe('run-1');
  });

  it.each([
    ['no zone', { domain: 'other.example.org' }, 'HostedZoneNotFound'],
    ['weak token', { auth: { provider: 'cognito', headerValuesSecretId: 'weak' } }, 'InvalidSecret'],
    ['missing secret', { auth: { provider: 'cognito', headerValuesSecretId: 'absent' } }, 'InvalidSecret'],
    ['bad region for alias', { dns: { recordType: 'ALIAS' }, cluster: { name: 'kubeflow', region: 'xx-east-9' } }, 'InvalidRequest'],
  ])('%s → %s', async (_label, overrides, errorName) => {
    const { r53, secrets } = world();
    secrets.set('weak', { headerValues: ['token1'] });
    await expect(
      validateRequest(
        { request: { ...COGNITO_INPUT, ...overrides } },
        { route53: r53, secrets, cluster, log: silentLogger, now: clock('2026-01-01T00:00:00Z'), inVpc: false },
      ),
    ).rejects.toMatchObject({ name: errorName });
  });

  it('names a hosted zone outside the role (AccessDenied on GetHostedZone) as HostedZoneNotFound', async () => {
    const { r53, secrets } = world();
    r53.failures.add('getHostedZone', new AccessDeniedError('User: … is not authorized to perform: route53:GetHostedZone'));
    await expect(
      validateRequest(
        { request: { ...COGNITO_INPUT, hostedZoneId: 'Z0000000000OTHERZONE' } },
        { route53: r53, secrets, cluster, log: silentLogger, now: clock('2026-01-01T00:00:00Z'), inVpc: false },
      ),
    ).rejects.toMatchObject({ name: 'HostedZoneNotFound', message: expect.stringContaining('hostedZoneIds') });
  });

  it('names a cluster outside the role (AccessDenied on DescribeCluster) as ClusterNotFound', async () => {
    const { r53, secrets } = world();
    const denied: ClusterAccessPort = {
      connect: async () => {
        throw new AccessDeniedError('not allowed to eks:DescribeCluster: User: … is not authorized to perform: eks:DescribeCluster');
      },
    };
    await expect(
      validateRequest(
        { request: { ...COGNITO_INPUT, cluster: { name: 'other', region: 'us-west-2' } } },
        { route53: r53, secrets, cluster: denied, log: silentLogger, now: clock('2026-01-01T00:00:00Z'), inVpc: false },
      ),
    ).rejects.toMatchObject({ name: 'ClusterNotFound', message: expect.stringContaining('clusterName') });
  });

  it('fails with ClusterNotFound when the cluster does not exist', async () => {
    const { r53, secrets } = world();
    const missing: ClusterAccessPort = {
      connect: async () => {
        throw new ClusterNotFoundError('no such cluster');
      },
    };
    await expect(
      validateRequest(
        { request: DEX_INPUT },
        { route53: r53, secrets, cluster: missing, log: silentLogger, now: clock('2026-01-01T00:00:00Z'), inVpc: false },
      ),
    ).rejects.toMatchObject({
      name: 'ClusterNotFound',
    });
  });
});

describe('validateRequest: what only the VPC reaches', () => {
  const privateCluster: ClusterAccessPort = {
    connect: async () => ({ server: 'https://10.0.0.1', caData: 'pem', token: 't', endpointPublicAccess: false }),
  };
  const publicCluster: ClusterAccessPort = {
    connect: async () => ({ server: 'https://x.eks.amazonaws.com', caData: 'pem', token: 't', endpointPublicAccess: true }),
  };
  const run = (request: unknown, access: ClusterAccessPort, inVpc: boolean) => {
    const { r53, secrets } = world();
    return validateRequest(
      { request },
      { route53: r53, secrets, cluster: access, log: silentLogger, now: clock('2026-01-01T00:00:00Z'), inVpc },
    );
  };
  const internal = { ...COGNITO_INPUT, ingress: { scheme: 'internal' } };

  it('refuses an internal ALB outside a VPC, naming the field and the deploy parameters, before reading anything', async () => {
    let connected = false;
    const watched: ClusterAccessPort = {
      connect: async () => {
        connected = true;
        return publicCluster.connect({ name: 'kubeflow', region: 'us-west-2' });
      },
    };
    const err = await run(internal, watched, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VpcRequiredError);
    expect(err).toMatchObject({ name: 'VpcRequired', path: 'ingress.scheme' });
    expect((err as Error).message).toMatch(/subnetIds.*securityGroupIds/);
    expect(connected).toBe(false);
  });

  it('refuses a private-only cluster endpoint outside a VPC, naming the cluster and the deploy parameters', async () => {
    const err = await run(COGNITO_INPUT, privateCluster, false).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'VpcRequired', path: 'cluster' });
    expect((err as Error).message).toMatch(/kubeflow in us-west-2 has a private-only API endpoint.*subnetIds.*securityGroupIds/);
  });

  it('accepts both inside a VPC, and a public endpoint (or one DescribeCluster did not describe) outside', async () => {
    await expect(run(internal, privateCluster, true)).resolves.toMatchObject({ request: { ingress: { scheme: 'internal' } } });
    await expect(run(COGNITO_INPUT, publicCluster, false)).resolves.toMatchObject({ request: { ingress: { scheme: 'internet-facing' } } });
    await expect(run(COGNITO_INPUT, cluster, false)).resolves.toBeDefined();
  });
});

describe('validateRequest: hostnames (a cluster client given)', () => {
  const configDomain = (domain?: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'config-domain', namespace: 'knative-serving' },
    data: domain ? { [domain]: '' } : { _example: '#' },
  });
  const isvc = (namespace: string, url?: string): KubeObject => ({
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name: 'sklearn-irisv2', namespace },
    ...(url ? { status: { url } } : {}),
  });
  const deps = (kube: FakeKube) => {
    const { r53, secrets } = world();
    return { route53: r53, secrets, cluster, kubeOf: () => kube, log: silentLogger, now: clock('2026-01-01T00:00:00Z'), inVpc: false };
  };

  it('refuses a switch to flat hostnames of a served domain without the confirmation, having written nothing', async () => {
    const configNetwork: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config-network', namespace: 'knative-serving' },
      data: { _example: '#' },
    };
    const kube = new FakeKube([{ object: configDomain('platform.example.com') }, { object: configNetwork }, { object: isvc('staging') }]);
    await expect(validateRequest({ request: { ...COGNITO_INPUT, hostnames: 'flat' } }, deps(kube))).rejects.toMatchObject({
      name: 'HostnameChangeUnconfirmed',
      path: 'confirmHostnameChange',
    });
    expect(kube.writes).toBe(0);
    const ok = await validateRequest(
      { request: { ...COGNITO_INPUT, hostnames: 'flat', confirmHostnameChange: 'nested-to-flat' } },
      deps(kube),
    );
    expect(ok.request.hostnames).toBe('flat');
  });

  it("puts the host KServe publishes into canary.hosts only where it differs from the layout's", async () => {
    const kube = new FakeKube([
      { object: configDomain('platform.example.com') },
      { object: isvc('staging', 'http://sklearn-irisv2.staging.platform.example.com') },
      { object: isvc('prod', 'http://irisv2-prod.models.platform.example.com') },
    ]);
    const out = await validateRequest({ request: { ...COGNITO_INPUT, namespaces: ['staging', 'prod'] } }, deps(kube));
    expect(out.request.canary.hosts).toEqual({ prod: 'irisv2-prod.models.platform.example.com' });
  });

  it('an API server that does not answer leaves the hostname checks to ConfigureCluster', async () => {
    const kube = new FakeKube([{ object: configDomain('platform.example.com') }]);
    kube.unreachable = true;
    const out = await validateRequest({ request: { ...COGNITO_INPUT, hostnames: 'flat' } }, deps(kube));
    expect(out.request.hostnames).toBe('flat');
  });
});

describe('certificates: ensure → publish → check', () => {
  it('requests once, publishes each validation CNAME once, and waits until issued', async () => {
    const { r53, zone, acm } = world();
    const request = validated(zone.id);
    const first = await ensureCertificates({ request, runId: 'run-1' }, { acm, log: silentLogger, now: clock('2026-01-01T00:00:00Z') });
    expect(first.items.map((i) => i.requested)).toEqual([true, true, true]);

    // ACM publishes records after the first describe: the step says "not ready" first.
    await expect(
      publishValidationRecords({ request, certificates: first }, { acm, route53: r53, log: silentLogger }),
    ).rejects.toMatchObject({
      name: 'ValidationRecordsNotReady',
    });
    const published = await publishValidationRecords({ request, certificates: first }, { acm, route53: r53, log: silentLogger });
    expect(published.records).toHaveLength(3);
    const cnames = r53.allRecords(zone.id).filter((r) => r.type === 'CNAME');
    expect(cnames).toHaveLength(3);

    // Again (a rerun): every record is in the zone with ACM's value, so nothing is written.
    const batches = r53.batches.length;
    const again = await publishValidationRecords({ request, certificates: first }, { acm, route53: r53, log: silentLogger });
    expect(again).toMatchObject({ changeId: null, records: published.records });
    expect(r53.batches).toHaveLength(batches);
    // A record someone changed is put back, alone.
    const edited = cnames[0]!;
    await r53.changeRecords(zone.id, [{ action: 'UPSERT', record: { ...edited, values: ['elsewhere.example.net'] } }], 'edit');
    const repaired = await publishValidationRecords({ request, certificates: first }, { acm, route53: r53, log: silentLogger });
    expect(repaired.changeId).not.toBeNull();
    expect(r53.batches.at(-1)!.changes.map((c) => c.record.name)).toEqual([edited.name]);
    expect(r53.allRecords(zone.id).find((r) => r.name === edited.name)?.values).toEqual(edited.values);

    const pending = await checkCertificates(
      { request, certificates: first },
      { acm, log: silentLogger, now: clock('2026-01-01T00:01:00Z') },
    );
    expect(pending).toMatchObject({ ready: false, waitSeconds: 15, elapsedSeconds: 60 });

    for (const item of first.items) acm.issue(item.arn);
    const issued = await checkCertificates(
      { request, certificates: first },
      { acm, log: silentLogger, now: clock('2026-01-01T00:02:00Z') },
    );
    expect(issued.ready).toBe(true);

    // A second run finds the same certificates by their tags.
    const second = await ensureCertificates({ request, runId: 'run-2' }, { acm, log: silentLogger, now: clock('2026-01-01T00:03:00Z') });
    expect(second.items.map((i) => i.arn)).toEqual(first.items.map((i) => i.arn));
    expect(second.items.every((i) => !i.requested)).toBe(true);
    expect(acm.arns()).toHaveLength(3);
  });

  it('ends in CertificateValidationFailed or CertificateTimeout', async () => {
    const { zone, acm } = world();
    const request = validated(zone.id, { deadlines: { certificateSeconds: 600 } });
    const certs = await ensureCertificates({ request, runId: 'r' }, { acm, log: silentLogger, now: clock('2026-01-01T00:00:00Z') });
    await expect(
      checkCertificates({ request, certificates: certs }, { acm, log: silentLogger, now: clock('2026-01-01T00:11:00Z') }),
    ).rejects.toMatchObject({
      name: 'CertificateTimeout',
    });
    acm.fail(certs.items[1]!.arn, 'CAA_ERROR');
    await expect(
      checkCertificates({ request, certificates: certs }, { acm, log: silentLogger, now: clock('2026-01-01T00:01:00Z') }),
    ).rejects.toMatchObject({
      name: 'CertificateValidationFailed',
      message: expect.stringContaining('CAA_ERROR'),
    });
  });
});

describe('DNS: upsert → check', () => {
  it('writes one batch for every namespace, then nothing on a rerun', async () => {
    const { r53, zone } = world();
    const request = validated(zone.id);
    const out = await upsertDnsRecords(
      { request, loadBalancer: { hostname: ALB } },
      { route53: r53, log: silentLogger, now: clock('2026-01-01T00:00:00Z') },
    );
    expect(out.records.map((r) => r.action)).toEqual(['create', 'create']);
    expect(r53.calls.filter((c) => c.op === 'changeRecords')).toHaveLength(1);
    expect(r53.getRecord(zone.id, '*.prod.platform.example.com', 'CNAME')?.values).toEqual([ALB]);
    expect(r53.getRecord(zone.id, '_kserve-edge.prod.platform.example.com', 'TXT')).toBeDefined();

    const poll1 = await checkDnsChange({ request, dns: out }, { route53: r53, log: silentLogger, now: clock('2026-01-01T00:00:10Z') });
    expect(poll1.ready).toBe(false);
    const poll2 = await checkDnsChange({ request, dns: out }, { route53: r53, log: silentLogger, now: clock('2026-01-01T00:00:20Z') });
    expect(poll2.ready).toBe(true);

    const again = await upsertDnsRecords(
      { request, loadBalancer: { hostname: ALB } },
      { route53: r53, log: silentLogger, now: clock('2026-01-01T00:01:00Z') },
    );
    expect(again.changeId).toBeNull();
    expect(r53.calls.filter((c) => c.op === 'changeRecords')).toHaveLength(1);
  });

  it.each([1, 10, 24])('reads the zone once for %i namespace(s), not twice per namespace', async (n) => {
    const { r53, zone } = world();
    const namespaces = Array.from({ length: n }, (_, i) => `team-${String(i + 1).padStart(2, '0')}`);
    const request = validated(zone.id, { namespaces });
    // One namespace already done, so the plan has something to find.
    const first = await upsertDnsRecords(
      { request: validated(zone.id, { namespaces: namespaces.slice(0, 1) }), loadBalancer: { hostname: ALB } },
      { route53: r53, log: silentLogger, now: clock('2026-01-01T00:00:00Z') },
    );
    expect(first.records.map((r) => r.action)).toEqual(['create']);
    r53.calls.length = 0;

    const out = await upsertDnsRecords(
      { request, loadBalancer: { hostname: ALB } },
      { route53: r53, log: silentLogger, now: clock('2026-01-01T00:01:00Z') },
    );

    const reads = r53.calls.filter((c) => c.op === 'listRecords' || c.op === 'listRecordsNamed');
    expect(reads).toHaveLength(1);
    expect(out.records.map((r) => r.action)).toEqual(['none', ...Array<string>(n - 1).fill('create')]);
  });

  it('refuses a foreign record and writes nothing at all', async () => {
    const { r53, zone } = world();
    r53.seedRecord(zone.id, { name: '*.prod.platform.example.com', type: 'CNAME', ttl: 60, values: ['elsewhere.example.net'] });
    const request = validated(zone.id);
    await expect(
      upsertDnsRecords(
        { request, loadBalancer: { hostname: ALB } },
        { route53: r53, log: silentLogger, now: clock('2026-01-01T00:00:00Z') },
      ),
    ).rejects.toMatchObject({ name: 'RecordOwnedByAnother' });
    expect(r53.calls.filter((c) => c.op === 'changeRecords')).toHaveLength(0);
    expect(r53.getRecord(zone.id, '*.prod.platform.example.com', 'CNAME')?.values).toEqual(['elsewhere.example.net']);
    expect(r53.getRecord(zone.id, '*.staging.platform.example.com', 'CNAME')).toBeUndefined();
  });

  it('times out with DnsChangeTimeout', async () => {
    const r53 = new InMemoryRoute53({ pendingPolls: 100 });
    const z = r53.addZone('platform.example.com');
    const request = validated(z.id, { deadlines: { dnsSeconds: 30 } });
    const out = await upsertDnsRecords(
      { request, loadBalancer: { hostname: ALB } },
      { route53: r53, log: silentLogger, now: clock('2026-01-01T00:00:00Z') },
    );
    // Within the deadline the same PENDING change is only waited for...
    await expect(
      checkDnsChange({ request, dns: out }, { route53: r53, log: silentLogger, now: clock('2026-01-01T00:00:20Z') }),
    ).resolves.toMatchObject({
      ready: false,
    });
    // ...past it, the step ends the run, naming the change and both durations.
    await expect(
      checkDnsChange({ request, dns: out }, { route53: r53, log: silentLogger, now: clock('2026-01-01T00:01:00Z') }),
    ).rejects.toMatchObject({
      name: 'DnsChangeTimeout',
      message: `Route 53 change ${out.changeId} still PENDING after 60s (deadline 30s)`,
    });
  });
});

describe('notifyFailure', () => {
  afterEach(() => clearSecrets());

  it('publishes the error name, the message from the Lambda cause and the runbook, with secrets redacted', async () => {
    registerSecret(STRONG_TOKEN);
    const notify = new FakeNotify();
    const cause = JSON.stringify({ errorType: 'RecordOwnedByAnother', errorMessage: `refusing, token ${STRONG_TOKEN}`, trace: ['at x'] });
    const out = await notifyFailure(
      {
        error: { Error: 'RecordOwnedByAnother', Cause: cause },
        executionId: 'arn:exec',
        state: { request: { domain: 'platform.example.com', namespaces: ['prod'] } },
      },
      { notify, log: silentLogger },
    );
    expect(out.published).toBe(true);
    expect(out.summary).toMatchObject({
      error: 'RecordOwnedByAnother',
      runbook: 'README.md#recordownedbyanother',
      domain: 'platform.example.com',
    });
    expect(out.summary.message).toBe('refusing, token [REDACTED]');
    expect(JSON.stringify(notify.messages)).not.toContain('at x');
  });

  it('points an error without a runbook row of its own (a bug, States.*) to the row for unexpected errors', () => {
    const cause = JSON.stringify({
      errorType: 'TypeError',
      errorMessage: "Cannot read properties of undefined (reading 'items')",
      trace: [],
    });
    expect(summarizeFailure({ error: { Error: 'TypeError', Cause: cause } })).toMatchObject({
      error: 'TypeError',
      message: "Cannot read properties of undefined (reading 'items')",
      runbook: 'README.md#provisioningfailed',
    });
    expect(summarizeFailure({ error: { Error: 'States.Timeout', Cause: 'Task timed out' } }).runbook).toBe('README.md#provisioningfailed');
    expect(summarizeFailure({ error: { Error: 'PrerequisiteMissing', Cause: 'x' } }).runbook).toBe('README.md#prerequisitemissing');
  });

  it('still summarises a failure of ValidateRequest (no normalised request yet)', () => {
    expect(summarizeFailure({ error: { Error: 'InvalidRequest', Cause: 'bad' }, state: { domain: 'a.example.com' } })).toMatchObject({
      domain: 'a.example.com',
      message: 'bad',
    });
  });
});
