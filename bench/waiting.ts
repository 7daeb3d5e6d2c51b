/**
 * Waiting: the production polling schedule (`nextPollDelay` of
 * shared/plan/polling.ts, the very function the check steps call) replayed
 * against a validation that completes after T seconds. Pure computation.
 *
 * Per loop iteration the ASL runs Check (Task) → Choice → Wait. Step Functions
 * history events: a Lambda Task state writes TaskStateEntered,
 * LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded,
 * TaskStateExited (5); a Choice or Wait state writes Entered + Exited (2 each).
 * So one iteration = 3 state transitions and 9 events; the last check (ready)
 * is Task + Choice = 2 transitions, 7 events.
 */
import { nextPollDelay } from '../shared/plan/polling';
import { DEFAULT_CANARY_SECONDS, MAX_CANARY_SECONDS } from '../shared/request';
import { table } from './lib';

export const HISTORY_LIMIT = 25_000;
export const EVENTS = { Task: 5, Choice: 2, Wait: 2, Succeed: 2, Fail: 2, Pass: 2 } as const;

export interface LoopCost {
  label: string;
  readySeconds: number;
  deadlineSeconds: number;
  /** Checks until one sees it ready (or the deadline passes). */
  checks: number;
  /** Seconds between "ready" and the check that sees it. */
  lagSeconds: number;
  /** Worst case for anything becoming ready during the interval that contains T: the interval's length. */
  worstLagSeconds: number;
  transitions: number;
  events: number;
  timedOut: boolean;
}

/** Check times, from elapsed 0, as the state machine makes them (Lambda run time ignored). */
export function checkTimes(deadlineSeconds: number, until: number): number[] {
  const times = [0];
  let t = 0;
  while (t < until && t <= deadlineSeconds) {
    t += nextPollDelay(t, deadlineSeconds);
    times.push(t);
  }
  return times;
}

export function loopCost(label: string, readySeconds: number, deadlineSeconds: number): LoopCost {
  const times = checkTimes(deadlineSeconds, readySeconds);
  const seenAt = times.find((t) => t >= readySeconds && t <= deadlineSeconds);
  const timedOut = seenAt === undefined;
  const checks = timedOut ? times.length : times.indexOf(seenAt) + 1;
  const last = times[checks - 1]!;
  const prev = checks >= 2 ? times[checks - 2]! : 0;
  const waits = checks - 1;
  return {
    label,
    readySeconds,
    deadlineSeconds,
    checks,
    lagSeconds: timedOut ? Number.NaN : last - readySeconds,
    worstLagSeconds: last - prev,
    transitions: checks * 2 + waits,
    events: checks * (EVENTS.Task + EVENTS.Choice) + waits * EVENTS.Wait,
    timedOut,
  };
}

export interface WaitingSection {
  certificate: LoopCost[];
  loadBalancer: LoopCost[];
  dns: LoopCost[];
  /** RunCanary ⟲ WaitForCanary: the first green canary after provisioning (deadline counted from the first attempt). */
  canary: LoopCost[];
  /** Every loop at the longest deadline the request schema allows, nothing ever ready: the most history one run can write. */
  worstCase: { deadlines: Record<string, number>; events: number };
}

/** The longest deadlines `shared/request.ts` accepts. */
export const MAX_DEADLINES = {
  certificateSeconds: 72 * 3600,
  loadBalancerSeconds: 24 * 3600,
  dnsSeconds: 24 * 3600,
  canarySeconds: MAX_CANARY_SECONDS,
};

