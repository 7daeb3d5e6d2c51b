/**
 * A counting HTTP proxy in front of moto: the product's AWS_ENDPOINT_URL points
 * here, every request is forwarded unchanged and recorded (time, service,
 * operation, and for Route 53 change batches the number of changes and
 * resource records). The product does not know it is there.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

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

function classify(req: http.IncomingMessage, body: string): { service: string; operation: string } {
  const auth = String(req.headers.authorization ?? '');
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return { service, operation: target.split('.').pop() ?? target };
  if (service === 'route53') return { service, operation: route53Operation(req.method ?? 'GET', req.url ?? '/') };
  const action = /(?:^|&)Action=([^&]+)/.exec(body)?.[1];
  if (action) return { service, operation: action };
  if (service === 'eks' && /^\/clusters\/[^/]+$/.test((req.url ?? '').replace(/\?.*$/, '')))
    return { service, operation: 'DescribeCluster' };
  return { service, operation: `${req.method} ${(req.url ?? '').replace(/\?.*$/, '')}` };
}

export class CountingProxy {
  readonly calls: AwsCall[] = [];
  private server?: http.Server;
  /** Where requests go; can change between testbeds while the port stays (SDK clients cache the endpoint). */
  upstream = '';

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        const call: AwsCall = { at: Date.now(), ...classify(req, text), status: 0 };
        if (call.operation === 'ChangeResourceRecordSets') {
          call.changes = (text.match(/<Change>/g) ?? []).length;
          call.resourceRecords = (text.match(/<ResourceRecord>/g) ?? []).length + (text.match(/<AliasTarget>/g) ?? []).length;
        }
        this.calls.push(call);
        const target = new URL(req.url ?? '/', this.upstream);
        const headers = { ...req.headers, host: target.host };
        const up = http.request(target, { method: req.method, headers }, (upRes) => {
          call.status = upRes.statusCode ?? 0;
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        });
        up.on('error', (err) => {
          call.status = 502;
          res.writeHead(502).end(String(err));
        });
        up.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.calls.length = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
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
