/**
 * Service Quotas reader: ACM's "Domain names per ACM certificate" quota
 * (L-FB94F0B0), which decides how many namespace wildcards one bundle
 * certificate holds (shared/plan/bundles.ts).
 *
 * When Service Quotas has no value for the quota (NoSuchResourceException:
 * an account where it was never looked up, or moto, whose Service Quotas
 * serves only `vpc`), ACM's documented default stands and the reason is
 * returned, for the step to log. Access denied and throttling are not
 * masked: the role must allow `servicequotas:GetServiceQuota`.
 */
import { GetServiceQuotaCommand, type ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { CertificateQuotasPort, QuotaValue } from '../ports';
import { ACM_NAMES_QUOTA_CODE, ACM_SERVICE_CODE, DEFAULT_ACM_NAMES_PER_CERTIFICATE } from '../plan/bundles';
import { awsErrorName, mapAwsError } from './errors';

/** Errors that mean "Service Quotas has no value for this quota here". */
const NO_VALUE = new Set(['NoSuchResourceException']);

/** {@link CertificateQuotasPort} over the SDK client. */
export class ServiceQuotasAdapter implements CertificateQuotasPort {
  constructor(private readonly client: ServiceQuotasClient) {}

  async namesPerCertificate(): Promise<QuotaValue> {
    try {
      const out = await this.client.send(new GetServiceQuotaCommand({ ServiceCode: ACM_SERVICE_CODE, QuotaCode: ACM_NAMES_QUOTA_CODE }));
      const value = out.Quota?.Value;
      if (typeof value === 'number' && Number.isFinite(value) && value >= 1) return { value: Math.floor(value), source: 'service-quotas' };
      return { value: DEFAULT_ACM_NAMES_PER_CERTIFICATE, source: 'default', reason: 'Service Quotas answered without a value' };
    } catch (err) {
      const name = awsErrorName(err);
      if (NO_VALUE.has(name)) {
        return {
          value: DEFAULT_ACM_NAMES_PER_CERTIFICATE,
          source: 'default',
          reason: `Service Quotas has no value for ${ACM_SERVICE_CODE}/${ACM_NAMES_QUOTA_CODE} (${name}); ACM's default applies`,
        };
      }
      // Everything else is mapped as any AWS failure (AccessDenied, Throttled, AwsUnavailable).
      throw mapAwsError(err, 'servicequotas:GetServiceQuota');
    }
  }
}
