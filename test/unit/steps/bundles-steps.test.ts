/**
 * Bundled certificates (issue 11, item 2) in the steps that plan them:
 * ValidateRequest and EnsureCertificates read the quotas and refuse what
 * cannot fit; EnsureCertificates keeps, fills and swaps bundles; the Service
 * Quotas adapter falls back to ACM's default with a reason.
 */
import { ServiceQuotasAdapter } from '../../../shared/aws/serviceQuotas';
import { ownershipRecordValue } from '../../../shared/ownership';
import { silentLogger } from '../../../shared/log';
import type { CertificateQuotasPort } from '../../../shared/ports';
import { ensureCertificates } from '../../../shared/steps/ensureCertificates';
import { validateRequest } from '../../../shared/steps/validateRequest';
import { FakeAcm } from '../../fakes/FakeAcm';
import { FakeSecrets } from '../../fakes/FakeSecrets';
import { InMemoryRoute53 } from '../../fakes/InMemoryRoute53';
import { COGNITO_INPUT, STRONG_TOKEN, validated } from '../../fixtures/requests';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';

const clock = (iso: string) => () => new Date(iso);
const names = (value: number): CertificateQuotasPort => ({ namesPerCertificate: async () => ({ value, source: 'service-quotas' }) });
const sni = (value: number) => ({ accountLimits: async () => ({ 'certificates-per-application-load-balancer': value }) });
const ns = (n: number) => Array.from({ length: n }, (_, i) => `team-${String(i).padStart(3, '0')}`);

describe('validateRequest, certificates.mode "bundled"', () => {
  const deps = () => {
    const r53 = new InMemoryRoute53();
    r53.addZone('platform.example.com');
    const secrets = new FakeSecrets({ 'kserve-edge/api-tokens': { headerValues: [STRONG_TOKEN] } });
    const cluster = { connect: async () => ({ server: 'https://127.0.0.1:1', caData: 'pem', token: 't' }) };
    return { route53: r53, secrets, cluster, log: silentLogger, now: clock('2026-01-01T00:00:00Z'), inVpc: false };
  };

  it('accepts 25 bundles of 10 on one listener, refuses 251 namespaces naming both quotas', async () => {
    const ok = await validateRequest(
      { request: { ...COGNITO_INPUT, namespaces: ns(250), certificates: { mode: 'bundled' } } },
      { ...deps(), certificateQuotas: names(10), loadBalancers: sni(25) },
    );
    expect(ok.request.certificates).toEqual({ mode: 'bundled' });
    await expect(
      validateRequest(
        { request: { ...COGNITO_INPUT, namespaces: ns(251), certificates: { mode: 'bundled' } } },
        { ...deps(), certificateQuotas: names(10), loadBalancers: sni(25) },
      ),
    ).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: expect.stringMatching(/26 bundle certificates.*L-FB94F0B0.*certificates-per-application-load-balancer/),
    });
  });

  it('refuses namesPerCertificate above the account quota, and accepts it once the quota is raised', async () => {
    const request = { ...COGNITO_INPUT, certificates: { mode: 'bundled', namesPerCertificate: 20 } };
    await expect(validateRequest({ request }, { ...deps(), certificateQuotas: names(10) })).rejects.toMatchObject({
      name: 'InvalidRequest',
      message: expect.stringContaining('"Domain names per ACM certificate" (L-FB94F0B0) is 10'),
    });
    await expect(validateRequest({ request }, { ...deps(), certificateQuotas: names(25) })).resolves.toBeDefined();
  });

  it('refuses a released namespace that is still provisioned (its ownership TXT is ours), before any write; accepts a deprovisioned one', async () => {
    const d = deps();
    const zone = (await d.route53.findHostedZone('platform.example.com'))!;
    const txt = (owner: string) => ({
      name: '_kserve-edge.gone.platform.example.com',
      type: 'TXT',
      ttl: 300,
      values: [ownershipRecordValue(owner, '*.gone.platform.example.com')],
    });
    d.route53.seedRecord(zone.id, txt('kserve-edge'));
    const request = { ...COGNITO_INPUT, certificates: { mode: 'bundled', release: ['old', 'gone'] } };
    await expect(validateRequest({ request }, d)).rejects.toMatchObject({
      name: 'InvalidRequest',
      path: 'certificates.release[1]',
      message: expect.stringContaining(
        '"gone" is still provisioned (its ownership record _kserve-edge.gone.platform.example.com is ours): deprovision it first',
      ),
    });
    expect(d.route53.batches).toEqual([]);

    // Another owner's TXT: not ours to keep (nor to release from): the name is released from our bundles.
    const other = deps();
    other.route53.seedRecord((await other.route53.findHostedZone('platform.example.com'))!.id, txt('someone-else'));
    await expect(validateRequest({ request }, other)).resolves.toMatchObject({ request: { certificates: { release: ['old', 'gone'] } } });
  });

  it('refuses bundle options outside mode "bundled"', async () => {
    await expect(
      validateRequest({ request: { ...COGNITO_INPUT, certificates: { mode: 'per-namespace', namesPerCertificate: 3 } } }, deps()),
    ).rejects.toMatchObject({ name: 'InvalidRequest' });
  });
});

