/**
 * From an HTTP request the product's SDK sent to the AWS endpoint, the IAM
 * request AWS evaluates: action, resource ARN and the condition context keys.
 *
 * | call (wire protocol)                                   | action                              | resource                                 | context keys set here                                                                 |
 * |--------------------------------------------------------|-------------------------------------|------------------------------------------|---------------------------------------------------------------------------------------|
 * | ACM ListCertificates (JSON 1.1)                        | acm:ListCertificates                | `*`                                      |                                                                                       |
 * | ACM RequestCertificate                                 | acm:RequestCertificate              | `*` (no resource type in the SAR)        | acm:ValidationMethod, acm:DomainNames, acm:KeyAlgorithm, aws:RequestTag/*, aws:TagKeys |
 * | ACM DescribeCertificate, ListTagsForCertificate, DeleteCertificate | acm:<op>                | the certificate ARN                      | aws:ResourceTag/* (looked up)                                                         |
 * | ACM AddTagsToCertificate                               | acm:AddTagsToCertificate            | the certificate ARN                      | aws:ResourceTag/*, aws:RequestTag/*, aws:TagKeys                                      |
 * | Route 53 ListHostedZonesByName (REST-XML)              | route53:ListHostedZonesByName       | `*`                                      |                                                                                       |
 * | Route 53 GetHostedZone, ListResourceRecordSets         | route53:<op>                        | `arn:<p>:route53:::hostedzone/<id>`      |                                                                                       |
 * | Route 53 ChangeResourceRecordSets                      | route53:ChangeResourceRecordSets    | `arn:<p>:route53:::hostedzone/<id>`      | route53:ChangeResourceRecordSets{Actions,RecordTypes,NormalizedRecordNames}            |
 * | Route 53 GetChange                                     | route53:GetChange                   | `arn:<p>:route53:::change/<id>`          |                                                                                       |
 * | EKS DescribeCluster (REST-JSON)                        | eks:DescribeCluster                 | `arn:<p>:eks:<region>:<acct>:cluster/<n>`|                                                                                       |
 * | Secrets Manager GetSecretValue (JSON 1.1)              | secretsmanager:GetSecretValue       | the secret's full ARN (looked up)        | aws:ResourceTag/* (looked up)                                                         |
 * | SNS Publish (query)                                    | sns:Publish                         | the topic ARN                            |                                                                                       |
 * | Step Functions StartExecution (JSON 1.0)               | states:StartExecution               | the state machine ARN                    |                                                                                       |
 * | Step Functions DescribeExecution                       | states:DescribeExecution            | the execution ARN                        |                                                                                       |
 * | ELBv2 DescribeLoadBalancers, DescribeListeners, DescribeListenerCertificates, DescribeAccountLimits (query) | elasticloadbalancing:<op> | `*` (no resource-level permissions) |                                                             |
 * | Resource Groups Tagging GetResources (JSON 1.1)        | tag:GetResources                    | `*`                                      |                                                                                       |
 * | Service Quotas GetServiceQuota (JSON 1.1)              | servicequotas:GetServiceQuota       | `*`                                      |                                                                                       |
 * | STS GetCallerIdentity (query)                          | sts:GetCallerIdentity               | `*`                                      | always allowed: AWS needs no permission for it                                        |
 *
 * The EKS bearer token is a *presigned* GetCallerIdentity that the cluster
 * (aws-iam-authenticator) sends to STS, not the function: it never crosses the
 * proxy, and GetCallerIdentity needs no permission anyway.
 *
 * Route 53 normalizes record names for `route53:ChangeResourceRecordSetsNormalizedRecordNames`
 * (Route 53 developer guide, "Normalizing the Route 53 condition key values"):
 * lower case, no trailing dot, and every character outside `a-z 0-9 - _ .`
 * as a backslash and three octal digits, so `*.team-a.example.com.` is
 * `\052.team-a.example.com`.
 */
import { unescapeXml } from '../lib/aws-query';

