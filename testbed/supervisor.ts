/**
 * Runs a testbed in the foreground until SIGTERM/SIGINT, for humans
 * (`testbed/testbed.sh up` starts it detached). Writes a state file with the
 * env, URLs and secrets once ready, and removes it after stopping.
 *
 *   tsx testbed/supervisor.ts --state .testbed/state.json [--auth cognito|dex]
 *     [--domain platform.example.com] [--namespaces staging,prod] [--cluster kubeflow]
 *     [--region us-west-2] [--lb-delay-ms 1000] [--acm-wait 2] [--log-dir DIR]
 *     [--external-dns] [--external-dns-owner ID] [--token-issuer]
 */
import { chmodSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PACKAGED_TEMPLATE } from './iam/policies';
import { REPO_ROOT, startTestbed, type Testbed } from './testbed';

const { values } = parseArgs({
  options: {
    state: { type: 'string' },
    auth: { type: 'string', default: 'cognito' },
    domain: { type: 'string', default: 'platform.example.com' },
    namespaces: { type: 'string', default: 'staging,prod' },
    cluster: { type: 'string', default: 'kubeflow' },
    region: { type: 'string', default: 'us-west-2' },
    'lb-delay-ms': { type: 'string', default: '1000' },
    'acm-wait': { type: 'string', default: '2' },
    'log-dir': { type: 'string' },
    /** Run the real external-dns beside it (see testbed/external-dns.ts). */
    'external-dns': { type: 'boolean', default: false },
    'external-dns-owner': { type: 'string' },
    // Dex as a machine-token issuer (client_credentials); its client is in the state file.
    'token-issuer': { type: 'boolean', default: false },
  },
  strict: true,
});

if (!values.state) {
  console.error('supervisor: --state FILE is required');
  process.exit(2);
}
if (values.auth !== 'cognito' && values.auth !== 'dex') {
  console.error('supervisor: --auth must be cognito or dex');
  process.exit(2);
}
const stateFile = resolve(values.state);
mkdirSync(dirname(stateFile), { recursive: true });

function writeState(state: unknown): void {
  const tmp = `${stateFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, stateFile);
}

writeState({ status: 'starting', pid: process.pid, startedAt: new Date().toISOString() });

let tb: Testbed | undefined;
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`supervisor: ${signal}: stopping the testbed`);
  try {
    await tb?.stop();
    rmSync(stateFile, { force: true });
    console.log('supervisor: stopped');
    process.exit(0);
  } catch (err) {
    console.error(`supervisor: stop failed: ${(err as Error).message}`);
    process.exit(1);
  }
};
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGHUP', () => void shutdown('SIGHUP'));

try {
  tb = await startTestbed({
    authProvider: values.auth,
    domain: values.domain!,
    namespaces: values
      .namespaces!.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    clusterName: values.cluster!,
    region: values.region!,
    lbDelayMs: Number(values['lb-delay-ms']),
    acmValidationWaitSeconds: Number(values['acm-wait']),
    ...(values['log-dir'] ? { logDir: values['log-dir'] } : {}),
    ...(values['external-dns'] ? { externalDns: values['external-dns-owner'] ? { ownerId: values['external-dns-owner'] } : true } : {}),
    tokenIssuer: values['token-issuer'] ?? false,
    // This process handles the signals itself (and removes the state file).
    handleSignals: false,
    // IAM enforcement when there is a packaged template to enforce (a manual session may have none).
    iam: existsSync(join(REPO_ROOT, PACKAGED_TEMPLATE)),
  });
} catch (err) {
  console.error(`supervisor: ${(err as Error).message}`);
  writeState({ status: 'failed', pid: process.pid, error: (err as Error).message });
  process.exit(1);
}

writeState({
  status: 'ready',
  pid: process.pid,
  startedAt: new Date().toISOString(),
  options: tb.options,
  env: tb.env,
  logDir: tb.logDir,
  runDir: tb.runDir,
  urls: tb.urls,
  motoUrl: tb.motoUrl,
  hostedZoneId: tb.hostedZoneId,
  snsTopicArn: tb.snsTopicArn,
  dashboardHost: tb.dashboardHost,
  kubeconfigs: tb.kubeconfigs,
  hostMapFile: tb.lb.hostMapFile,
  listenersFile: tb.lb.listenersFile,
  secrets: tb.secrets,
  ...(tb.tokenIssuer ? { tokenIssuer: { canary: tb.tokenIssuer.client(), other: tb.tokenIssuer.client('other') } } : {}),
  timings: tb.timings,
});
console.log(`supervisor: testbed ready in ${tb.timings.total} ms (logs ${tb.logDir})`);
// Stay alive: the LB controller loop keeps the event loop busy; this makes it explicit.
setInterval(() => undefined, 60_000);
