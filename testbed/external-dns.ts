/**
 * The real external-dns (`sigs.k8s.io/external-dns`, built by
 * `build-binaries.sh`), run out of cluster against the testbed's
 * kube-apiserver and moto's Route 53 (through the testbed's AWS proxy), as a
 * second writer in the same hosted zone: the coexistence tests
 * (`test/integration/external-dns.test.ts`) prove it and kserve-edge leave each
 * other's records alone.
 *
 * What it gets, as the project's Helm chart would give it:
 *  - Kubernetes: a ServiceAccount `kube-system/external-dns` bound to a
 *    ClusterRole with exactly the rules the chart renders for
 *    `sources: [service, ingress]` (`charts/external-dns/templates/clusterrole.yaml`
 *    in the module: nodes list/watch; pods, services, endpointslices, ingresses
 *    get/watch/list); its kubeconfig holds only that ServiceAccount's token
 *    (TokenRequest), so it can read and never write the cluster.
 *  - AWS: the aws-sdk-go-v2 default chain (`provider/aws/config.go`,
 *    `config.LoadDefaultConfig`), pointed at the testbed's AWS endpoint with
 *    `AWS_ENDPOINT_URL_ROUTE_53`, and the testbed's `testing` key.
 *  - Flags: `--provider=aws --registry=txt --txt-owner-id=<id> --policy=<policy>
 *    --source=service --source=ingress --domain-filter=<domain>`, a short
 *    `--interval`, `--events`, JSON logs and a metrics address on 127.0.0.1.
 *
 * When is a sync loop over? Its logs do not say so in one line: a loop with
 * nothing to do ends with "All records are already up to date"
 * (`controller/controller.go`), one with changes with a "Desired change:
 * <ACTION> <name> <type>" line per change and "<n> record(s) were
 * successfully updated" per batch (`provider/aws/aws.go`), so a loop with
 * several batches cannot be told apart from several loops. Its metrics can:
 * `RunOnce` sets `external_dns_controller_last_reconcile_timestamp_seconds`
 * when it starts and `external_dns_controller_last_sync_timestamp_seconds` when
 * it ends without error. {@link ExternalDns.waitForSyncs} waits for loops that
 * began after the call and ended; the logs give what each loop changed
 * ({@link ExternalDns.changes}).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient, KubeObject } from './lib/kube';
import { freePort, httpRequest, LOOPBACK, waitFor } from './lib/net';
import type { ManagedProcess, ProcessSupervisor } from './lib/proc';
import { bindServiceAccount, writeServiceAccountKubeconfig } from './lib/service-account';

export const EXTERNAL_DNS_NAMESPACE = 'kube-system';
export const EXTERNAL_DNS_SERVICE_ACCOUNT = 'external-dns';
/** The default owner id: another cluster's external-dns in the same zone, never kserve-edge's. */
export const EXTERNAL_DNS_DEFAULT_OWNER = 'external-dns-cluster-b';
/** external-dns's annotation naming the DNS names of a Service or Ingress. */
export const HOSTNAME_ANNOTATION = 'external-dns.alpha.kubernetes.io/hostname';
/** external-dns's annotation overriding the target (instead of the object's status). */
export const TARGET_ANNOTATION = 'external-dns.alpha.kubernetes.io/target';

const MANAGER = 'testbed-admin';

/** How the testbed runs external-dns (see {@link startExternalDns}). */
export interface ExternalDnsOptions {
  /** `--txt-owner-id` (default {@link EXTERNAL_DNS_DEFAULT_OWNER}). */
  ownerId?: string;
  /** `--policy` (default `sync`: it deletes what it owns and no source wants any more). */
  policy?: 'sync' | 'upsert-only' | 'create-only';
  /** `--interval` (default `2s`; the real default is 1m). */
  interval?: string;
  /** More flags, appended (e.g. `--label-filter=...`, `--ingress-class=...`). */
  extraArgs?: string[];
}

