/**
 * A counting HTTP proxy in front of moto: the product's AWS_ENDPOINT_URL points
 * here, every request is forwarded unchanged and recorded (time, service,
 * operation, and for Route 53 change batches the number of changes and
 * resource records). The product does not know it is there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface AwsCall {
  /** Epoch ms when the request arrived. */
  at: number;
  service: string;
  operation: string;
  status: number;
  /** ChangeResourceRecordSets only. */
  changes?: number;
  resourceRecords?: number;
}

/** Route 53 REST paths (API 2013-04-01) → operation. */
function route53Operation(method: string, path: string): string {
  const p = path.replace(/^\/2013-04-01/, '').replace(/\?.*$/, '');
  if (method === 'POST' && /^\/hostedzone\/[^/]+\/rrset\/?$/.test(p)) return 'ChangeResourceRecordSets';
  if (method === 'GET' && /^\/hostedzone\/[^/]+\/rrset\/?$/.test(p)) return 'ListResourceRecordSets';
  if (method === 'GET' && /^\/change\/[^/]+$/.test(p)) return 'GetChange';
  if (method === 'GET' && /^\/hostedzonesbyname/.test(p)) return 'ListHostedZonesByName';
  if (method === 'GET' && /^\/hostedzone\/[^/]+$/.test(p)) return 'GetHostedZone';
  if (method === 'GET' && /^\/hostedzone\/?$/.test(p)) return 'ListHostedZones';
  return `${method} ${p}`;
}

/** What the proxy process records of one request (bench/countingProxy.mjs). */
interface RawCall {
  at: number;
  method: string;
  url: string;
  authorization: string;
  target?: string;
  action?: string;
  changes: number;
  resourceRecords: number;
  status: number;
}

function classify(raw: RawCall): { service: string; operation: string } {
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(raw.authorization)?.[1] ?? 'unknown';
  if (raw.target) return { service, operation: raw.target.split('.').pop() ?? raw.target };
  if (service === 'route53') return { service, operation: route53Operation(raw.method, raw.url) };
  if (raw.action) return { service, operation: raw.action };
  const path = raw.url.replace(/\?.*$/, '');
  if (service === 'eks' && /^\/clusters\/[^/]+$/.test(path)) return { service, operation: 'DescribeCluster' };
  return { service, operation: `${raw.method} ${path}` };
}

/**
 * The counting proxy, run as a process of its own (bench/countingProxy.mjs) so
 * that arrival times are not stamped by the bench's own event loop, which also
 * runs the Lambda bundles. The product's AWS_ENDPOINT_URL points at it; it
 * forwards to {@link setUpstream}'s URL.
 */
export class CountingProxy {
  private child?: ChildProcess;
  private url?: string;

  async start(): Promise<string> {
    const child = fork(fileURLToPath(new URL('./countingProxy.mjs', import.meta.url)), [], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    this.child = child;
    const port = await new Promise<string>((resolve, reject) => {
      child.once('error', reject);
      child.stdout!.once('data', (d: Buffer) => resolve(d.toString('utf8').trim()));
    });
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  private async control(path: string, method: string, body?: string): Promise<string> {
    if (!this.url) throw new Error('the counting proxy is not started');
    const res = await fetch(`${this.url}/__bench/${path}`, { method, ...(body !== undefined ? { body } : {}) });
    return res.text();
  }

  /** Where requests go; can change between testbeds while the port stays (SDK clients cache the endpoint). */
  async setUpstream(url: string): Promise<void> {
    await this.control('upstream', 'PUT', url);
  }

  async reset(): Promise<void> {
    await this.control('reset', 'POST');
  }

  /** The calls recorded since the last {@link reset}, classified. */
  async calls(): Promise<AwsCall[]> {
    const raw = JSON.parse(await this.control('calls', 'GET')) as RawCall[];
    return raw.map((r) => {
      const what = classify(r);
      const batch = what.operation === 'ChangeResourceRecordSets' ? { changes: r.changes, resourceRecords: r.resourceRecords } : {};
      return { at: r.at, ...what, status: r.status, ...batch };
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.url = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill();
    });
  }
}

/** Highest number of calls of one operation inside any 1-second window. */
export function peakPerSecond(calls: readonly AwsCall[]): number {
  const times = calls.map((c) => c.at).sort((a, b) => a - b);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= 1000) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}
