/**
 * IAM enforcement for the AWS proxy: who is calling (the SigV4 access key id),
 * what they ask (testbed/iam/requests.ts), whether their role allows it
 * (testbed/iam/evaluate.ts), and AWS's denial when it does not.
 *
 *   SigV4 `Credential=<AKID>/…` ──► function key ──► role policies (packaged template)
 *                                        │
 *   request ──► IamRequest (+ resource tags, secret ARN looked up in moto) ──► evaluate ──► forward | deny
 *
 * Access keys the map does not know (the testbed's own set-up calls, the
 * load-balancer controller) pass unevaluated, as do requests with no SigV4.
 * A known caller's call that the mapper cannot map is refused with 502 and
 * the reason: it must not slip through unevaluated.
 *
 * @example
 *   const iam = await IamEnforcer.fromTemplate(readTemplate(PACKAGED_TEMPLATE), {
 *     deployment: { accountId: '123456789012', region: 'us-west-2', hostedZoneIds: [zoneId] },
 *     // accessKeys: default functionAccessKeyId(key) of every function (what the packaged workers sign with)
 *     lookups: motoLookups(motoUrl),
 *   });
 *   const proxy = await FaultProxy.start(motoUrl, { iam });
 */
import http from 'node:http';
import { functionAccessKeyId, functionSecretAccessKey } from '../../local/packaged';
import { evaluate, denialResponse, type Decision, type HttpAnswer } from './evaluate';
import { functionPolicies, type Deployment, type FunctionPolicy, type Template } from './policies';
import { credentialScope, toIamRequest, UnmappedCallError, type IamRequest, type WireRequest } from './requests';

/** Values IAM knows about a resource that the request does not carry. */
export interface RequestLookups {
  /** Tags of an ACM certificate or a secret (`undefined` when it does not exist). */
  resourceTags(kind: 'acm-certificate' | 'secret', id: string, region: string): Promise<Record<string, string> | undefined>;
  /** Full ARN of a secret named `id` (AWS evaluates the ARN with its random suffix). */
  secretArn(id: string, region: string): Promise<string | undefined>;
}

/** One evaluated call, for assertions and reports. */
export interface IamDecisionRecord {
  functionKey: string;
  action: string;
  resource: string;
  decision: Decision | 'Unmapped';
  statements: string[];
}

/**
 * The access key id a function signs with in the testbed: the one its
 * packaged worker gets (`functionAccessKeyId` in local/packaged.ts, `AKIDKSE`
 * + the function key in upper case, cut to AWS's 20 characters, e.g.
 * `AKIDKSEUPSERTDNSRECO`). One scheme for the runner and the enforcer, so every
 * worker's call is recognized and evaluated.
 */
export function testAccessKeyId(functionKey: string): string {
  return functionAccessKeyId(functionKey);
}

/**
 * The environment a function's process gets so that its calls are signed as
 * that function (what Lambda gives it from its role, here the test key).
 *
 * @example
 *   spawn(node, [worker], { env: { ...base, ...testCredentialsEnv('upsertDnsRecords') } })
 */
export function testCredentialsEnv(functionKey: string): { AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string } {
  // moto does not check signatures; the secret only has to be present for the SDK to sign.
  return { AWS_ACCESS_KEY_ID: testAccessKeyId(functionKey), AWS_SECRET_ACCESS_KEY: functionSecretAccessKey(functionKey) };
}

/**
 * AKID → function key for `functionKeys`, using {@link testAccessKeyId}.
 *
 * @throws RangeError when two functions would share a key id (the 20-character cut).
 */
export function testAccessKeys(functionKeys: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of functionKeys) {
    const id = testAccessKeyId(k);
    const clash = out.get(id);
    if (clash) throw new RangeError(`functions ${clash} and ${k} would share the access key id ${id}`);
    out.set(id, k);
  }
  return out;
}

/**
 * `policies` without the statement(s) whose Sid is `sid`.
 *
 * @throws RangeError when no statement has that Sid (a test must not remove nothing).
 */
export function withoutStatement(policies: FunctionPolicy['policies'], sid: string): FunctionPolicy['policies'] {
  let removed = 0;
  const out = policies.map((p) => {
    const kept = p.document.Statement.filter((st) => st.Sid !== sid);
    removed += p.document.Statement.length - kept.length;
    return { name: p.name, document: { ...p.document, Statement: kept } };
  });
  if (removed === 0) throw new RangeError(`no statement ${sid} in ${policies.map((p) => p.name).join(', ')}`);
  // A policy with no statement left is gone (IAM does not take an empty one).
  return out.filter((p) => p.document.Statement.length > 0);
}

export interface IamEnforcerOptions {
  deployment: Deployment;
  /** Access key id → function key (serverless.yml `functions:` key); default {@link testAccessKeys} of every function. */
  accessKeys?: Map<string, string>;
  lookups?: RequestLookups;
}

/** The proxy hook: see the module comment. */
export class IamEnforcer {
  private readonly log: IamDecisionRecord[] = [];
  private readonly accessKeys: Map<string, string>;

  constructor(
    readonly functions: Map<string, FunctionPolicy>,
    private readonly options: IamEnforcerOptions,
  ) {
    this.accessKeys = options.accessKeys ?? testAccessKeys(functions.keys());
    for (const [akid, key] of this.accessKeys) {
      if (!functions.has(key)) throw new RangeError(`access key ${akid} names ${key}, which is not a function of the template`);
    }
  }