describe('ensureCertificates, certificates.mode "bundled"', () => {
  it('bundles the namespaces, then fills the bundle with room by a new certificate (the old one stays until ConfigureCluster retires it)', async () => {
    const acm = new FakeAcm();
    const deps = { acm, certificateQuotas: names(10), loadBalancers: sni(25), log: silentLogger };
    const request = (namespaces: string[]) => validated('Z1', { namespaces, certificates: { mode: 'bundled', namesPerCertificate: 3 } });

    const first = await ensureCertificates({ request: request(['a', 'b']), runId: 'r1' }, { ...deps, now: clock('2026-01-01T00:00:00Z') });
    expect(first.items.map((i) => [i.scope, i.names, i.requested])).toEqual([
      ['base', ['*.platform.example.com'], true],
      ['bundle', ['*.a.platform.example.com', '*.b.platform.example.com'], true],
    ]);
    for (const i of first.items) acm.issue(i.arn);

    acm.now = () => new Date('2026-01-01T01:00:00Z');
    const second = await ensureCertificates({ request: request(['c']), runId: 'r2' }, { ...deps, now: clock('2026-01-01T01:00:00Z') });
    expect(second.items.map((i) => [i.scope, i.names, i.requested])).toEqual([
      ['base', ['*.platform.example.com'], false],
      ['bundle', ['*.a.platform.example.com', '*.b.platform.example.com', '*.c.platform.example.com'], true],
    ]);
    // The old bundle is still there (immutable; make-before-break retires it later).
    expect((await acm.listOwnedCertificates('kserve-edge')).map((c) => c.arn)).toContain(first.items[1]!.arn);

    // A rerun finds the new bundle: nothing requested.
    const rerun = await ensureCertificates({ request: request(['c']), runId: 'r3' }, { ...deps, now: clock('2026-01-01T01:01:00Z') });
    expect(rerun.items.map((i) => i.requested)).toEqual([false, false]);
    expect(rerun.items[1]!.arn).toBe(second.items[1]!.arn);

    // Full bundle (3 names): the next namespace opens a new bundle, the full one is kept.
    acm.issue(second.items[1]!.arn);
    const third = await ensureCertificates({ request: request(['d']), runId: 'r4' }, { ...deps, now: clock('2026-01-01T02:00:00Z') });
    expect(third.items.map((i) => [i.names, i.requested])).toEqual([
      [['*.platform.example.com'], false],
      [['*.d.platform.example.com'], true],
    ]);
  });

  it('release: the bundle is re-requested without the name under a new idempotency token, even when the name set existed within the hour', async () => {
    const acm = new FakeAcm();
    const deps = { acm, certificateQuotas: names(10), loadBalancers: sni(25), log: silentLogger };
    const request = (namespaces: string[], release?: string[]) =>
      validated('Z1', { namespaces, certificates: { mode: 'bundled', namesPerCertificate: 3, ...(release ? { release } : {}) } });
    const tokens = () =>
      acm.calls.flatMap((c) => (c.op === 'requestCertificate' ? [[c.input.subjectAlternativeNames.length, c.input.idempotencyToken]] : []));

    const first = await ensureCertificates({ request: request(['a', 'b']), runId: 'r1' }, { ...deps, now: clock('2026-01-01T00:00:00Z') });
    for (const i of first.items) acm.issue(i.arn);
    const second = await ensureCertificates({ request: request(['c']), runId: 'r2' }, { ...deps, now: clock('2026-01-01T00:10:00Z') });
    acm.issue(second.items[1]!.arn);
    await acm.deleteCertificate(first.items[1]!.arn); // the swap's end

    // c is released by a run for a alone: {a, b} again, 20 minutes after the first {a, b}.
    const third = await ensureCertificates(
      { request: request(['a'], ['c']), runId: 'r3' },
      { ...deps, now: clock('2026-01-01T00:20:00Z') },
    );
    expect(third.items.map((i) => [i.names, i.requested])).toEqual([
      [['*.platform.example.com'], false],
      [['*.a.platform.example.com', '*.b.platform.example.com'], true],
    ]);
    const [, abFirst, , abAgain] = tokens();
    expect(abFirst![0]).toBe(1);
    expect(abAgain![0]).toBe(1);
    // ACM answers a token it saw within the hour with that request's certificate (here: a deleted one).
    expect(abAgain![1]).not.toBe(abFirst![1]);
  });

  it('release while the superseded {a, b} still exists: a new {a, b} is requested, not the older one reused', async () => {
    const acm = new FakeAcm();
    const deps = { acm, certificateQuotas: names(10), loadBalancers: sni(25), log: silentLogger };
    const request = (namespaces: string[], release?: string[]) =>
      validated('Z1', { namespaces, certificates: { mode: 'bundled', namesPerCertificate: 3, ...(release ? { release } : {}) } });
    acm.now = () => new Date('2026-01-01T00:00:00Z');
    const first = await ensureCertificates({ request: request(['a', 'b']), runId: 'r1' }, { ...deps, now: clock('2026-01-01T00:00:00Z') });
    for (const i of first.items) acm.issue(i.arn);
    acm.now = () => new Date('2026-01-01T00:10:00Z');
    const second = await ensureCertificates({ request: request(['c']), runId: 'r2' }, { ...deps, now: clock('2026-01-01T00:10:00Z') });
    acm.issue(second.items[1]!.arn);
    // {a, b} (superseded, not deleted yet) and {a, b, c}: a, b and c belong to {a, b, c}, the newest.

    acm.now = () => new Date('2026-01-01T00:20:00Z');
    const third = await ensureCertificates(
      { request: request(['a'], ['c']), runId: 'r3' },
      { ...deps, now: clock('2026-01-01T00:20:00Z') },
    );
    expect(third.items[1]).toMatchObject({ names: ['*.a.platform.example.com', '*.b.platform.example.com'], requested: true });
    expect(third.items[1]!.arn).not.toBe(first.items[1]!.arn);
    // A rerun reuses the new one.
    const rerun = await ensureCertificates(
      { request: request(['a'], ['c']), runId: 'r4' },
      { ...deps, now: clock('2026-01-01T00:21:00Z') },
    );
    expect(rerun.items[1]).toMatchObject({ arn: third.items[1]!.arn, requested: false });
  });

  it('refuses, before any request, more bundles than the listener takes', async () => {
    const acm = new FakeAcm();
    const request = validated('Z1', { namespaces: ns(7), certificates: { mode: 'bundled', namesPerCertificate: 3 } });
    await expect(
      ensureCertificates(
        { request, runId: 'r' },
        { acm, certificateQuotas: names(10), loadBalancers: sni(2), log: silentLogger, now: clock('2026-01-01T00:00:00Z') },
      ),
    ).rejects.toMatchObject({ name: 'InvalidRequest', message: expect.stringContaining('certificates-per-application-load-balancer') });
    expect(acm.calls.filter((c) => c.op === 'requestCertificate')).toEqual([]);
  });
});

describe('ServiceQuotasAdapter', () => {
  const client = (send: () => Promise<unknown>) => ({ send }) as unknown as ServiceQuotasClient;
  const awsError = (name: string, status: number) =>
    Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });

  it('reads the account value', async () => {
    await expect(new ServiceQuotasAdapter(client(async () => ({ Quota: { Value: 25 } }))).namesPerCertificate()).resolves.toEqual({
      value: 25,
      source: 'service-quotas',
    });
  });

  it('falls back to ACM’s default with a reason when Service Quotas has no value (moto serves only vpc)', async () => {
    const out = await new ServiceQuotasAdapter(
      client(async () => {
        throw awsError('NoSuchResourceException', 400);
      }),
    ).namesPerCertificate();
    expect(out).toEqual({ value: 10, source: 'default', reason: expect.stringContaining('acm/L-FB94F0B0') });
  });

  it('does not mask access denied', async () => {
    await expect(
      new ServiceQuotasAdapter(
        client(async () => {
          throw awsError('AccessDeniedException', 400);
        }),
      ).namesPerCertificate(),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});
