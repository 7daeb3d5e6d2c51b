/**
 * Client-side pacing for APIs with published per-second quotas (ACM:
 * RequestCertificate 5/s, DescribeCertificate 10/s, ListCertificates 1/s…).
 *
 * A sliding one-second window per operation: the (n+1)-th call within a second
 * waits until the oldest of the last n is a second old. Waits are short (well
 * under a second per call at our fan-out) and bounded by the step's own work:
 * this is pacing, not waiting for external state, which the state machine does.
 * Throttling that still happens (other callers in the account) is retried by
 * the state machine as `Throttled`.
 */

export interface RateLimiterOptions {
  /** Calls allowed per second, by operation name. Operations not listed are not paced. */
  perSecond: Readonly<Record<string, number>>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class RateLimiter {
  private readonly windows = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: RateLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Resolves when a call of `operation` may be sent. */
  async take(operation: string): Promise<void> {
    const limit = this.options.perSecond[operation];
    if (!limit) return;
    const window = this.windows.get(operation) ?? [];
    this.windows.set(operation, window);
    for (;;) {
      const now = this.now();
      while (window.length > 0 && now - (window[0] ?? 0) >= 1000) window.shift();
      if (window.length < limit) {
        window.push(now);
        return;
      }
      await this.sleep(1000 - (now - (window[0] ?? now)));
    }
  }
}

/**
 * What we allow ourselves against ACM's published rates (per account and
 * region): 80 % of each quota, leaving room for other callers and for the
 * jitter between sending and arriving. ListCertificates' quota is 1/s.
 */
export const ACM_RATES: Readonly<Record<string, number>> = {
  RequestCertificateCommand: 4,
  DescribeCertificateCommand: 8,
  ListCertificatesCommand: 1,
  ListTagsForCertificateCommand: 8,
  AddTagsToCertificateCommand: 4,
  DeleteCertificateCommand: 8,
};