export function benchWaiting(
  deadlines = { certificateSeconds: 259_200, loadBalancerSeconds: 1_800, dnsSeconds: 900, canarySeconds: DEFAULT_CANARY_SECONDS },
): WaitingSection {
  const never = 10 ** 9;
  const worstLoops = [
    loopCost('certificates', never, MAX_DEADLINES.certificateSeconds),
    loopCost('load balancer', never, MAX_DEADLINES.loadBalancerSeconds),
    loopCost('dns', never, MAX_DEADLINES.dnsSeconds),
    loopCost('canary', never, MAX_DEADLINES.canarySeconds),
  ];
  return {
    certificate: [
      loopCost('issued after 2 min', 120, deadlines.certificateSeconds),
      loopCost('issued after 5 min', 300, deadlines.certificateSeconds),
      loopCost('issued after 30 min', 1_800, deadlines.certificateSeconds),
      loopCost('issued after 72 h (the deadline)', 259_200, deadlines.certificateSeconds),
      loopCost('never issued → CertificateTimeout', 10 ** 9, deadlines.certificateSeconds),
    ],
    loadBalancer: [
      loopCost('address after 1 min', 60, deadlines.loadBalancerSeconds),
      loopCost('address after 3 min', 180, deadlines.loadBalancerSeconds),
      loopCost('address after 10 min', 600, deadlines.loadBalancerSeconds),
    ],
    dns: [loopCost('INSYNC after 30 s', 30, deadlines.dnsSeconds), loopCost('INSYNC after 60 s', 60, deadlines.dnsSeconds)],
    canary: [
      loopCost('green at the first attempt', 0, deadlines.canarySeconds),
      loopCost('ALB name resolves after 2 min', 120, deadlines.canarySeconds),
      loopCost('ALB name resolves after 10 min', 600, deadlines.canarySeconds),
      loopCost('never green → CanaryFailed (15 min)', never, deadlines.canarySeconds),
      loopCost('never green → CanaryFailed (1 h, the longest deadline)', never, MAX_DEADLINES.canarySeconds),
    ],
    // Each loop's last check fails (Task only), so the run ends in NotifyFailure; its own events are in fixedEvents.
    worstCase: { deadlines: MAX_DEADLINES, events: worstLoops.reduce((n, c) => n + c.events, 0) },
  };
}

const dur = (s: number): string => {
  if (!Number.isFinite(s)) return '—';
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
};

export function waitingMarkdown(w: WaitingSection, fixedEvents: number): string {
  const rows = (list: LoopCost[]) =>
    list.map((c) => [
      c.label,
      c.checks,
      c.timedOut ? 'times out' : dur(c.lagSeconds),
      dur(c.worstLagSeconds),
      c.transitions,
      c.events,
      `${c.events + fixedEvents} (${((100 * (c.events + fixedEvents)) / HISTORY_LIMIT).toFixed(1)} %)`,
    ]);
  const header = [
    'case',
    'checks',
    'lag for exactly this T',
    'worst lag near T',
    'transitions in the loop',
    'history events in the loop',
    'whole execution (of 25,000)',
  ];
  return [
    '**Certificates** (`CheckCertificates` ⟲ `WaitForCertificates`, deadline 72 h):',
    '',
    table(header, rows(w.certificate), ['l', 'r', 'r', 'r', 'r', 'r', 'r']),
    '',
    '**Load balancer address** (`GetLoadBalancerAddress` ⟲ `WaitForLoadBalancer`, deadline 30 min):',
    '',
    table(header, rows(w.loadBalancer), ['l', 'r', 'r', 'r', 'r', 'r', 'r']),
    '',
    '**Route 53 change** (`CheckDnsChange` ⟲ `WaitForDnsChange`, deadline 15 min):',
    '',
    table(header, rows(w.dns), ['l', 'r', 'r', 'r', 'r', 'r', 'r']),
    '',
    '**First green canary** (`RunCanary` ⟲ `WaitForCanary`, deadline `deadlines.canarySeconds`, 15 min by default, at most 1 h, counted from the first attempt):',
    '',
    table(header, rows(w.canary), ['l', 'r', 'r', 'r', 'r', 'r', 'r']),
    '',
    `Worst case, every loop running to the longest deadline the request allows (certificates 72 h, load balancer 24 h, DNS 24 h, canary 1 h; ` +
      `in a real run only the last can time out, so this bounds it from above): ` +
      `${w.worstCase.events} events in the loops, ${w.worstCase.events + fixedEvents} with the rest ` +
      `(${((100 * (w.worstCase.events + fixedEvents)) / HISTORY_LIMIT).toFixed(1)} % of 25,000). ` +
      'The canary loop adds at most 29 checks (1 h) to a run.',
    '',
    `"Whole execution" adds the ${fixedEvents} events of everything outside that loop in the measured one-namespace run ` +
      '(the other loops at one check each, ExecutionStarted/Succeeded included). "Worst lag near T" is the length of the ' +
      'wait that contains T: what a completion just after a check costs. The schedule is wait = clamp(elapsed / 4, 5 s, 600 s), ' +
      'so the lag is at most a quarter of the time already waited and never more than 10 minutes.',
  ].join('\n');
}
