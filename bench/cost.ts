/**
 * Cost, from the measured runs and the pricing in
 * the AWS list prices for us-east-1 (Lambda, Step Functions standard workflows,
 * CloudWatch metrics and alarms, CloudWatch Synthetics canary runs; no free tier).
 */
import type { OrchestrationRun } from './orchestration';
import { table, usd } from './lib';

export const PRICES = {
  /** Step Functions Standard, per state transition. */
  transition: 0.025 / 1000,
  /** Lambda, per GB-second (the anchors' x86 figure; arm64 is 20 % lower). */
  gbSecond: 0.0000166667,
  /** Lambda, per request. */
  request: 0.2 / 1_000_000,
  /** CloudWatch Synthetics, per canary run. */
  syntheticsRun: 0.0012,
} as const;

/** Canary rounds a month at a 5-minute schedule (30 days). */
export const ROUNDS_PER_MONTH = (30 * 24 * 60) / 5;
export const MULTI_CHECKS_PER_RUN = 10;

export interface CostRow {
  namespaces: number;
  measured: boolean;
  canaryMs: number;
  gbSeconds: number;
  lambdaMonthly: number;
  syntheticsPerEndpoint: number;
  syntheticsMulti: number;
}

/**
 * RunCanary's measured duration per namespace count; sizes that were not run
 * (50: beyond one request's 24) are extrapolated linearly from the largest two.
 */
export function canaryCost(runs: OrchestrationRun[], memoryMb: number, sizes = [1, 10, 50]): CostRow[] {
  const points = runs
    .filter((r) => r.status === 'SUCCEEDED' && r.taskMs.RunCanary !== undefined)
    .map((r) => ({ n: r.namespaces, ms: r.taskMs.RunCanary! }))
    .sort((a, b) => a.n - b.n);
  const at = (n: number): { ms: number; measured: boolean } => {
    const exact = points.find((p) => p.n === n);
    if (exact) return { ms: exact.ms, measured: true };
    const [a, b] = points.slice(-2);
    if (!a || !b || a.n === b.n) return { ms: points[0]?.ms ?? 0, measured: false };
    return { ms: Math.max(a.ms, a.ms + ((b.ms - a.ms) / (b.n - a.n)) * (n - a.n)), measured: false };
  };
  return sizes.map((n) => {
    const { ms, measured } = at(n);
    const gbSeconds = (memoryMb / 1024) * (Math.ceil(ms) / 1000);
    return {
      namespaces: n,
      measured,
      canaryMs: ms,
      gbSeconds,
      lambdaMonthly: ROUNDS_PER_MONTH * (gbSeconds * PRICES.gbSecond + PRICES.request),
      syntheticsPerEndpoint: n * ROUNDS_PER_MONTH * PRICES.syntheticsRun,
      syntheticsMulti: Math.ceil(n / MULTI_CHECKS_PER_RUN) * ROUNDS_PER_MONTH * PRICES.syntheticsRun,
    };
  });
}

export function costMarkdown(rows: CostRow[], memoryMb: number, provisioning: Array<{ label: string; transitions: number }>): string {
  return [
    table(
      ['provisioning run', 'state transitions', 'Step Functions cost'],
      provisioning.map((p) => [p.label, p.transitions, usd(p.transitions * PRICES.transition)]),
      ['l', 'r', 'r'],
    ),
    '',
    `Canary every 5 minutes (${ROUNDS_PER_MONTH} rounds a month), one RunCanary invocation per round probing every namespace in parallel, ` +
      `${memoryMb} MB (serverless.yml), billed duration = measured duration rounded up to 1 ms:`,
    '',
    table(
      [
        'namespaces',
        'RunCanary duration',
        'GB-s per round',
        'Lambda per month',
        'Synthetics, one canary per endpoint',
        `Synthetics, multi-check (${MULTI_CHECKS_PER_RUN} per run)`,
        'Synthetics ÷ Lambda (multi-check)',
      ],
      rows.map((r) => [
        r.namespaces,
        `${r.canaryMs.toFixed(0)} ms${r.measured ? '' : ' (extrapolated)'}`,
        r.gbSeconds.toFixed(4),
        usd(r.lambdaMonthly),
        usd(r.syntheticsPerEndpoint),
        usd(r.syntheticsMulti),
        `×${(r.syntheticsMulti / r.lambdaMonthly).toFixed(0)}`,
      ]),
    ),
    '',
    'Lambda = GB-s × $0.0000166667 + $0.20 per million requests; Synthetics = $0.0012 per canary run, its own Lambda, S3 and log ' +
      'charges not included (which favours Synthetics). Free tiers are left out of both (Lambda: 400,000 GB-s and 1 M requests a month, ' +
      'which cover this canary entirely; Synthetics: 100 runs a month). CloudWatch alarms and metrics cost the same on both sides and are left out.',
  ].join('\n');
}