  /** An enforcer for every function of a packaged template. */
  static fromTemplate(template: Template, options: IamEnforcerOptions): IamEnforcer {
    return new IamEnforcer(functionPolicies(template, options.deployment), options);
  }

  /**
   * Replaces `functionKey`'s role policies by `transform(current)` until the
   * returned function is called: a test's way to run the product with a
   * permission taken out of the template (the result must still be a valid
   * role; a statement removed is the usual change).
   *
   * @example
   *   const restore = tb.iam!.overridePolicies('checkCertificates', (ps) => withoutStatement(ps, 'ReadOurCertificates'));
   *   try { … a run now meets AccessDenied … } finally { restore(); }
   */
  overridePolicies(functionKey: string, transform: (policies: FunctionPolicy['policies']) => FunctionPolicy['policies']): () => void {
    const original = this.functions.get(functionKey);
    if (!original) throw new RangeError(`${functionKey} is not a function of the template`);
    const copy = structuredClone(original.policies);
    this.functions.set(functionKey, { ...original, policies: transform(copy) });
    return () => {
      this.functions.set(functionKey, original);
    };
  }

  /** Every decision so far, oldest first. */
  decisions(): IamDecisionRecord[] {
    return this.log.map((d) => ({ ...d, statements: [...d.statements] }));
  }

  /** The function a request comes from, by its access key id; `undefined` = not enforced. */
  callerOf(req: Pick<WireRequest, 'headers' | 'url'>): FunctionPolicy | undefined {
    const scope = credentialScope(req);
    const key = scope ? this.accessKeys.get(scope.accessKeyId) : undefined;
    return key ? this.functions.get(key) : undefined;
  }

  /** Fills in what AWS knows beyond the request: the secret's ARN and the resource's tags. */
  private async complete(request: IamRequest, region: string): Promise<IamRequest> {
    const lookups = this.options.lookups;
    if (!request.tagsOf || !lookups) return request;
    const out = { ...request, context: { ...request.context } };
    if (request.tagsOf.kind === 'secret' && !request.tagsOf.id.startsWith('arn:')) {
      const arn = await lookups.secretArn(request.tagsOf.id, region);
      if (arn) out.resource = arn;
    }
    const tags = await lookups.resourceTags(request.tagsOf.kind, request.tagsOf.id, region);
    for (const [k, v] of Object.entries(tags ?? {})) out.context[`aws:ResourceTag/${k}`] = v;
    return out;
  }

  /**
   * `undefined` when the request may go on to AWS (moto); otherwise the answer
   * to send instead (AWS's denial, or a 502 for an unmapped call).
   */
  async check(req: WireRequest): Promise<HttpAnswer | undefined> {
    const fn = this.callerOf(req);
    if (!fn) return undefined;
    let request: IamRequest;
    try {
      request = toIamRequest(req, { accountId: this.options.deployment.accountId, partition: this.options.deployment.partition });
    } catch (err) {
      if (!(err instanceof UnmappedCallError)) throw err;
      this.log.push({ functionKey: fn.functionKey, action: '?', resource: '?', decision: 'Unmapped', statements: [] });
      return {
        status: 502,
        headers: { 'content-type': 'text/plain' },
        body: `testbed IAM: ${err.message}; add it to testbed/iam/requests.ts`,
      };
    }
    const region = credentialScope(req)?.region ?? this.options.deployment.region;
    const complete = await this.complete(request, region);
    const result = await evaluate(fn, complete, this.options.deployment.accountId);
    this.log.push({
      functionKey: fn.functionKey,
      action: complete.action,
      resource: complete.resource,
      decision: result.decision,
      statements: result.decisiveStatements,
    });
    return result.decision === 'Allowed' ? undefined : denialResponse(fn.principalArn, complete, result.decision);
  }
}

function postJson(
  base: string,
  target: string,
  body: unknown,
  region: string,
  service: string,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const payload = JSON.stringify(body);
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': target,
          // moto routes by the credential scope; the key is the testbed's own, so a proxy would pass it.
          authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
          'content-length': String(Buffer.byteLength(payload)),
        },
        timeout: 10_000,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} });
          } catch {
            resolve({ status: res.statusCode ?? 0, json: {} });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('lookup timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * {@link RequestLookups} that ask moto (or any AWS endpoint reachable without
 * real credentials) directly, past the proxy.
 */
export function motoLookups(motoUrl: string): RequestLookups {
  return {
    async resourceTags(kind, id, region) {
      if (kind === 'acm-certificate') {
        const r = await postJson(motoUrl, 'CertificateManager.ListTagsForCertificate', { CertificateArn: id }, region, 'acm');
        if (r.status !== 200) return undefined;
        const tags = (r.json as { Tags?: Array<{ Key: string; Value?: string }> }).Tags ?? [];
        return Object.fromEntries(tags.map((t) => [t.Key, t.Value ?? '']));
      }
      const r = await postJson(motoUrl, 'secretsmanager.DescribeSecret', { SecretId: id }, region, 'secretsmanager');
      if (r.status !== 200) return undefined;
      const tags = (r.json as { Tags?: Array<{ Key: string; Value?: string }> }).Tags ?? [];
      return Object.fromEntries(tags.map((t) => [t.Key, t.Value ?? '']));
    },
    async secretArn(id, region) {
      const r = await postJson(motoUrl, 'secretsmanager.DescribeSecret', { SecretId: id }, region, 'secretsmanager');
      return r.status === 200 ? (r.json as { ARN?: string }).ARN : undefined;
    },
  };
}
