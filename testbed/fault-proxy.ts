/**
 * A loopback HTTP proxy in front of moto that injects the faults real AWS
 * produces, so the tests can show the workflow surviving them.
 *
 *   product (AWS_ENDPOINT_URL=proxy) ──► FaultProxy ──► moto
 *                                          │
 *                                          └─ by rule: throttle, 500, delay, rewrite
 *
 * Which call a request is, per AWS protocol:
 *
 * | protocol   | services                  | operation from                                       |
 * |------------|---------------------------|------------------------------------------------------|
 * | JSON 1.1   | ACM, Secrets Manager      | `X-Amz-Target: CertificateManager.DescribeCertificate` |
 * | REST-XML   | Route 53                  | method + path (`POST …/hostedzone/<id>/rrset`)        |
 * | REST-JSON  | EKS                       | method + path (`GET /clusters/<name>`)                |
 * | Query      | SNS, STS                  | `Action=` in the form body or the query string        |
 *
 * The service comes from the SigV4 credential scope in `Authorization`
 * (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
 *
 * Faults answer the way the real service does, so the SDK parses them into
 * the error it would raise in AWS:
 *
 * | fault                    | answer                                                                     |
 * |--------------------------|----------------------------------------------------------------------------|
 * | `throttle` (JSON)        | 400 `{"__type":"ThrottlingException"}` + `x-amzn-ErrorType`                 |
 * | `throttle` (Route 53)    | 400 XML `ErrorResponse` code `Throttling` ("Rate exceeded")                |
 * | `priorRequestNotComplete`| 400 XML `ErrorResponse` code `PriorRequestNotComplete` (Route 53)           |
 * | `http500`                | 500 with the protocol's `InternalFailure` body                              |
 * | `delay`                  | waits `delayMs`, then forwards                                             |
 *
 * One correction to moto, always on: ACM RequestCertificate calls are
 * serialized. Real ACM checks the idempotency token atomically; moto looks the
 * token up, generates the key pair (tens of milliseconds, other requests run
 * meanwhile) and only then stores it, so racing calls with one token each get
 * a certificate. Sequential calls behave the same in both.
 *
 * With `elbv2Fidelity` (the proxy the real AWS Load Balancer Controller
 * talks to), ELBv2 calls are corrected where moto differs from ELBv2: see
 * `elbv2-fidelity.ts` (DescribeListeners lists only the default certificate,
 * a certificate that is not ISSUED is refused with `CertificateNotFound`,
 * more than 25 SNI certificates per ALB with `TooManyCertificates`).
 *
 * Besides faults, {@link FaultProxy.failCertificates} rewrites ACM
 * DescribeCertificate answers so chosen certificates read `FAILED` or
 * `VALIDATION_TIMED_OUT` (moto cannot fail a validation by itself).
 *
 * @example
 *   const proxy = await FaultProxy.start(tb.motoUrl);
 *   proxy.addRule({ service: 'acm', operation: 'RequestCertificate', fault: 'throttle', times: 2 });
 *   await provisionWith({ ...tb.env, AWS_ENDPOINT_URL: proxy.url }, request, 'run-1');
 *   proxy.stats(); // { injected: 2, … }
 *   await proxy.stop();
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Elbv2Fidelity, motoCaller } from './elbv2-fidelity';
import { LOOPBACK } from './lib/net';
import type { IamEnforcer } from './iam/enforcer';

export type FaultKind = 'throttle' | 'priorRequestNotComplete' | 'http500' | 'delay';

/** One fault rule. A request is matched against the rules in order; the first that fires wins. */
export interface FaultRule {
  /** SigV4 service name: `acm`, `route53`, `secretsmanager`, `eks`, `sns`, `sts`. */
  service: string;
  /** Operation name (`DescribeCertificate`, `ChangeResourceRecordSets`, …); `*` = every operation of the service. */
  operation: string;
  fault: FaultKind;
  /** Fire for the first `times` matching requests, then never again. */
  times?: number;
  /** Fire for this fraction (0..1) of matching requests, from a seeded generator (deterministic). */
  rate?: number;
  /** For `delay`: milliseconds to wait before forwarding (default 500). */
  delayMs?: number;
}