/** The request as the proxy saw it. */
export interface WireRequest {
  method: string;
  /** Path and query, e.g. `/2013-04-01/hostedzone/Z1/rrset`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export type Protocol = 'json' | 'rest-xml' | 'rest-json' | 'query';

/** What AWS would evaluate. */
export interface IamRequest {
  /** SigV4 service, e.g. `acm`, `route53`, `states`. */
  service: string;
  /** API operation, e.g. `ChangeResourceRecordSets`. */
  operation: string;
  protocol: Protocol;
  /** IAM action, e.g. `route53:ChangeResourceRecordSets`. */
  action: string;
  /** Resource ARN, or `*` for actions without a resource type. */
  resource: string;
  /** Condition keys known from the request itself. */
  context: Record<string, string | string[]>;
  /** Resource whose tags AWS adds as `aws:ResourceTag/<key>` (filled in by {@link RequestLookups}). */
  tagsOf?: { kind: 'acm-certificate' | 'secret'; id: string };
  /** True when AWS authorizes the call without any policy (sts:GetCallerIdentity). */
  alwaysAllowed?: boolean;
}

/** Thrown for a call the mapper does not know: an enforced caller must not slip through unevaluated. */
export class UnmappedCallError extends Error {
  override readonly name = 'UnmappedCallError';
}

/** Account and region the ARNs are built for. */
export interface Scope {
  accountId: string;
  partition?: string;
}

function header(h: WireRequest['headers'], name: string): string | undefined {
  const v = h[name] ?? h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** `Credential=<akid>/<date>/<region>/<service>/aws4_request` of the SigV4 Authorization header (or a presigned query). */
export function credentialScope(
  req: Pick<WireRequest, 'headers' | 'url'>,
): { accessKeyId: string; region: string; service: string } | undefined {
  const auth = header(req.headers, 'authorization') ?? '';
  let m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
  if (!m) {
    const cred = new URL(req.url, 'http://x').searchParams.get('X-Amz-Credential') ?? '';
    m = /^([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request$/.exec(cred);
  }
  return m ? { accessKeyId: m[1]!, region: m[2]!, service: m[3]! } : undefined;
}

/**
 * A DNS name as `route53:ChangeResourceRecordSetsNormalizedRecordNames` holds it.
 *
 * @example
 *   normalizeRecordName('*.Team-A.example.com.') // '\\052.team-a.example.com'
 */
export function normalizeRecordName(name: string): string {
  const plain = name.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  const lower = plain.toLowerCase().replace(/\.$/, '');
  return lower.replace(/[^a-z0-9\-_.]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** Actions, record types and normalized names of a ChangeResourceRecordSets body (distinct values, in order of appearance). */
export function changeBatchKeys(xml: string): { actions: string[]; types: string[]; names: string[] } {
  const actions = new Set<string>();
  const types = new Set<string>();
  const names = new Set<string>();
  for (const change of xml.match(/<Change>[\s\S]*?<\/Change>/g) ?? []) {
    const action = /<Action>([^<]*)<\/Action>/.exec(change)?.[1];
    const set = /<ResourceRecordSet>([\s\S]*?)<\/ResourceRecordSet>/.exec(change)?.[1] ?? '';
    // Name and Type are direct children; AliasTarget's DNSName is another tag.
    const name = /<Name>([^<]*)<\/Name>/.exec(set)?.[1];
    const type = /<Type>([^<]*)<\/Type>/.exec(set)?.[1];
    if (action) actions.add(unescapeXml(action).trim());
    if (type) types.add(unescapeXml(type).trim());
    if (name) names.add(normalizeRecordName(unescapeXml(name).trim()));
  }
  return { actions: [...actions], types: [...types], names: [...names] };
}

function tagKeys(tags: unknown): { requestTags: Record<string, string>; keys: string[] } {
  const requestTags: Record<string, string> = {};
  for (const t of (Array.isArray(tags) ? tags : []) as Array<{ Key?: string; Value?: string }>) {
    if (t.Key !== undefined) requestTags[`aws:RequestTag/${t.Key}`] = t.Value ?? '';
  }
  return { requestTags, keys: Object.keys(requestTags).map((k) => k.slice('aws:RequestTag/'.length)) };
}

function parseJson(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new UnmappedCallError('request body is not JSON');
  }
}

function acm(op: string, input: Record<string, unknown>, region: string, s: Scope): IamRequest {
  const base = { service: 'acm', operation: op, protocol: 'json' as const, action: `acm:${op}` };
  const arn = typeof input.CertificateArn === 'string' ? input.CertificateArn : undefined;
  switch (op) {
    case 'ListCertificates':
      return { ...base, resource: '*', context: {} };
    case 'RequestCertificate': {
      const { requestTags, keys } = tagKeys(input.Tags);
      const names = [input.DomainName, ...((input.SubjectAlternativeNames as unknown[]) ?? [])].filter(
        (n): n is string => typeof n === 'string',
      );
      const context: Record<string, string | string[]> = {
        ...requestTags,
        // ACM's defaults when the request leaves them out.
        'acm:ValidationMethod': typeof input.ValidationMethod === 'string' ? input.ValidationMethod : 'EMAIL',
        'acm:KeyAlgorithm': typeof input.KeyAlgorithm === 'string' ? input.KeyAlgorithm : 'RSA_2048',
        'acm:DomainNames': [...new Set(names)],
      };
      if (keys.length > 0) context['aws:TagKeys'] = keys;
      return { ...base, resource: '*', context };
    }
    case 'DescribeCertificate':
    case 'ListTagsForCertificate':
    case 'DeleteCertificate':
    case 'AddTagsToCertificate': {
      if (!arn) throw new UnmappedCallError(`acm:${op} without a CertificateArn`);
      const context: Record<string, string | string[]> = {};
      if (op === 'AddTagsToCertificate') {
        const { requestTags, keys } = tagKeys(input.Tags);
        Object.assign(context, requestTags);
        if (keys.length > 0) context['aws:TagKeys'] = keys;
      }
      return { ...base, resource: arn, context, tagsOf: { kind: 'acm-certificate', id: arn } };
    }
    default:
      throw new UnmappedCallError(`acm:${op} is not mapped (region ${region}, account ${s.accountId})`);
  }
}

/** The ELBv2 reads GetLoadBalancerAddress makes. */
const ELBV2_DESCRIBE = new Set(['DescribeLoadBalancers', 'DescribeListeners', 'DescribeListenerCertificates', 'DescribeAccountLimits']);

function route53(method: string, path: string, body: string, s: Scope): IamRequest {
  const p = path.replace(/^\/2013-04-01/, '');
  const partition = s.partition ?? 'aws';
  const zone = (id: string) => `arn:${partition}:route53:::hostedzone/${id}`;
  const base = { service: 'route53', protocol: 'rest-xml' as const };
  let m: RegExpExecArray | null;
  if (method === 'GET' && /^\/hostedzonesbyname\/?$/.test(p)) {
    return { ...base, operation: 'ListHostedZonesByName', action: 'route53:ListHostedZonesByName', resource: '*', context: {} };
  }
  if ((m = /^\/hostedzone\/([^/]+)\/rrset\/?$/.exec(p))) {
    if (method === 'POST') {
      const k = changeBatchKeys(body);
      return {
        ...base,
        operation: 'ChangeResourceRecordSets',
        action: 'route53:ChangeResourceRecordSets',
        resource: zone(m[1]!),
        context: {
          'route53:ChangeResourceRecordSetsActions': k.actions,
          'route53:ChangeResourceRecordSetsRecordTypes': k.types,
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': k.names,
        },
      };
    }
    if (method === 'GET') {
      return { ...base, operation: 'ListResourceRecordSets', action: 'route53:ListResourceRecordSets', resource: zone(m[1]!), context: {} };
    }
  }
  if (method === 'GET' && (m = /^\/hostedzone\/([^/]+)$/.exec(p))) {
    return { ...base, operation: 'GetHostedZone', action: 'route53:GetHostedZone', resource: zone(m[1]!), context: {} };
  }
  if (method === 'GET' && (m = /^\/change\/([^/]+)$/.exec(p))) {
    return {
      ...base,
      operation: 'GetChange',
      action: 'route53:GetChange',
      resource: `arn:${partition}:route53:::change/${m[1]!}`,
      context: {},
    };
  }
  throw new UnmappedCallError(`route53 ${method} ${path} is not mapped`);
}

/**
 * Maps one request to what IAM evaluates. Throws {@link UnmappedCallError}
 * for a call outside the table above.
 *
 * @example
 *   toIamRequest({ method: 'POST', url: '/2013-04-01/hostedzone/Z1/rrset', headers, body }, { accountId: '123456789012' })
 *   // { action: 'route53:ChangeResourceRecordSets', resource: 'arn:aws:route53:::hostedzone/Z1', context: { … } }
 */
export function toIamRequest(req: WireRequest, s: Scope): IamRequest {
  const scope = credentialScope(req);
  if (!scope) throw new UnmappedCallError('request is not SigV4-signed');
  const { region, service } = scope;
  const partition = s.partition ?? 'aws';
  const method = req.method.toUpperCase();
  const url = new URL(req.url, 'http://x');
  const target = header(req.headers, 'x-amz-target');
  if (target) {
    const op = target.slice(target.lastIndexOf('.') + 1);
    const input = parseJson(req.body);
    if (service === 'acm') return acm(op, input, region, s);
    const base = { service, operation: op, protocol: 'json' as const };
    if (service === 'secretsmanager' && op === 'GetSecretValue') {
      const id = String(input.SecretId ?? '');
      const arn = id.startsWith('arn:') ? id : undefined;
      return {
        ...base,
        action: 'secretsmanager:GetSecretValue',
        // A name is looked up to its full ARN (with AWS's random suffix) before evaluation.
        resource: arn ?? `arn:${partition}:secretsmanager:${region}:${s.accountId}:secret:${id}`,
        context: {},
        tagsOf: { kind: 'secret', id },
      };
    }
    if (service === 'states' && op === 'StartExecution') {
      return { ...base, action: 'states:StartExecution', resource: String(input.stateMachineArn ?? ''), context: {} };
    }
    if (service === 'states' && op === 'DescribeExecution') {
      return { ...base, action: 'states:DescribeExecution', resource: String(input.executionArn ?? ''), context: {} };
    }
    if (service === 'servicequotas' && op === 'GetServiceQuota') {
      // The quota's ARN would be arn:aws:servicequotas:<region>:<account>:<service>/<code>; the role allows `*`.
      return { ...base, action: 'servicequotas:GetServiceQuota', resource: '*', context: {} };
    }
    if (service === 'tagging' && op === 'GetResources') {
      return { ...base, action: 'tag:GetResources', resource: '*', context: {} };
    }
    throw new UnmappedCallError(`${service} ${target} is not mapped`);
  }
  if (service === 'route53') return route53(method, url.pathname, req.body, s);
  if (service === 'eks') {
    const m = /^\/clusters\/([^/]+)$/.exec(url.pathname);
    if (method === 'GET' && m) {
      const name = decodeURIComponent(m[1]!);
      return {
        service,
        operation: 'DescribeCluster',
        protocol: 'rest-json',
        action: 'eks:DescribeCluster',
        resource: `arn:${partition}:eks:${region}:${s.accountId}:cluster/${name}`,
        context: {},
      };
    }
    throw new UnmappedCallError(`eks ${method} ${url.pathname} is not mapped`);
  }
  const form = new URLSearchParams(method === 'GET' ? url.search : req.body);
  const action = form.get('Action') ?? url.searchParams.get('Action') ?? '';
  if (service === 'sns' && action === 'Publish') {
    const topic = form.get('TopicArn') ?? form.get('TargetArn') ?? '';
    return { service, operation: action, protocol: 'query', action: 'sns:Publish', resource: topic, context: {} };
  }
  if (service === 'elasticloadbalancing' && ELBV2_DESCRIBE.has(action)) {
    // ELBv2's Describe actions have no resource-level permissions: IAM evaluates them on `*`.
    return { service, operation: action, protocol: 'query', action: `elasticloadbalancing:${action}`, resource: '*', context: {} };
  }
  if (service === 'sts' && action === 'GetCallerIdentity') {
    return {
      service,
      operation: action,
      protocol: 'query',
      action: 'sts:GetCallerIdentity',
      resource: '*',
      context: {},
      alwaysAllowed: true,
    };
  }
  throw new UnmappedCallError(`${service} ${method} ${url.pathname} ${action} is not mapped`);
}
