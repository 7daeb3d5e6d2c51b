/**
 * The local testbed: real programs on 127.0.0.1 standing in for AWS and the
 * cluster, started and stopped as one unit.
 *
 * | stands in for                          | program                                   |
 * |----------------------------------------|-------------------------------------------|
 * | ACM, Route 53, EKS, Secrets Mgr, SNS…  | moto server                               |
 * | EKS control plane                      | etcd + kube-apiserver (RBAC, static tokens)|
 * | AWS Load Balancer Controller           | the real one (default), or the stand-in   |
 * |                                        | {@link LbController} (`lbController: 'stand-in'`) |
 * | the ALBs, Istio ingress gateway        | nginx                                     |
 * | KServe sklearn v2 predictor            | MLServer + mlserver-sklearn               |
 * | Kubeflow login (Dex variant)           | Dex + oauth2-proxy                        |
 * | another writer in the zone (on request)| external-dns (`externalDns` option)       |
 *
 * Needs `scripts/setup-testbed.sh` to have run (it writes
 * `${KSERVE_EDGE_CACHE}/testbed.env` with the program paths).
 *
 * @example
 *   const tb = await startTestbed({ authProvider: 'cognito', domain: 'platform.example.com',
 *     namespaces: ['staging'], clusterName: 'kubeflow', region: 'us-west-2' });
 *   try { await runWorkflow({ env: tb.env }); } finally { await tb.stop(); }
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  API_TOKENS_SECRET_ID,
  type AwsClients,
  awsClients,
  bcryptHash,
  DEX_LOGIN_SECRET_ID,
  DEX_USERNAME,
  randomToken,
  seedAws,
  startMoto,
  upsertCname,
} from './aws';
import { bootstrapCluster, MODEL_NAME, startControlPlane, WORKFLOW_GROUP, WORKFLOW_USER } from './cluster';
import { type RunningLbc, startAwsLbController } from './aws-lb-controller';
import { type DexStack, OAUTH2_PROXY_COOKIE, startDexStack } from './dex';
import { type ExternalDns, type ExternalDnsOptions, startExternalDns } from './external-dns';
import { FaultProxy, type FaultRule } from './fault-proxy';
import { IamEnforcer, motoLookups } from './iam/enforcer';
import { PACKAGED_TEMPLATE, readTemplate } from './iam/policies';
import { LOCAL_ACCOUNT_ID, LOCAL_STATE_MACHINE_NAME } from '../local/definition';
import { type AlbInfo, LbController } from './lb-controller';
import { KubeClient, type KubeConnection } from './lib/kube';
import { freePort, httpRequest, LOOPBACK, waitFor } from './lib/net';
import { Pki } from './lib/pki';
import { isAlive, type ManagedProcess, ProcessSupervisor, reapStaleRuns } from './lib/proc';
import { NginxServer } from './nginx';
import { TokenIssuer } from './token-issuer';

export { MODEL_NAME, OAUTH2_PROXY_COOKIE, WORKFLOW_GROUP, WORKFLOW_USER };
export type { AlbInfo, KubeConnection };
export { KubeClient };

/** Repository root (this file is `<repo>/testbed/testbed.ts`). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface TestbedOptions {
  authProvider: 'cognito' | 'dex';
  /** Base domain, e.g. `platform.example.com`: a public hosted zone is created for it. */
  domain: string;
  /** Kubeflow profile namespaces (each gets the `sklearn-irisv2` InferenceService). */
  namespaces: string[];
  /** EKS cluster registered in moto. */
  clusterName: string;
  region: string;
  /** Delay before the LB controller publishes an ALB address (default 1000 ms). */
  lbDelayMs?: number;
  /** `MOTO_ACM_VALIDATION_WAIT`: seconds until a requested certificate is ISSUED (default 2). */
  acmValidationWaitSeconds?: number;
  /** Where every program logs (default `<repo>/.testbed/logs/<timestamp>`). */
  logDir?: string;
  /** Fault knob: the LB controller never publishes an address. */
  neverAssignAddress?: boolean;
  /** The workflow's RBAC (default `<repo>/deploy/rbac.yaml`, applied when present). */
  rbacFile?: string;
  /** End the children on SIGINT/SIGTERM of this process (default true). */
  handleSignals?: boolean;
  /**
   * Which load-balancer controller reconciles Ingresses of class `alb`:
   * `real` (default: the AWS Load Balancer Controller built by
   * build-binaries.sh, against moto's ELBv2 behind the AWS proxy; nginx
   * renders what it built) or `stand-in` (`lb-controller.ts` reads the
   * annotations; only for the tests of the stand-in itself).
   * Default: `KSERVE_EDGE_LB_CONTROLLER` when set, else `real`.
   */
  lbController?: 'real' | 'stand-in';
  /**
   * IAM as AWS enforces it (default true): `env.AWS_ENDPOINT_URL` is a proxy
   * that evaluates every call a packaged function signs with its own key
   * against that function's role in the packaged template (`npm run package`),
   * see {@link Testbed.iam}. `false` only for a testbed without a package
   * (manual use); no end-to-end suite turns it off.
   */
  iam?: boolean;
  /**
   * The account's ELBv2 quota `certificates-per-application-load-balancer`
   * (default 25, AWS's default): what the AWS proxy enforces
   * (TooManyCertificates) and reports (DescribeAccountLimits) with the real
   * controller. Lower it to need ALB shards with few namespaces.
   */
  albCertificateQuota?: number;
  /**
   * KServe's default deployment mode in `inferenceservice-config` (default
   * `Serverless`, the old name of Knative mode; `Standard`/`RawDeployment`
   * for Standard mode). An InferenceService's `serving.kserve.io/deploymentMode`
   * annotation overrides it, as in KServe.
   */
  kserveDefaultMode?: string;
  /**
   * Run the real external-dns (built by build-binaries.sh) beside the product:
   * TXT registry, its own owner id, `--policy=sync` by default, sources
   * `service` and `ingress`, domain filter = `domain`, against this
   * kube-apiserver and moto's Route 53 through the AWS proxy (see
   * `external-dns.ts`). `true` takes the defaults. Default: not started.
   */
  externalDns?: boolean | ExternalDnsOptions;
  /**
   * Start a machine-token issuer (default false): Dex with the OAuth2
   * `client_credentials` grant over HTTPS (testbed CA), see
   * {@link Testbed.tokenIssuer} and `token-issuer.ts`. In either auth variant.
   */
  tokenIssuer?: boolean;
}

