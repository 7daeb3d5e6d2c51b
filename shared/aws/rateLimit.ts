/**
 * Client-side pacing for APIs with published per-second quotas (ACM:
 * RequestCertificate 5/s, DescribeCertificate 10/s, ListCertificates 1/s…;
 * Route 53: 5/s for the whole API).
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
  /**
   * The account's quota per operation (calls per second), when above `perSecond`:
   * what {@link RateLimiter.handover} leaves the first second of an invocation.
   */
  quota?: Readonly<Record<string, number>>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Limiters with a quota, per process: {@link handoverPacing} starts an invocation for all of them. */
const handedOver = new Set<RateLimiter>();

export class RateLimiter {
  private readonly windows = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: RateLimiterOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    if (options.quota) handedOver.add(this);
  }

  /**
   * Starts an invocation (a step of the state machine). The step before it ran
   * in another process, at up to `perSecond` in its last second, and the
   * account's quota counts both: so in its first second this one sends at most
   * `quota − perSecond` calls per operation, then `perSecond`. Any one-second
   * window then holds at most one step's pace plus that remainder, within the
   * quota (bench: the ACM peaks of 14–16/s at step boundaries came from
   * adjacent steps pacing at 8/s each). A window that already holds this
   * process's own recent calls keeps them.
   */
  handover(): void {
    const now = this.now();
    for (const [operation, limit] of Object.entries(this.options.perSecond)) {
      const quota = this.options.quota?.[operation] ?? limit;
      // The first second's share: quota − limit (at least 0), so `limit − share` places are taken.
      const taken = Math.max(0, Math.min(limit, limit - Math.max(0, quota - limit)));
      const window = (this.windows.get(operation) ?? []).filter((t) => now - t < 1000);
      for (let i = 0; i < taken; i++) window.push(now);
      window.sort((a, b) => a - b);
      this.windows.set(operation, window);
    }
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
 * Starts an invocation for every paced client of this process
 * ({@link RateLimiter.handover}); the Lambda entry calls it before the step.
 */
export function handoverPacing(): void {
  for (const limiter of handedOver) limiter.handover();
}

/**
 * ACM's per-second quotas (per account and region; ACM User Guide, "Quotas",
 * API rate quotas): what {@link ACM_RATES} paces within.
 */
export const ACM_QUOTAS: Readonly<Record<string, number>> = {
  RequestCertificateCommand: 5,
  DescribeCertificateCommand: 10,
  ListCertificatesCommand: 1,
  ListTagsForCertificateCommand: 10,
  AddTagsToCertificateCommand: 5,
  DeleteCertificateCommand: 10,
};

/** Route 53's API quota: 5 requests per second per account, all operations together. */
export const ROUTE53_QUOTAS: Readonly<Record<string, number>> = { Route53: 5 };

/**
 * What we allow ourselves against ACM's published rates (per account and
 * region), leaving room for other callers and for the jitter between sending
 * and arriving: 80 % of the 5/s quotas, 70 % of the 10/s ones, which one step
 * calls hundreds of times (measured at 8/s, one call in a second arrived late
 * and the next second's held 11 at the bench's proxy). ListCertificates' quota
 * is 1/s.
 */
export const ACM_RATES: Readonly<Record<string, number>> = {
  RequestCertificateCommand: 4,
  DescribeCertificateCommand: 7,
  ListCertificatesCommand: 1,
  ListTagsForCertificateCommand: 7,
  AddTagsToCertificateCommand: 4,
  DeleteCertificateCommand: 7,
};

/**
 * What we allow ourselves against Route 53's API quota: 5 requests per second
 * per account for all of the API together (Route 53 developer guide, "Quotas on
 * API requests"), so every operation draws from one budget, `Route53`, at 80 %.
 */
export const ROUTE53_RATES: Readonly<Record<string, number>> = {
  Route53: 4,
};

/** The smallest client surface {@link paceClient} needs (every SDK v3 client has it). */
export interface PaceableClient {
  middlewareStack: {
    add(
      middleware: (next: (args: never) => Promise<unknown>, context: { commandName?: string }) => (args: never) => Promise<unknown>,
      options: { step: 'finalizeRequest'; priority: 'low'; name: string },
    ): void;
  };
}

const pacedClients = new WeakSet<object>();

/**
 * Adds a pacing middleware to an SDK client once: right before each request
 * (every attempt) is sent, it waits for `limiter.take(commandName)`, each operation its own bucket
 * (ACM's per-operation quotas). The SDK's `commandName` (e.g.
 * `DescribeCertificateCommand`) survives minification. (Route 53's adapter
 * paces its own calls from one bucket instead: shared/aws/route53.ts.)
 *
 * The limiter is per process, so it paces one Lambda container; several
 * functions running at once can still exceed an account quota together, which
 * the state machine retries as `Throttled`.
 */
export function paceClient(client: PaceableClient, limiter: RateLimiter, name: string): void {
  if (pacedClients.has(client)) return;
  pacedClients.add(client);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      await limiter.take(String(context.commandName ?? ''));
      return next(args);
    },
    // Last before the HTTP handler (after the retry and signing middleware): the window counts a call when it
    // is sent, every attempt of it, so a stall between pacing and sending cannot bunch the calls up.
    { step: 'finalizeRequest', priority: 'low', name },
  );
}
