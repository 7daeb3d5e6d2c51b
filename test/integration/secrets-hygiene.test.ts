/**
 * Secrets hygiene: run the whole workflow, a canary round and a failing run
 * with recognisable secret values, capture everything a user or an operator
 * could see, and look for the values:
 *
 * - every log line (stdout and stderr, and console) of every handler;
 * - every step input and output and every execution event (the runner's
 *   `events`: what Step Functions keeps in the execution history);
 * - the run's output and error, and the failure NotifyFailure publishes.
 *
 * Every Task runs its packaged function in a fresh process (a cold start per
 * invocation), so each handler call starts with an empty redaction registry:
 * redaction must not depend on another step, or an earlier invocation,
 * having registered the secret in the same process.
 *
 * The header tokens must appear in exactly one place: the ALB conditions
 * annotation of the Ingress, which has to carry them (positive control).
 */
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'node:fs';
import { loadDefinition } from '../../local/definition';
import { runStateMachine, type RunResult } from '../../local/run';
import { startTestbed, type Testbed } from '../../testbed/testbed';
import { lambdasFor } from './lambdas';
import { failureOf, writeFigures } from './reliability';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
/** Recognisable, and strong enough for the token rules. */
const TOKENS = ['SeKrEtToKeN-one-7Hq2Lm9Xv4Bz8Wc', 'SeKrEtToKeN-two-3Jd6Pf1Ny5Rg0Ks'];
const SECRET_ID = 'kserve-edge/hygiene-tokens';

/** Captures everything written to stdout, stderr and the console while `fn` runs (the workers' output is forwarded to this process's). */
async function capture<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const consoleMethods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = consoleMethods.map((m) => console[m]);
  const sink = (chunk: unknown): boolean => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  process.stdout.write = sink as typeof process.stdout.write;
  process.stderr.write = sink as typeof process.stderr.write;
  for (const m of consoleMethods) console[m] = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
  try {
    return { value: await fn(), lines };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    consoleMethods.forEach((m, i) => (console[m] = saved[i]!));
  }
}

describe('secrets hygiene: no secret value in logs, step outputs, execution events or errors', () => {
  let tb: Testbed;
  let secrets: string[];
  const scanned = { logLines: 0, events: 0, runs: 0, hits: 0 };

  /** Every secret and its base64 form, so an encoded leak is found too. */
  const needles = (): string[] => secrets.flatMap((s) => [s, Buffer.from(s).toString('base64')]);
  const leaks = (haystack: string): string[] => needles().filter((n) => haystack.includes(n));

  const request = (extra: Record<string, unknown> = {}) => ({
    domain: DOMAIN,
    cluster: { name: 'kubeflow', region: REGION },
    namespaces: ['team-a'],
    auth: { provider: 'cognito', headerValuesSecretId: SECRET_ID },
    canary: { expected: { outputName: 'predict', data: [1, 1] } },
    ...extra,
  });

  const runCaptured = async (input: unknown, name: string): Promise<{ result: RunResult; lines: string[] }> => {
    // Cold every time: a fresh Lambda container per invocation, so nothing registered earlier helps redaction.
    const handlers = lambdasFor({ ...tb.env, LOG_LEVEL: 'debug' }, { warm: false }).taskHandlers();
    const { value, lines } = await capture(() =>
      runStateMachine({ definition: loadDefinition(), handlers, input, executionName: name, waitSeconds: 0.1, retryIntervalMs: 200 }),
    );
    return { result: value, lines };
  };

  const scan = (what: string, text: string) => {
    const found = leaks(text);
    scanned.hits += found.length;
    expect([what, found]).toEqual([what, []]);
  };

  beforeAll(async () => {
    tb = await startTestbed({ authProvider: 'cognito', domain: DOMAIN, namespaces: ['team-a'], clusterName: 'kubeflow', region: REGION });
    await tb.aws.secretsManager.send(new CreateSecretCommand({ Name: SECRET_ID, SecretString: JSON.stringify({ headerValues: TOKENS }) }));
    const clusterToken = readFileSync(tb.env.KSERVE_EDGE_CLUSTER_TOKEN_FILE!, 'utf8').trim();
    secrets = [...TOKENS, clusterToken, tb.secrets.apiTokens[0]!, tb.secrets.dexLogin.password];
  }, 240_000);

  afterAll(async () => {
    writeFigures('secrets-hygiene', { secretsTracked: secrets?.length ?? 0, ...scanned });
    await tb?.stop();
  }, 60_000);

  it('a whole successful run: logs, events, output', async () => {
    const { result, lines } = await runCaptured(request(), 'hygiene-ok');
    if (result.status !== 'SUCCEEDED') throw new Error(`run failed: ${JSON.stringify(failureOf(result))}`);
    expect(lines.length).toBeGreaterThan(10); // debug logging really was captured
    scanned.runs += 1;
    scanned.logLines += lines.length;
    scanned.events += result.events.length;
    scan('log lines', lines.join('\n'));
    scan('execution events (step inputs and outputs)', JSON.stringify(result.events));
    scan('output', JSON.stringify(result.output));

    // Positive control: the tokens were used, and live where the ALB needs them.
    const ingress = await tb.kubeAdmin().get('networking.k8s.io/v1', 'Ingress', 'istio-system', 'istio-ingress-api');
    const conditions = ingress?.metadata.annotations?.['alb.ingress.kubernetes.io/conditions.istio-ingressgateway'] ?? '';
    for (const t of TOKENS) expect(conditions).toContain(t);
  }, 180_000);

  it('a canary round on its own', async () => {
    const lambdas = lambdasFor({ ...tb.env, LOG_LEVEL: 'debug' }, { warm: false });
    const validated = { ...request(), hostedZoneId: tb.hostedZoneId };
    const { value, lines } = await capture(() => lambdas.invoke('runCanary', { request: validated }));
    expect(value).toMatchObject({ ok: true });
    scanned.logLines += lines.length;
    scan('canary log lines', lines.join('\n'));
    scan('canary output', JSON.stringify(value));
  }, 60_000);

  it('a failing run (wrong prediction): error message, NotifyFailure input and published summary', async () => {
    const { result, lines } = await runCaptured(request({ canary: { expected: { outputName: 'predict', data: [2, 2] } } }), 'hygiene-fail');
    expect(failureOf(result)).toMatchObject({ failState: 'CanaryFailed' });
    scanned.runs += 1;
    scanned.logLines += lines.length;
    scanned.events += result.events.length;
    expect(lines.some((l) => l.includes('provisioning failed'))).toBe(true); // the summary SNS gets is logged too
    scan('log lines', lines.join('\n'));
    scan('execution events', JSON.stringify(result.events));
    scan('error', JSON.stringify(result.error) + failureOf(result).message);
  }, 180_000);

  it('a run whose secret holds a weak token among good ones: InvalidSecret names the position, never a value', async () => {
    const weak = { headerValues: [TOKENS[0], 'token1'] };
    await tb.aws.secretsManager.send(new CreateSecretCommand({ Name: `${SECRET_ID}-weak`, SecretString: JSON.stringify(weak) }));
    const { result, lines } = await runCaptured(
      request({ auth: { provider: 'cognito', headerValuesSecretId: `${SECRET_ID}-weak` } }),
      'hygiene-weak',
    );
    expect(failureOf(result)).toMatchObject({ failState: 'InvalidSecret' });
    expect(failureOf(result).message).toContain('headerValues[1]');
    scanned.runs += 1;
    scanned.logLines += lines.length;
    const all = lines.join('\n') + JSON.stringify(result.events);
    scan('weak-secret run', all);
    expect(all).not.toContain('token1');
  }, 60_000);
});