/** What a rule did. */
export interface RuleStats {
  rule: FaultRule;
  matched: number;
  fired: number;
}

export interface FaultProxyStats {
  /** Requests seen, by `service:Operation` (ELBv2: `elasticloadbalancing:Operation`). */
  requests: Record<string, number>;
  /** Faults injected, by `service:Operation:fault`. */
  injectedBy: Record<string, number>;
  injected: number;
  /** DescribeCertificate answers rewritten to a failed status. */
  rewritten: number;
  /** ELBv2 requests refused as ELBv2 would (elbv2Fidelity), by `Operation:ErrorCode`. */
  refusedBy: Record<string, number>;
  rules: RuleStats[];
}

interface LiveRule {
  rule: FaultRule;
  matched: number;
  fired: number;
}

/** The call a request is. */
export interface AwsCall {
  service: string;
  operation: string;
  protocol: 'json' | 'rest-xml' | 'rest-json' | 'query';
}

/** Mulberry32: a small seeded PRNG, so a `rate` rule fires on the same requests every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Route 53 REST paths (API version 2013-04-01) → operation. */
function route53Operation(method: string, path: string): string {
  const p = path.replace(/^\/2013-04-01/, '');
  if (/^\/hostedzone\/[^/]+\/rrset\/?$/.test(p)) return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (/^\/change\/[^/]+$/.test(p)) return 'GetChange';
  if (/^\/hostedzonesbyname/.test(p)) return 'ListHostedZonesByName';
  if (/^\/hostedzone\/[^/]+$/.test(p)) return method === 'DELETE' ? 'DeleteHostedZone' : 'GetHostedZone';
  if (/^\/hostedzone\/?$/.test(p)) return method === 'POST' ? 'CreateHostedZone' : 'ListHostedZones';
  return `${method} ${p}`;
}

/** EKS REST paths → operation (only what the product calls, the rest by method + path). */
function eksOperation(method: string, path: string): string {
  if (method === 'GET' && /^\/clusters\/[^/]+$/.test(path)) return 'DescribeCluster';
  if (method === 'GET' && /^\/clusters\/?$/.test(path)) return 'ListClusters';
  return `${method} ${path}`;
}

/**
 * Identifies the AWS call of a request. Exported for tests.
 *
 * @example
 *   identifyCall({ method: 'POST', url: '/', headers: { 'x-amz-target': 'CertificateManager.ListCertificates', authorization: '… Credential=k/20260101/us-west-2/acm/aws4_request …' } }, '')
 *   // { service: 'acm', operation: 'ListCertificates', protocol: 'json' }
 */
export function identifyCall(req: { method?: string; url?: string; headers: http.IncomingHttpHeaders }, body: string): AwsCall {
  const auth = String(req.headers.authorization ?? '');
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth);
  const target = req.headers['x-amz-target'];
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://proxy');
  let service = scope?.[1] ?? '';
  if (typeof target === 'string' && target.includes('.')) {
    if (!service) service = target.startsWith('CertificateManager.') ? 'acm' : target.split('.')[0]!.toLowerCase();
    return { service, operation: target.slice(target.lastIndexOf('.') + 1), protocol: 'json' };
  }
  if (!service && url.pathname.startsWith('/2013-04-01/')) service = 'route53';
  if (service === 'route53') return { service, operation: route53Operation(method, url.pathname), protocol: 'rest-xml' };
  if (service === 'eks') return { service, operation: eksOperation(method, url.pathname), protocol: 'rest-json' };
  const action = url.searchParams.get('Action') ?? new URLSearchParams(body).get('Action');
  return { service: service || 'unknown', operation: action ?? `${method} ${url.pathname}`, protocol: 'query' };
}

