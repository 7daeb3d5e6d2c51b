import { desiredCertificates, idempotencyToken, planCertificates, uniqueValidationRecords } from '../../../shared/plan/certificates';
import type { CertificateDetail } from '../../../shared/ports';
import { TAG_DOMAIN, TAG_NAMES, TAG_OWNER } from '../../../shared/ownership';
import { DEX_INPUT, request } from '../../fixtures/requests';

function owned(names: string[], status: CertificateDetail['status'], extra: Partial<CertificateDetail> = {}): CertificateDetail {
  const [domainName = ''] = names;
  const want = desiredCertificates(request({ namespaces: ['staging', 'prod'] })).find((d) => d.names.join() === names.join());
  return {
    arn: `arn:aws:acm:us-west-2:1:certificate/${names.join('-')}-${status}`,
    domainName,
    names,
    status,
    validationRecords: [],
    namesWithoutRecord: [],
    inUseBy: [],
    tags: { [TAG_OWNER]: 'kserve-edge', [TAG_DOMAIN]: 'platform.example.com', [TAG_NAMES]: want?.namesHash ?? 'x' },
    ...extra,
  };
}

describe('desiredCertificates', () => {
  it('per-namespace: the base wildcard first, then one per namespace', () => {
    const certs = desiredCertificates(request());
    expect(certs.map((c) => [c.scope, c.names])).toEqual([
      ['base', ['*.platform.example.com']],
      ['namespace:staging', ['*.staging.platform.example.com']],
      ['namespace:prod', ['*.prod.platform.example.com']],
    ]);
  });

  it('single: the guide layout, every name on one certificate', () => {
    const certs = desiredCertificates(request({ namespaces: ['staging', 'prod'] }, DEX_INPUT));
    expect(certs).toHaveLength(1);
    expect(certs[0]?.names).toEqual(['*.platform.example.com', '*.staging.platform.example.com', '*.prod.platform.example.com']);
  });

  it('gives a different name-set hash when the namespaces change', () => {
    const a = desiredCertificates(request({ namespaces: ['staging'] }, DEX_INPUT))[0];
    const b = desiredCertificates(request({ namespaces: ['staging', 'prod'] }, DEX_INPUT))[0];
    expect(a?.namesHash).not.toBe(b?.namesHash);
    expect(idempotencyToken('kserve-edge', a!)).toMatch(/^[a-f0-9]{32}$/);
    expect(idempotencyToken('kserve-edge', a!)).not.toBe(idempotencyToken('kserve-edge', b!));
  });

  it('changes the idempotency token once a certificate for the names failed, whatever the order of the failed ARNs', () => {
    const a = desiredCertificates(request({ namespaces: ['staging'] }, DEX_INPUT))[0]!;
    const fresh = idempotencyToken('kserve-edge', a);
    const afterFailure = idempotencyToken('kserve-edge', a, ['arn:x', 'arn:y']);
    expect(afterFailure).not.toBe(fresh);
    expect(idempotencyToken('kserve-edge', a, ['arn:y', 'arn:x'])).toBe(afterFailure);
    expect(idempotencyToken('kserve-edge', a, [])).toBe(fresh);
  });
});

describe('planCertificates', () => {
  const desired = desiredCertificates(request());
  const opts = { ownerId: 'kserve-edge', domain: 'platform.example.com' };

  it('requests everything on a fresh account', () => {
    const plan = planCertificates(desired, [], opts);
    expect(plan.reuse).toHaveLength(0);
    expect(plan.request.map((d) => d.scope)).toEqual(['base', 'namespace:staging', 'namespace:prod']);
  });

  it('reuses a pending or issued certificate and prefers the issued one', () => {
    const pending = owned(['*.staging.platform.example.com'], 'PENDING_VALIDATION', { createdAt: '2026-02-01' });
    const issued = owned(['*.staging.platform.example.com'], 'ISSUED', { createdAt: '2026-01-01' });
    const plan = planCertificates(desired, [pending, issued], opts);
    expect(plan.reuse.map((r) => r.existing.arn)).toEqual([issued.arn]);
    expect(plan.request.map((d) => d.scope)).toEqual(['base', 'namespace:prod']);
  });

  it('never reuses a failed certificate, nor one of another owner or domain', () => {
    const failed = owned(['*.platform.example.com'], 'VALIDATION_TIMED_OUT');
    const foreign = owned(['*.platform.example.com'], 'ISSUED', {
      tags: { ...owned(['*.platform.example.com'], 'ISSUED').tags, [TAG_OWNER]: 'someone-else' },
    });
    const plan = planCertificates(desired, [failed, foreign], opts);
    expect(plan.request.map((d) => d.scope)).toContain('base');
  });
});

describe('uniqueValidationRecords', () => {
  it('writes a record shared by x and *.x, or by two certificates, once', () => {
    const rec = { name: '_abc.platform.example.com', type: 'CNAME' as const, value: '_v.acm-validations.aws.' };
    const other = { name: '_def.staging.platform.example.com', type: 'CNAME' as const, value: '_w.acm-validations.aws.' };
    const out = uniqueValidationRecords([
      { validationRecords: [rec, rec] },
      { validationRecords: [{ ...rec, name: '_ABC.platform.example.com.' }, other] },
    ]);
    expect(out.map((r) => r.name)).toEqual(['_abc.platform.example.com', '_def.staging.platform.example.com']);
  });
});