/** One change external-dns submitted to Route 53, from its "Desired change" log line. */
export interface ExternalDnsChange {
  /** When it logged it (ISO time from the log line). */
  time: string;
  action: string;
  /** The record name as it logged it (Route 53 spelling: trailing dot removed, `\052` as `*`). */
  name: string;
  type: string;
}

/** A running external-dns. */
export interface ExternalDns {
  readonly proc: ManagedProcess;
  readonly logFile: string;
  readonly metricsUrl: string;
  readonly ownerId: string;
  /** The exact command-line flags it runs with (the README's deploy section shows the same set). */
  readonly args: readonly string[];
  /**
   * Waits until `count` sync loops that started after this call have ended
   * without error, one after the other; resolves with the end time of the last
   * one (unix seconds). Fails at once if the process exits.
   */
  waitForSyncs(count?: number, timeoutMs?: number): Promise<number>;
  /** Every change it submitted so far (its "Desired change" log lines). */
  changes(): ExternalDnsChange[];
  /** Log lines at level error or fatal so far (a failed sync loop logs "Failed to do run once: ..."). */
  errors(): string[];
}

/**
 * The ClusterRole the external-dns chart renders for `sources: [service, ingress]`
 * (`charts/external-dns/templates/clusterrole.yaml` of the built version).
 */
export function externalDnsClusterRole(): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: EXTERNAL_DNS_SERVICE_ACCOUNT, labels: { 'app.kubernetes.io/name': EXTERNAL_DNS_SERVICE_ACCOUNT } },
    rules: [
      { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'watch', 'list'] },
      { apiGroups: [''], resources: ['services'], verbs: ['get', 'watch', 'list'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'watch', 'list'] },
      { apiGroups: ['extensions', 'networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'watch', 'list'] },
    ],
  };
}

/** ServiceAccount, ClusterRole and binding; returns a kubeconfig file holding only the ServiceAccount's token. */
async function installExternalDnsKubernetes(
  admin: KubeClient,
  o: { dir: string; server: string; clusterCaPem: string },
): Promise<{ kubeconfigFile: string }> {
  const role = externalDnsClusterRole();
  await admin.apply(role, { fieldManager: MANAGER, force: true });
  const sa = { namespace: EXTERNAL_DNS_NAMESPACE, name: EXTERNAL_DNS_SERVICE_ACCOUNT };
  await bindServiceAccount(admin, { ...sa, clusterRole: role.metadata.name, binding: `${EXTERNAL_DNS_SERVICE_ACCOUNT}-viewer` });
  const kubeconfigFile = join(o.dir, 'external-dns.kubeconfig');
  await writeServiceAccountKubeconfig(admin, sa, { server: o.server, clusterCaPem: o.clusterCaPem, file: kubeconfigFile });
  return { kubeconfigFile };
}

/** The value of one unlabelled sample in Prometheus text format, or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `)) {
      const v = Number(line.slice(name.length + 1).trim());
      return Number.isFinite(v) ? v : undefined;
    }
  }
  return undefined;
}

interface LogLine {
  level?: string;
  msg?: string;
  time?: string;
}

/** The JSON lines of external-dns's log (`--log-format=json`); anything else is skipped. */
function logLines(file: string): LogLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by a concurrent write: the next read has it whole
    }
  }
  return out;
}

const DESIRED_CHANGE = /^Desired change: (\S+) (\S+) (\S+)$/;

/** The changes in external-dns's "Desired change: <ACTION> <name> <type>" log lines (`provider/aws/aws.go`). */
export function parseChanges(lines: readonly LogLine[]): ExternalDnsChange[] {
  const out: ExternalDnsChange[] = [];
  for (const l of lines) {
    const m = DESIRED_CHANGE.exec(l.msg ?? '');
    if (!m) continue;
    out.push({ time: l.time ?? '', action: m[1]!, name: m[2]!.replace(/\\052/g, '*').replace(/\.$/, ''), type: m[3]! });
  }
  return out;
}