/** Names of the secrets the testbed seeds in Secrets Manager, and their values. */
export interface TestbedSecrets {
  apiTokensSecretId: string;
  /** The Cognito variant's header values (`{"headerValues": [...]}`). */
  apiTokens: string[];
  dexLoginSecretId: string;
  dexLogin: { username: string; password: string };
}

export interface Testbed {
  readonly options: Readonly<Required<Omit<TestbedOptions, 'logDir' | 'rbacFile' | 'externalDns'>>> & {
    rbacFile: string;
    externalDns?: ExternalDnsOptions;
  };
  /** Everything the product needs to run against the testbed (see {@link TESTBED_ENV_KEYS}). */
  readonly env: Record<string, string>;
  /** system:masters. */
  readonly admin: KubeConnection;
  /** User `kserve-edge-workflow`, group `kserve-edge:workflow`: what the product runs as. */
  readonly workflow: KubeConnection;
  readonly motoUrl: string;
  /** PEM of the CA that signs the fake ALB's certificates. */
  readonly caPem: string;
  readonly caFile: string;
  /** PEM of the cluster CA (kube-apiserver). */
  readonly clusterCaPem: string;
  readonly logDir: string;
  readonly runDir: string;
  readonly hostedZoneId: string;
  readonly snsTopicArn: string;
  readonly secrets: TestbedSecrets;
  /** `kubeflow.<domain>`: where the Dex login starts. */
  readonly dashboardHost: string;
  readonly kubeconfigs: { admin: string; workflow: string };
  readonly urls: { mlserver: string; gateway: string; dex?: string; oauth2Proxy?: string };
  /** Milliseconds per start-up phase, and `total`. */
  readonly timings: Record<string, number>;
  /** Admin Kubernetes client (shared; closed by stop()). */
  kubeAdmin(): KubeClient;
  /** Kubernetes client as the workflow user (shared; closed by stop()). */
  kubeWorkflow(): KubeClient;
  /** SDK v3 clients pointed at moto (shared; destroyed by stop()). */
  readonly aws: AwsClients;
  /**
   * The IAM enforcer behind `env.AWS_ENDPOINT_URL` (undefined with `iam: false`):
   * the functions' roles from the packaged template, for this testbed's
   * account, region, hosted zone, topic and state machines. A suite that starts
   * its own AWS proxy passes it on (`FaultProxy.start(tb.motoUrl, { iam: tb.iam })`)
   * so no function's call bypasses it. The testbed's own `testing` key, the
   * load-balancer controller's and the tests' direct reads are not a
   * function's: they pass unevaluated.
   */
  readonly iam?: IamEnforcer;
  /**
   * With `tokenIssuer: true`: the machine-token issuer (Dex, client_credentials).
   * `client()` → `{ tokenEndpoint, clientId, clientSecret, issuer, jwksUri }`;
   * `mintToken()`, `mintExpiredToken()`, `mintForeignToken()` get real tokens.
   * Its certificate is from the testbed CA ({@link Testbed.caPem}).
   */
  readonly tokenIssuer?: TokenIssuer;
  readonly lb: {
    /** Which controller runs (see {@link TestbedOptions.lbController}). */
    readonly controller: 'real' | 'stand-in';
    /**
     * `real` only: the AWS proxy in front of moto the controller (and, through
     * `env.AWS_ENDPOINT_URL`, the product) talks to, with ELBv2 corrected
     * (`elbv2-fidelity.ts`); `failCertificates` etc. apply to both.
     */
    readonly awsProxy?: FaultProxy;
    /** `real` only: the controller's process, ports and the VPC it was given. */
    readonly real?: { pid: number; logFile: string; healthUrl: string; metricsUrl: string; webhookPort: number; vpcId: string };
    readonly hostMapFile: string;
    readonly listenersFile: string;
    albs(): AlbInfo[];
    /** Waits until the Ingress's ALB has a published address (and a deployed listener). */
    waitForAlb(namespace: string, name: string, timeoutMs?: number): Promise<AlbInfo>;
    setOptions(options: { lbDelayMs?: number; neverAssignAddress?: boolean }): void;
    /** Runs a reconcile pass now and waits for it (nginx reloaded if needed). */
    reconcileNow(): Promise<void>;
  };
  /**
   * Fault knob: stop kube-apiserver (connections are refused) and start it
   * again with the same flags, port and etcd data; `start` resolves once it is ready.
   */
  readonly apiserver: { stop(): Promise<void>; start(): Promise<void> };
  /** The running external-dns, with `externalDns` set (see {@link TestbedOptions.externalDns}). */
  readonly externalDns?: ExternalDns;
  /** Live processes (group leaders and their group members) the testbed started. */
  pids(): number[];
  /** Ends every child process and removes the run directory. Idempotent. */
  stop(): Promise<void>;
}