/** The error answer real AWS gives for `fault` in `call`'s protocol. */
export function faultResponse(
  call: AwsCall,
  fault: Exclude<FaultKind, 'delay'>,
): { status: number; headers: Record<string, string>; body: string } {
  const requestId = randomUUID();
  const code =
    fault === 'http500'
      ? 'InternalFailure'
      : fault === 'priorRequestNotComplete'
        ? 'PriorRequestNotComplete'
        : call.protocol === 'json' || call.protocol === 'rest-json'
          ? 'ThrottlingException'
          : 'Throttling';
  const message =
    fault === 'http500'
      ? 'We encountered an internal error. Please try again. (injected by the testbed)'
      : fault === 'priorRequestNotComplete'
        ? 'The request was rejected because Route 53 was still processing a prior request. (injected by the testbed)'
        : 'Rate exceeded (injected by the testbed)';
  const status = fault === 'http500' ? 500 : 400;
  if (call.protocol === 'json' || call.protocol === 'rest-json') {
    return {
      status,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId, 'x-amzn-errortype': code },
      body: JSON.stringify({ __type: code, message }),
    };
  }
  const type = fault === 'http500' ? 'Receiver' : 'Sender';
  const xmlns = call.protocol === 'rest-xml' ? ' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"' : '';
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: `<?xml version="1.0"?>\n<ErrorResponse${xmlns}><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

/** Which certificates read as failed, and how. */
export interface CertificateFailure {
  /** Certificates by ARN. */
  arns?: string[];
  /** Or every certificate whose DomainName is one of these. */
  domainNames?: string[];
  /** `PENDING_VALIDATION`: a certificate that is not issued yet (moto issues every one after its wait). */
  status: 'FAILED' | 'VALIDATION_TIMED_OUT' | 'PENDING_VALIDATION';
  /** ACM's FailureReason (default `CAA_ERROR` for FAILED). */
  failureReason?: string;
}

/** Options of {@link FaultProxy.start}. */
export interface FaultProxyOptions {
  /**
   * IAM as AWS enforces it (testbed/iam/enforcer.ts): calls signed with a
   * function's access key are evaluated against that function's role before
   * any fault rule or forwarding. Off (undefined) by default.
   */
  iam?: IamEnforcer;
  /** Correct moto's ELBv2 where it differs from AWS (testbed/elbv2-fidelity.ts). Off by default. */
  elbv2Fidelity?: boolean;
  /** With `elbv2Fidelity`: the account's certificates-per-ALB quota (default 25, ELBv2's default). */
  albCertificateQuota?: number;
}

/** See the module comment. */
export class FaultProxy {
  private readonly rules: LiveRule[] = [];
  private readonly requests: Record<string, number> = {};
  private readonly injectedBy: Record<string, number> = {};
  private rewritten = 0;
  private readonly refusedBy: Record<string, number> = {};
  private elbv2: Elbv2Fidelity | undefined;
  private random = seeded(1);
  private certificateFailure: CertificateFailure | undefined;
  private readonly upstream: URL;
  /** Calls forwarded one at a time (see the module comment), by `service:Operation`. */
  private readonly serialized = new Map<string, Promise<unknown>>([['acm:RequestCertificate', Promise.resolve()]]);

  private constructor(
    private readonly server: http.Server,
    upstream: string,
    /** `http://127.0.0.1:<port>`: what `AWS_ENDPOINT_URL` should be. */
    readonly url: string,
    private readonly iam: IamEnforcer | undefined = undefined,
  ) {
    this.upstream = new URL(upstream);
  }

  /**
   * Starts a proxy on a free loopback port forwarding to `upstream` (moto's URL).
   * `elbv2Fidelity`: correct moto's ELBv2 where it differs from AWS (see the module comment);
   * `iam`: evaluate each signed call against its function's role (testbed/iam/).
   */
  static async start(upstream: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
    const holder: { proxy?: FaultProxy } = {};
    const server = http.createServer((req, res) => {
      void holder.proxy!.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault proxy: ${(err as Error).message}`);
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const proxy = new FaultProxy(server, upstream, `http://${LOOPBACK}:${port}`, options.iam);
    if (options.elbv2Fidelity)
      proxy.elbv2 = new Elbv2Fidelity(motoCaller(new URL(upstream)), (b) => proxy.rewriteCertificate(b), options.albCertificateQuota);
    holder.proxy = proxy;
    return proxy;
  }

  /** Adds a rule (after the existing ones). */
  addRule(rule: FaultRule): this {
    if (rule.rate !== undefined && (rule.rate < 0 || rule.rate > 1)) throw new RangeError(`rate must be 0..1, got ${rule.rate}`);
    this.rules.push({ rule: { ...rule }, matched: 0, fired: 0 });
    return this;
  }

  /** Removes the rules `match` selects (their counters go with them). */
  removeRules(match: (rule: FaultRule) => boolean): void {
    for (let i = this.rules.length - 1; i >= 0; i--) if (match(this.rules[i]!.rule)) this.rules.splice(i, 1);
  }

  /** With `elbv2Fidelity`: whether the data plane serves an ALB's DNS name (a new ALB is `provisioning` until then). */
  servedBy(serving: (dnsName: string) => boolean): void {
    this.elbv2?.servedBy(serving);
  }

  /** Removes every rule and certificate rewrite; counters restart, the random sequence too. */
  reset(): void {
    this.rules.length = 0;
    this.certificateFailure = undefined;
    for (const k of Object.keys(this.requests)) delete this.requests[k];
    for (const k of Object.keys(this.injectedBy)) delete this.injectedBy[k];
    this.rewritten = 0;
    for (const k of Object.keys(this.refusedBy)) delete this.refusedBy[k];
    this.random = seeded(1);
  }

  /** Makes DescribeCertificate report the chosen certificates as failed or pending (undefined: stop). */
  failCertificates(failure: CertificateFailure | undefined): void {
    this.certificateFailure = failure;
  }

  stats(): FaultProxyStats {
    return {
      requests: { ...this.requests },
      injectedBy: { ...this.injectedBy },
      injected: Object.values(this.injectedBy).reduce((a, b) => a + b, 0),
      rewritten: this.rewritten,
      refusedBy: { ...this.refusedBy },
      rules: this.rules.map((r) => ({ rule: { ...r.rule }, matched: r.matched, fired: r.fired })),
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pick(call: AwsCall): LiveRule | undefined {
    for (const live of this.rules) {
      const { rule } = live;
      if (rule.service !== call.service || (rule.operation !== '*' && rule.operation !== call.operation)) continue;
      live.matched += 1;
      if (rule.times !== undefined && live.fired >= rule.times) continue;
      if (rule.rate !== undefined && this.random() >= rule.rate) continue;
      live.fired += 1;
      return live;
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const call = identifyCall(req, body.toString('utf8'));
    const key = `${call.service}:${call.operation}`;
    this.requests[key] = (this.requests[key] ?? 0) + 1;

    // ---- IAM hook: a denied call answers as AWS would and never reaches moto.
    if (this.iam) {
      const denial = await this.iam.check({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: body.toString('utf8'),
      });
      if (denial) {
        res.writeHead(denial.status, { ...denial.headers, 'content-length': String(Buffer.byteLength(denial.body)) });
        res.end(denial.body);
        return;
      }
    }

    const live = this.pick(call);
    if (live) {
      const fired = `${key}:${live.rule.fault}`;
      this.injectedBy[fired] = (this.injectedBy[fired] ?? 0) + 1;
      if (live.rule.fault === 'delay') {
        await new Promise((r) => setTimeout(r, live.rule.delayMs ?? 500));
      } else {
        const answer = faultResponse(call, live.rule.fault);
        res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
        res.end(answer.body);
        return;
      }
    }

    // ELBv2 through the corrections: one call at a time where ELBv2 applies a change at once (SetRulePriorities).
    if (this.elbv2 && call.service === 'elasticloadbalancing')
      await this.elbv2.gate(call.operation, () => this.answer(req, res, body, call, key));
    else await this.answer(req, res, body, call, key);
  }

  /** Forwards the call (corrected by `elbv2Fidelity`) and writes the answer. */
  private async answer(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, call: AwsCall, key: string): Promise<void> {
    if (this.elbv2 && call.service === 'elasticloadbalancing') {
      const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'us-east-1';
      // ELBv2's own answer where moto's would differ (an error, or a success moto cannot give).
      const answer = await this.elbv2.check(call.operation, region, body.toString('utf8'));
      if (answer) {
        const code = /<Code>([^<]+)<\/Code>/.exec(answer.body)?.[1];
        if (code) this.refusedBy[`${call.operation}:${code}`] = (this.refusedBy[`${call.operation}:${code}`] ?? 0) + 1;
        res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
        res.end(answer.body);
        return;
      }
    }

    // What moto gets may differ (elbv2Fidelity: a jwt-validation action it cannot take is held here).
    const replaced =
      this.elbv2 && call.service === 'elasticloadbalancing' ? this.elbv2.requestBody(call.operation, body.toString('utf8')) : undefined;
    const sent = replaced === undefined ? body : Buffer.from(replaced);
    const queue = this.serialized.get(key);
    let upstream: Awaited<ReturnType<FaultProxy['forward']>>;
    if (queue) {
      const turn = queue.then(() => this.forward(req, sent, replaced !== undefined));
      this.serialized.set(
        key,
        turn.catch(() => undefined),
      );
      upstream = await turn;
    } else {
      upstream = await this.forward(req, sent, replaced !== undefined);
    }
    let out = upstream.body;
    if (call.service === 'acm' && call.operation === 'DescribeCertificate' && this.certificateFailure && upstream.status === 200) {
      out = this.rewriteCertificate(out);
    }
    if (this.elbv2 && call.service === 'elasticloadbalancing')
      out = this.elbv2.rewrite(call.operation, upstream.status, out, body.toString('utf8'));
    const headers = { ...upstream.headers };
    delete headers['transfer-encoding'];
    headers['content-length'] = String(out.length);
    res.writeHead(upstream.status, headers);
    res.end(out);
  }

  private rewriteCertificate(body: Buffer): Buffer {
    const failure = this.certificateFailure;
    if (!failure) return body;
    let parsed: { Certificate?: { CertificateArn?: string; DomainName?: string; Status?: string; FailureReason?: string } };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      return body;
    }
    const cert = parsed.Certificate;
    if (!cert) return body;
    const hit =
      (cert.CertificateArn !== undefined && failure.arns?.includes(cert.CertificateArn)) ||
      (cert.DomainName !== undefined && failure.domainNames?.includes(cert.DomainName));
    if (!hit) return body;
    cert.Status = failure.status;
    if (failure.status === 'FAILED') cert.FailureReason = failure.failureReason ?? 'CAA_ERROR';
    this.rewritten += 1;
    return Buffer.from(JSON.stringify(parsed));
  }

  private forward(
    req: http.IncomingMessage,
    body: Buffer,
    replaced = false,
  ): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { ...req.headers, host: this.upstream.host };
      if (replaced) {
        delete headers['transfer-encoding'];
        headers['content-length'] = String(body.length);
      }
      const up = http.request(
        {
          host: this.upstream.hostname,
          port: this.upstream.port,
          method: req.method,
          path: req.url,
          headers,
          timeout: 30_000,
        },
        (ur) => {
          const parts: Buffer[] = [];
          ur.on('data', (c: Buffer) => parts.push(c));
          ur.on('end', () => resolve({ status: ur.statusCode ?? 502, headers: ur.headers, body: Buffer.concat(parts) }));
          ur.on('error', reject);
        },
      );
      up.on('timeout', () => up.destroy(new Error('upstream timeout')));
      up.on('error', reject);
      up.end(body);
    });
  }
}