/**
 * Installs external-dns's RBAC, starts it and waits until it has finished its
 * first sync loop (so the zone is as it wants it when this resolves).
 */
export async function startExternalDns(o: {
  supervisor: ProcessSupervisor;
  binary: string;
  admin: KubeClient;
  server: string;
  clusterCaPem: string;
  runDir: string;
  /** The testbed's AWS endpoint (the proxy in front of moto). */
  awsEndpoint: string;
  /** The hosted zone's domain: `--domain-filter`. */
  domain: string;
  options?: ExternalDnsOptions;
}): Promise<ExternalDns> {
  const dir = join(o.runDir, 'external-dns');
  const { kubeconfigFile } = await installExternalDnsKubernetes(o.admin, { dir, server: o.server, clusterCaPem: o.clusterCaPem });
  const ownerId = o.options?.ownerId ?? EXTERNAL_DNS_DEFAULT_OWNER;
  const metricsPort = await freePort();
  const args = [
    `--kubeconfig=${kubeconfigFile}`,
    '--provider=aws',
    '--registry=txt',
    `--txt-owner-id=${ownerId}`,
    `--policy=${o.options?.policy ?? 'sync'}`,
    '--source=service',
    '--source=ingress',
    `--domain-filter=${o.domain}`,
    `--interval=${o.options?.interval ?? '2s'}`,
    '--events',
    '--min-event-sync-interval=1s',
    '--log-format=json',
    '--log-level=debug',
    `--metrics-address=${LOOPBACK}:${metricsPort}`,
    ...(o.options?.extraArgs ?? []),
  ];
  const proc = o.supervisor.start('external-dns', o.binary, args, {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      // Route 53 is global; its SigV4 region is us-east-1.
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_ROUTE_53: o.awsEndpoint,
    },
  });
  const metricsUrl = `http://${LOOPBACK}:${metricsPort}`;

  const timestamps = async (): Promise<{ reconcile: number; sync: number } | undefined> => {
    const r = await httpRequest(`${metricsUrl}/metrics`, { timeoutMs: 2000 });
    if (r.status !== 200) return undefined;
    const reconcile = metricValue(r.body, 'external_dns_controller_last_reconcile_timestamp_seconds');
    const sync = metricValue(r.body, 'external_dns_controller_last_sync_timestamp_seconds');
    return reconcile && sync ? { reconcile, sync } : undefined;
  };

  const waitForSyncs = async (count = 1, timeoutMs = 60_000): Promise<number> => {
    let after = Date.now() / 1000;
    for (let i = 0; i < count; i++) {
      const since = after;
      after = await waitFor(
        async () => {
          const t = await timestamps();
          // A loop that began after `since` and ended (without error) after it began.
          return t && t.reconcile > since && t.sync >= t.reconcile ? t.sync : undefined;
        },
        { what: `external-dns sync loop ${i + 1} of ${count}`, timeoutMs, intervalMs: 100, proc },
      );
    }
    return after;
  };

  const instance: ExternalDns = {
    proc,
    logFile: proc.logFile,
    metricsUrl,
    ownerId,
    args: args.filter((a) => !a.startsWith('--kubeconfig=') && !a.startsWith('--metrics-address=')),
    waitForSyncs,
    changes: () => parseChanges(logLines(proc.logFile)),
    errors: () =>
      logLines(proc.logFile)
        .filter((l) => l.level === 'error' || l.level === 'fatal')
        .map((l) => l.msg ?? ''),
  };
  // Its first loop (informers synced, zone read) proves it is up and wired.
  await waitFor(async () => (await timestamps())?.sync, {
    what: 'external-dns first sync loop',
    timeoutMs: 60_000,
    intervalMs: 150,
    proc,
  });
  return instance;
}