/** Keys of {@link Testbed.env}. */
export const TESTBED_ENV_KEYS = [
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_EC2_METADATA_DISABLED',
  'KSERVE_EDGE_CLUSTER_ENDPOINT',
  'KSERVE_EDGE_CLUSTER_CA_FILE',
  'KSERVE_EDGE_CLUSTER_TOKEN_FILE',
  'KSERVE_EDGE_DNS_MODE',
  'KSERVE_EDGE_HOST_MAP_FILE',
  'KSERVE_EDGE_EXTRA_CA_FILE',
  'KSERVE_EDGE_SNS_TOPIC_ARN',
  'KSERVE_EDGE_HOSTED_ZONE_ID',
] as const;

interface ToolPaths {
  motoServer: string;
  mlserver: string;
  python: string;
  modelDir: string;
  nginx: string;
  openssl: string;
  etcd: string;
  kubeApiserver: string;
  dex: string;
  oauth2Proxy: string;
  /** Only needed with `lbController: 'real'`. */
  awsLbController?: string;
  awsLbControllerConfig?: string;
  /** Only needed with the `externalDns` option. */
  externalDns?: string;
}

export function cacheDir(): string {
  return process.env.KSERVE_EDGE_CACHE ?? join(os.homedir(), '.cache', 'kserve-edge');
}

/** Program paths from `<cache>/testbed.env` (written by scripts/setup-testbed.sh). */
export function readToolPaths(): ToolPaths {
  const file = join(cacheDir(), 'testbed.env');
  if (!existsSync(file)) throw new Error(`${file} not found: run scripts/setup-testbed.sh first`);
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  const need = (key: string): string => {
    const v = env[key];
    if (!v) throw new Error(`${file} has no ${key}: run scripts/setup-testbed.sh (without --no-binaries)`);
    if (!existsSync(v)) throw new Error(`${key}=${v} from ${file} does not exist: run scripts/setup-testbed.sh`);
    return v;
  };
  return {
    motoServer: need('MOTO_SERVER'),
    mlserver: need('MLSERVER'),
    python: need('PYTHON'),
    modelDir: need('MODEL_DIR'),
    nginx: need('NGINX'),
    openssl: need('OPENSSL'),
    etcd: need('ETCD'),
    kubeApiserver: need('KUBE_APISERVER'),
    dex: need('DEX'),
    oauth2Proxy: need('OAUTH2_PROXY'),
    ...(env.AWS_LOAD_BALANCER_CONTROLLER && existsSync(env.AWS_LOAD_BALANCER_CONTROLLER)
      ? { awsLbController: env.AWS_LOAD_BALANCER_CONTROLLER }
      : {}),
    ...(env.AWS_LOAD_BALANCER_CONTROLLER_CONFIG && existsSync(env.AWS_LOAD_BALANCER_CONTROLLER_CONFIG)
      ? { awsLbControllerConfig: env.AWS_LOAD_BALANCER_CONTROLLER_CONFIG }
      : {}),
    ...(env.EXTERNAL_DNS && existsSync(env.EXTERNAL_DNS) ? { externalDns: env.EXTERNAL_DNS } : {}),
  };
}

