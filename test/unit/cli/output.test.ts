/**
 * Which stream each command's output goes to: a plan's tables or JSON and a
 * provisioning run's summary or JSON on stdout; progress, including what a
 * Wait is waiting for, on stderr.
 */
import type { RunEvent } from '../../../local/events';
import { formatWait } from '../../../local/progress';
import type { RunResult } from '../../../local/run';
import type { CliIo } from '../../../cli/main';
import { printPlan, type PlanReport } from '../../../cli/plan';
import { printResult, progressPrinter } from '../../../cli/provision';

function capture(): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t), env: {} }, out, err };
}

const report: PlanReport = {
  certificates: [{ scope: 'staging', names: ['*.staging.example.com'], action: 'request' }],
  validationRecords: [],
  cluster: [],
  listener: [],
  loadBalancer: null,
  dns: [{ name: '*.staging.example.com', action: 'create', changes: 2 }],
};

describe('plan', () => {
  it('--json: the report as JSON on stdout, nothing on stderr', () => {
    const c = capture();
    expect(printPlan(report, { io: c.io, json: true })).toBe(0);
    expect(c.err).toEqual([]);
    expect(JSON.parse(c.out.join(''))).toEqual(report);
  });

  it('its tables are its result: stdout', () => {
    const c = capture();
    expect(printPlan(report, { io: c.io, json: false })).toBe(0);
    expect(c.err).toEqual([]);
    expect(c.out.join('')).toContain('*.staging.example.com');
    expect(c.out.join('')).toContain('Nothing was written.');
  });

  it('a refused plan exits 1', () => {
    const c = capture();
    expect(printPlan({ ...report, dns: { refused: 'not ours' } }, { io: c.io, json: false })).toBe(1);
    expect(c.out.join('')).toContain('REFUSED: not ours');
  });
});

const succeeded: RunResult = {
  status: 'SUCCEEDED',
  executionName: 'cli-1',
  output: { request: { domain: 'example.com', namespaces: ['staging'] } },
  states: [],
  events: [],
  durationMs: 65_000,
};

describe('provision', () => {
  it('the summary is the result: stdout, exit 0', () => {
    const c = capture();
    expect(printResult(succeeded, c.io, false)).toBe(0);
    expect(c.err).toEqual([]);
    expect(c.out.join('')).toContain('✔ provisioned example.com (staging) in 1m05s');
  });

  it('--json: the output on stdout', () => {
    const c = capture();
    expect(printResult(succeeded, c.io, true)).toBe(0);
    expect(JSON.parse(c.out.join(''))).toEqual(succeeded.output);
    expect(c.err).toEqual([]);
  });

  it('a failed run exits 1 with its error on stdout as the result', () => {
    const c = capture();
    const failed: RunResult = { ...succeeded, status: 'FAILED', output: undefined, error: { name: 'CertificateTimeout', cause: '' } };
    expect(printResult(failed, c.io, false)).toBe(1);
    expect(c.out.join('')).toContain('✖ FAILED in 1m05s: CertificateTimeout');
  });

  it('progress lines go to stderr only', () => {
    const c = capture();
    const print = progressPrinter(c.io);
    print({ type: 'ExecutionStarted', at: 0, executionName: 'cli-1', input: {} });
    print({ type: 'StateEntered', at: 1, state: 'CheckCertificates', stateType: 'Task', input: {} });
    print({ type: 'StateSucceeded', at: 1201, state: 'CheckCertificates', stateType: 'Task', durationMs: 1200, output: {} });
    expect(c.out).toEqual([]);
    expect(c.err).toEqual(['▶ execution cli-1\n', '▶ CheckCertificates\n', '✔ CheckCertificates 1.2s\n']);
  });

  it('a Wait says what it waits for and for how long, counted from its first entry, the next check scaled', () => {
    const c = capture();
    const print = progressPrinter(c.io, 0.5);
    const input = {
      certificatePoll: {
        statuses: [
          { arn: 'a', status: 'PENDING_VALIDATION' },
          { arn: 'b', status: 'ISSUED' },
          { arn: 'c', status: 'PENDING_VALIDATION' },
        ],
      },
    };
    const wait = (at: number, waitSeconds: number): RunEvent => ({
      type: 'StateEntered',
      at,
      state: 'WaitForCertificates',
      stateType: 'Wait',
      input,
      waitSeconds,
    });
    print(wait(10_000, 20));
    print(wait(200_000, 60));
    expect(c.out).toEqual([]);
    expect(c.err).toEqual([
      '⏸ waiting for ACM to issue 2 certificates (next check in 10.0s)\n',
      '⏸ waiting for ACM to issue 2 certificates (3m10s elapsed, next check in 30.0s)\n',
    ]);
  });
});

describe('formatWait', () => {
  it.each([
    ['WaitForCertificates', { certificatePoll: { statuses: [{ status: 'PENDING_VALIDATION' }] } }, 'ACM to issue 1 certificate'],
    ['WaitForCertificates', {}, 'ACM to issue the certificates'],
    ['WaitForLoadBalancer', {}, 'the ALB to get an address'],
    ['WaitForDnsChange', {}, 'Route 53 to apply the DNS change'],
    ['WaitForCanary', { request: { namespaces: ['a', 'b'] } }, 'the inference endpoints to answer over HTTPS (2 namespaces)'],
    ['SomeOtherWait', {}, 'SomeOtherWait'],
  ])('%s %j: waiting for %s', (state, input, what) => {
    expect(formatWait(state, input, 125_000, 30)).toBe(`⏸ waiting for ${what} (2m05s elapsed, next check in 30.0s)`);
  });

  it('without elapsed time or next check: what is awaited only', () => {
    expect(formatWait('WaitForLoadBalancer', {}, 0)).toBe('⏸ waiting for the ALB to get an address');
  });
});