/**
 * The fault knobs with the real controller, played by ELBv2 in the AWS proxy:
 * `neverAssignAddress` makes CreateLoadBalancer fail (HTTP 500, so the
 * controller never gets an ALB and never writes an address; it retries with
 * backoff once the knob is off), `lbDelayMs` delays each CreateLoadBalancer.
 */
function realLbKnobs(proxy: FaultProxy, o: { lbDelayMs?: number; neverAssignAddress?: boolean }): void {
  const ours = (kind: FaultRule['fault']) => (r: FaultRule) =>
    r.service === 'elasticloadbalancing' && r.operation === 'CreateLoadBalancer' && r.fault === kind;
  if (o.neverAssignAddress !== undefined) {
    proxy.removeRules(ours('http500'));
    // Rules match in order: the failure goes before any delay.
    if (o.neverAssignAddress) {
      const delays = proxy.stats().rules.filter((r) => ours('delay')(r.rule));
      proxy.removeRules(ours('delay'));
      proxy.addRule({ service: 'elasticloadbalancing', operation: 'CreateLoadBalancer', fault: 'http500' });
      for (const d of delays) proxy.addRule(d.rule);
    }
  }
  if (o.lbDelayMs !== undefined) {
    proxy.removeRules(ours('delay'));
    if (o.lbDelayMs > 0)
      proxy.addRule({ service: 'elasticloadbalancing', operation: 'CreateLoadBalancer', fault: 'delay', delayMs: o.lbDelayMs });
  }
}

function lbControllerOption(value: TestbedOptions['lbController']): 'real' | 'stand-in' {
  const v = value ?? process.env.KSERVE_EDGE_LB_CONTROLLER ?? 'real';
  if (v !== 'real' && v !== 'stand-in') throw new Error(`lbController must be 'real' or 'stand-in', got '${v}'`);
  return v;
}

/** How many run log folders `.testbed/logs` keeps (oldest removed first). */
const KEEP_LOG_DIRS = 30;

function pruneLogs(root: string, keep: number): void {
  let dirs: string[];
  try {
    dirs = readdirSync(root).sort(); // names start with an ISO timestamp
  } catch {
    return;
  }
  for (const d of dirs.slice(0, Math.max(0, dirs.length - keep))) rmSync(join(root, d), { recursive: true, force: true });
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

async function startMlserver(supervisor: ProcessSupervisor, tools: ToolPaths, runDir: string, httpPort: number): Promise<ManagedProcess> {
  const dir = join(runDir, 'mlserver');
  mkdirSync(dir, { recursive: true });
  const grpcPort = await freePort();
  return supervisor.start('mlserver', tools.mlserver, ['start', tools.modelDir], {
    cwd: dir,
    env: {
      ...process.env,
      MLSERVER_HOST: LOOPBACK,
      MLSERVER_HTTP_PORT: String(httpPort),
      MLSERVER_GRPC_PORT: String(grpcPort),
      // No metrics server (and no third port); inference in the main process.
      MLSERVER_METRICS_ENDPOINT: '',
      MLSERVER_PARALLEL_WORKERS: '0',
      MLSERVER_DEBUG: 'false',
    },
  });
}

/** Starts the whole testbed. On any failure, everything started so far is stopped before the error is thrown. */
export async function startTestbed(opts: TestbedOptions): Promise<Testbed> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (name: string, since: number) => {
    timings[name] = Date.now() - since;
  };
  const options = {
    authProvider: opts.authProvider,
    domain: opts.domain,
    namespaces: [...opts.namespaces],
    clusterName: opts.clusterName,
    region: opts.region,
    lbDelayMs: opts.lbDelayMs ?? 1000,
    acmValidationWaitSeconds: opts.acmValidationWaitSeconds ?? 2,
    neverAssignAddress: opts.neverAssignAddress ?? false,
    handleSignals: opts.handleSignals ?? true,
    rbacFile: opts.rbacFile ?? join(REPO_ROOT, 'deploy', 'rbac.yaml'),
    lbController: lbControllerOption(opts.lbController),
    iam: opts.iam ?? true,
    albCertificateQuota: opts.albCertificateQuota ?? 25,
    kserveDefaultMode: opts.kserveDefaultMode ?? 'Serverless',
    ...(opts.externalDns ? { externalDns: opts.externalDns === true ? {} : { ...opts.externalDns } } : {}),
    tokenIssuer: opts.tokenIssuer ?? false,
  };
  const tools = readToolPaths();
  const templateFile = join(REPO_ROOT, PACKAGED_TEMPLATE);
  if (options.iam && !existsSync(templateFile)) {
    throw new Error(`IAM enforcement needs the packaged template ${templateFile}: run npm run package (or start with iam: false)`);
  }
  if (options.lbController === 'real' && (!tools.awsLbController || !tools.awsLbControllerConfig)) {
    throw new Error(
      `lbController 'real' needs AWS_LOAD_BALANCER_CONTROLLER and AWS_LOAD_BALANCER_CONTROLLER_CONFIG in ${join(cacheDir(), 'testbed.env')}: run scripts/setup-testbed.sh`,
    );
  }
  if (options.externalDns && !tools.externalDns) {
    throw new Error(`externalDns needs EXTERNAL_DNS in ${join(cacheDir(), 'testbed.env')}: run scripts/setup-testbed.sh`);
  }

  const runsRoot = join(os.tmpdir(), 'kserve-edge-testbed');
  mkdirSync(runsRoot, { recursive: true });
  const reaped = reapStaleRuns(runsRoot);
  const runDir = mkdtempSync(join(runsRoot, 'run-'));
  const logsRoot = join(REPO_ROOT, '.testbed', 'logs');
  const logDir = resolve(opts.logDir ?? join(logsRoot, `${timestamp()}-${process.pid}`));
  mkdirSync(logDir, { recursive: true });
  if (!opts.logDir) pruneLogs(logsRoot, KEEP_LOG_DIRS);
  const logFile = join(logDir, 'testbed.log');
  const log = (message: string) => {
    try {
      appendFileSync(logFile, `${new Date().toISOString()} ${message}\n`);
    } catch {
      // log dir removed
    }
  };
  log(`starting testbed: ${JSON.stringify({ ...options })} run dir ${runDir}`);
  if (reaped.length) log(`reaped processes of dead earlier runs: ${reaped.join(', ')}`);

  const supervisor = new ProcessSupervisor(logDir, join(runDir, 'children.json'));
  let controller: LbController | undefined;
  let awsProxy: FaultProxy | undefined;
  let aws: AwsClients | undefined;
  const kubeClients: KubeClient[] = [];
  let stopped: Promise<void> | undefined;
  let closeApiFrontDoor: (() => Promise<void>) | undefined;

  const onExit = () => supervisor.killAllSync();
  const onSignal = (signal: NodeJS.Signals) => {
    log(`received ${signal}: stopping`);
    void stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('exit', onExit);
  if (options.handleSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      const s = Date.now();
      try {
        await controller?.stop();
      } catch (err) {
        log(`lb controller stop: ${(err as Error).message}`);
      }
      await closeApiFrontDoor?.();
      const { killed } = await supervisor.stopAll();
      if (killed.length) log(`needed SIGKILL after the grace period: ${killed.join(', ')}`);
      await awsProxy?.stop();
      for (const k of kubeClients) k.close();
      aws?.destroy();
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const left = supervisor.liveGroupMembers();
      log(`stopped in ${Date.now() - s} ms${left.length ? `; STILL ALIVE: ${left.join(', ')}` : ''}`);
      if (!process.env.KSERVE_EDGE_TESTBED_KEEP_RUN) rmSync(runDir, { recursive: true, force: true });
      if (left.length) throw new Error(`testbed processes still alive after stop: ${left.join(', ')}`);
    })();
    return stopped;
  };

  try {
    const pki = new Pki(tools.openssl);
    const apiTokens = [randomToken(32)];
    const dexLogin = { username: DEX_USERNAME, password: randomToken(20) };
    const mlPort = await freePort();

    const ts = Date.now();
    const [motoPart, clusterPart, mlserver, testbedCa, dexStack] = await Promise.all([
      (async () => {
        const s = Date.now();
        const moto = await startMoto(supervisor, tools.motoServer, runDir, options.acmValidationWaitSeconds);
        mark('moto', s);
        aws = awsClients(moto.url, options.region);
        const seeded = await seedAws(aws, { ...options, apiTokens, dexLogin });
        mark('moto+seed', s);
        return { moto, seeded };
      })(),
      (async () => {
        const s = Date.now();
        const cp = await startControlPlane({ supervisor, pki, etcdBin: tools.etcd, apiserverBin: tools.kubeApiserver, runDir });
        closeApiFrontDoor = cp.closeFrontDoor;
        mark('apiserver', s);
        const admin = new KubeClient(cp.admin);
        kubeClients.push(admin);
        const boot = await bootstrapCluster(admin, {
          namespaces: options.namespaces,
          authProvider: options.authProvider,
          rbacFile: options.rbacFile,
          kserveDefaultMode: options.kserveDefaultMode,
          log,
        });
        mark('apiserver+bootstrap', s);
        return { cp, admin, boot };
      })(),
      startMlserver(supervisor, tools, runDir, mlPort),
      pki.createCa(runDir, 'testbed-ca', 'kserve-edge testbed CA (fake ALB)'),
      options.authProvider === 'dex'
        ? (async (): Promise<DexStack> => {
            const s = Date.now();
            const hash = await bcryptHash(tools.python, dexLogin.password);
            const d = await startDexStack({
              supervisor,
              dexBin: tools.dex,
              oauth2ProxyBin: tools.oauth2Proxy,
              runDir,
              domain: options.domain,
              username: dexLogin.username,
              passwordHash: hash,
            });
            mark('dex+oauth2-proxy', s);
            return d;
          })()
        : Promise.resolve(undefined),
    ]);
    mark('parallel-start', ts);

    const dashboardHost = `kubeflow.${options.domain}`;
    const { cp, admin } = clusterPart;
    // The machine-token issuer keeps its keys in the testbed's etcd (so a
    // second Dex can mint expired tokens of the same issuer); started beside the rest.
    const tokenIssuerStart = options.tokenIssuer
      ? (async () => {
          const s = Date.now();
          const t = await TokenIssuer.start({ supervisor, dexBin: tools.dex, runDir, pki, ca: testbedCa, etcdUrl: cp.etcdUrl });
          mark('token-issuer', s);
          return t;
        })()
      : undefined;
    tokenIssuerStart?.catch(() => undefined);
    let apiserverProc = cp.apiserver;
    const workflowClient = new KubeClient(cp.workflow);
    kubeClients.push(workflowClient);

    // IAM as AWS enforces it, for every function of the packaged template, in
    // this testbed's account and region, on its zone, its topic and the local
    // runner's state machines (what the template's Refs stand for here).
    const machine = (name: string) => `arn:aws:states:${options.region}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
    const iam = options.iam
      ? IamEnforcer.fromTemplate(readTemplate(templateFile), {
          deployment: {
            accountId: LOCAL_ACCOUNT_ID,
            region: options.region,
            hostedZoneIds: [motoPart.seeded.hostedZoneId],
            resourceValues: {
              KserveEdgeAlerts: motoPart.seeded.snsTopicArn,
              ProvisionStateMachine: machine(LOCAL_STATE_MACHINE_NAME),
              DeprovisionStateMachine: machine(LOCAL_STATE_MACHINE_NAME.replace('provision', 'deprovision')),
            },
          },
          lookups: motoLookups(motoPart.moto.url),
        })
      : undefined;

    // The AWS proxy the product (through env.AWS_ENDPOINT_URL), the real
    // controller and the data plane talk to: IAM enforced for the functions'
    // keys, ELBv2 corrected with the real controller.
    const realProxy =
      options.lbController === 'real' || iam
        ? await FaultProxy.start(motoPart.moto.url, {
            elbv2Fidelity: options.lbController === 'real',
            albCertificateQuota: options.albCertificateQuota,
            ...(iam ? { iam } : {}),
          })
        : undefined;
    awsProxy = realProxy;

    // The real AWS Load Balancer Controller, behind the AWS proxy (started
    // while nginx and the data plane come up; it needs neither).
    const realStart =
      options.lbController === 'real'
        ? (async (): Promise<RunningLbc> => {
            const r = Date.now();
            const running = await startAwsLbController({
              supervisor,
              binary: tools.awsLbController!,
              configDir: tools.awsLbControllerConfig!,
              admin,
              server: cp.server,
              clusterCaPem: cp.caPem,
              pki,
              ca: testbedCa,
              runDir,
              awsEndpoint: realProxy!.url,
              region: options.region,
              clusterName: options.clusterName,
            });
            log(
              `aws-load-balancer-controller ready (pid ${running.proc.pid}, webhook port ${running.webhookPort}, VPC ${running.network.vpcId})`,
            );
            realLbKnobs(realProxy!, { lbDelayMs: options.lbDelayMs, neverAssignAddress: options.neverAssignAddress });
            mark('aws-load-balancer-controller', r);
            return running;
          })()
        : undefined;
    // Settled at once so a failure here is not unhandled while the rest starts.
    realStart?.catch(() => undefined);

    // external-dns, on request: another writer in the same zone, through the same AWS endpoint.
    const externalDnsStart = options.externalDns
      ? (async (): Promise<ExternalDns> => {
          const x = Date.now();
          const running = await startExternalDns({
            supervisor,
            binary: tools.externalDns!,
            admin,
            server: cp.server,
            clusterCaPem: cp.caPem,
            runDir,
            awsEndpoint: realProxy?.url ?? motoPart.moto.url,
            domain: options.domain,
            options: options.externalDns,
          });
          log(`external-dns ready (pid ${running.proc.pid}, owner ${running.ownerId}): ${running.args.join(' ')}`);
          mark('external-dns', x);
          return running;
        })()
      : undefined;
    externalDnsStart?.catch(() => undefined);

    // nginx + the ALB data plane (and, with the stand-in, the LB controller).
    const s = Date.now();
    const gatewayPort = await freePort();
    const nginx = new NginxServer(tools.nginx, join(runDir, 'nginx'), logDir, supervisor, await freePort());
    const certDir = join(runDir, 'alb-certs');
    mkdirSync(certDir, { recursive: true });
    const hostMapFile = join(runDir, 'alb-host-map.json');
    const listenersFile = join(runDir, 'alb-listeners.json');
    controller = new LbController({
      kube: admin,
      nginx,
      pki,
      ca: testbedCa,
      certDir,
      // With the real controller, ELBv2 and ACM as the controller sees them.
      motoUrl: options.lbController === 'real' ? realProxy!.url : motoPart.moto.url,
      region: options.region,
      clusterName: options.clusterName,
      gatewayPort,
      modelUpstream: `${LOOPBACK}:${mlPort}`,
      hostMapFile,
      listenersFile,
      lbDelayMs: options.lbDelayMs,
      neverAssignAddress: options.neverAssignAddress,
      albSource: options.lbController === 'real' ? 'elbv2' : 'annotations',
      ...(dexStack
        ? {
            dex: {
              dashboardHost,
              dexUpstream: dexStack.dexUrl.replace('http://', ''),
              oauth2ProxyUpstream: dexStack.oauth2ProxyUrl.replace('http://', ''),
            },
          }
        : {}),
      log: (m) => log(`[lb-controller] ${m}`),
    });
    // A new ALB is `provisioning` in ELBv2 until it serves: here, until the data plane's host map has its name.
    realProxy?.servedBy((dnsName) => {
      try {
        return dnsName in (JSON.parse(readFileSync(hostMapFile, 'utf8')) as Record<string, string>);
      } catch {
        return false;
      }
    });
    await controller.start();
    await controller.reconcileNow();
    mark('nginx+lb-controller', s);
    const realLbc = await realStart;
    const externalDns = await externalDnsStart;
    const tokenIssuer = await tokenIssuerStart;

    const ctl = controller;
    const waitForAlb = async (namespace: string, name: string, timeoutMs = 30_000): Promise<AlbInfo> => {
      const found = await waitFor(
        async () => {
          const a = ctl.albs().find((x) => x.ingress === `${namespace}/${name}`);
          return a?.addressAssigned && Object.keys(a.listeners).length > 0 ? a : undefined;
        },
        { what: `ALB address of Ingress ${namespace}/${name}`, timeoutMs, intervalMs: 100 },
      );
      // One more full pass, so the host map and nginx reflect what was found.
      await ctl.reconcileNow();
      return ctl.albs().find((x) => x.ingress === found.ingress) ?? found;
    };

    // Dex: the user's load-balancer guide left kubeflow.<domain> → the istio-ingress ALB.
    if (options.authProvider === 'dex' && !options.neverAssignAddress) {
      const d = Date.now();
      const alb = await waitForAlb('istio-system', 'istio-ingress', options.lbDelayMs + 30_000);
      await upsertCname(aws!, motoPart.seeded.hostedZoneId, dashboardHost, alb.hostname);
      log(`Route 53: ${dashboardHost} CNAME ${alb.hostname}`);
      mark('dex-dashboard-dns', d);
    }

    const m = Date.now();
    await waitFor(
      async () => (await httpRequest(`http://${LOOPBACK}:${mlPort}/v2/models/${MODEL_NAME}/ready`, { timeoutMs: 1000 })).status === 200,
      { what: `MLServer model ${MODEL_NAME} ready`, timeoutMs: 120_000, intervalMs: 200, proc: mlserver },
    );
    mark('mlserver-wait', m);
    mark('total', t0);

    const env: Record<string, string> = {
      // Through the enforcing proxy; with the real controller the product meets the same corrected ELBv2 it does.
      AWS_ENDPOINT_URL: awsProxy?.url ?? motoPart.moto.url,
      AWS_REGION: options.region,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_EC2_METADATA_DISABLED: 'true',
      KSERVE_EDGE_CLUSTER_ENDPOINT: cp.server,
      KSERVE_EDGE_CLUSTER_CA_FILE: cp.caFile,
      KSERVE_EDGE_CLUSTER_TOKEN_FILE: cp.workflowTokenFile,
      KSERVE_EDGE_DNS_MODE: 'route53',
      KSERVE_EDGE_HOST_MAP_FILE: hostMapFile,
      KSERVE_EDGE_EXTRA_CA_FILE: testbedCa.certFile,
      KSERVE_EDGE_SNS_TOPIC_ARN: motoPart.seeded.snsTopicArn,
      KSERVE_EDGE_HOSTED_ZONE_ID: motoPart.seeded.hostedZoneId,
    };
    log(`testbed ready in ${timings.total} ms: ${JSON.stringify(timings)}`);

    const testbed: Testbed = {
      options: { ...options },
      env,
      admin: cp.admin,
      workflow: cp.workflow,
      motoUrl: motoPart.moto.url,
      caPem: testbedCa.certPem,
      caFile: testbedCa.certFile,
      clusterCaPem: cp.caPem,
      logDir,
      runDir,
      hostedZoneId: motoPart.seeded.hostedZoneId,
      snsTopicArn: motoPart.seeded.snsTopicArn,
      secrets: { apiTokensSecretId: API_TOKENS_SECRET_ID, apiTokens, dexLoginSecretId: DEX_LOGIN_SECRET_ID, dexLogin },
      dashboardHost,
      kubeconfigs: { admin: cp.adminKubeconfig, workflow: cp.workflowKubeconfig },
      urls: {
        mlserver: `http://${LOOPBACK}:${mlPort}`,
        gateway: `http://${LOOPBACK}:${gatewayPort}`,
        ...(dexStack ? { dex: dexStack.dexUrl, oauth2Proxy: dexStack.oauth2ProxyUrl } : {}),
      },
      timings,
      kubeAdmin: () => admin,
      kubeWorkflow: () => workflowClient,
      aws: aws!,
      ...(iam ? { iam } : {}),
      ...(tokenIssuer ? { tokenIssuer } : {}),
      lb: {
        controller: options.lbController,
        ...(awsProxy && options.lbController === 'real' ? { awsProxy } : {}),
        ...(realLbc
          ? {
              real: {
                pid: realLbc.proc.pid,
                logFile: realLbc.proc.logFile,
                healthUrl: realLbc.healthUrl,
                metricsUrl: realLbc.metricsUrl,
                webhookPort: realLbc.webhookPort,
                vpcId: realLbc.network.vpcId,
              },
            }
          : {}),
        hostMapFile,
        listenersFile,
        albs: () => ctl.albs(),
        waitForAlb,
        setOptions: (o) => {
          ctl.setOptions(o);
          if (awsProxy && options.lbController === 'real') realLbKnobs(awsProxy, o);
        },
        reconcileNow: () => ctl.reconcileNow(),
      },
      apiserver: {
        stop: async () => {
          // As a managed control plane's load balancer: no client reaches an API server that is not ready.
          await cp.closeFrontDoor();
          await supervisor.stopProcess(apiserverProc);
        },
        start: async () => {
          if (isAlive(apiserverProc.pid)) return;
          apiserverProc = await cp.relaunchApiserver();
        },
      },
      ...(externalDns ? { externalDns } : {}),
      pids: () => supervisor.liveGroupMembers(),
      stop,
    };
    return testbed;
  } catch (err) {
    log(`start failed: ${(err as Error).stack ?? String(err)}`);
    try {
      await stop();
    } catch (stopErr) {
      log(`stop after failed start: ${(stopErr as Error).message}`);
    }
    throw new Error(`testbed failed to start (logs: ${logDir}): ${(err as Error).message}`, { cause: err });
  }
}
