/**
 * Each Lambda's IAM policy, read from the packaged CloudFormation template
 * (`npm run package` → `.serverless/cloudformation-template-update-stack.json`),
 * with the intrinsics the template uses resolved to concrete ARNs for one
 * account and region, so the testbed evaluates exactly what would be deployed.
 *
 * Intrinsics resolved (the ones `serverless.yml` produces in role policies):
 *
 * | intrinsic                     | resolves to                                                          |
 * |-------------------------------|----------------------------------------------------------------------|
 * | `Ref` AWS::Partition/Region/AccountId/StackName | the {@link Deployment}'s values                    |
 * | `Ref` a parameter             | its `Default`, or `deployment.parameters[name]`                       |
 * | `Ref` SNS topic / state machine / log group / role | the ARN (or name) CloudFormation returns for it |
 * | `Fn::GetAtt [X, Arn]`         | the ARN of a log group, role, topic or state machine                 |
 * | `Fn::Sub` (string or `[string, vars]`) | `${Name}` / `${Name.Attr}` substituted the same way          |
 * | `Fn::Join`, `Fn::Split`, `Fn::Select`, `Fn::If` on a known condition | as CloudFormation evaluates them |
 *
 * `deployment.resourceValues` overrides what a `Ref`/`GetAtt` resolves to, for
 * resources the testbed made itself under another name (its SNS topic), and
 * `deployment.hostedZoneIds` stands in for the example zone ids the template
 * was packaged with (moto draws zone ids at random).
 */
import { readFileSync } from 'node:fs';

/** An IAM policy document as the evaluator takes it. */
export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** One function's identity: its role and the inline policies of that role. */
export interface FunctionPolicy {
  /** The key under `functions:` in serverless.yml, e.g. `upsertDnsRecords`. */
  functionKey: string;
  /** The Lambda's logical id, e.g. `UpsertDnsRecordsLambdaFunction`. */
  logicalId: string;
  /** Its deployed name, e.g. `kserve-edge-ci-upsertDnsRecords` (the role session name). */
  functionName: string;
  /** The role's logical id, e.g. `UpsertDnsRecordsRole`. */
  roleLogicalId: string;
  /** The role ARN, e.g. `arn:aws:iam::123456789012:role/kserve-edge/UpsertDnsRecordsRole`. */
  roleArn: string;
  /** The caller as AWS names it: `arn:aws:sts::<acct>:assumed-role/<role name>/<function name>`. */
  principalArn: string;
  policies: Array<{ name: string; document: PolicyDocument }>;
}

/** Where the template is "deployed" for evaluation. */
export interface Deployment {
  accountId: string;
  region: string;
  partition?: string;
  /** Default `kserve-edge-<stage>` is not known offline: `kserve-edge-testbed`. */
  stackName?: string;
  /** Values for template parameters (over their defaults). */
  parameters?: Record<string, string>;
  /** What `Ref`/`Fn::GetAtt [X, Arn]` of a logical id gives, when the testbed made that resource itself. */
  resourceValues?: Record<string, string>;
  /** The hosted zones the role policies should name instead of the packaged (example) ones. */
  hostedZoneIds?: string[];
}

/** The parts of a CloudFormation template this module reads. */
export interface Template {
  Parameters?: Record<string, { Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Condition?: string }>;
}

/** Thrown when the template uses an intrinsic this resolver does not know: better loud than a wrong ARN. */
export class UnresolvableIntrinsicError extends Error {
  override readonly name = 'UnresolvableIntrinsicError';
}

/** Where `npm run package` writes the template, relative to the repository root. */
export const PACKAGED_TEMPLATE = '.serverless/cloudformation-template-update-stack.json';

/** Reads a packaged template from disk. */
export function readTemplate(path: string): Template {
  return JSON.parse(readFileSync(path, 'utf8')) as Template;
}

const LAMBDA_SUFFIX = 'LambdaFunction';

/** `UpsertDnsRecordsLambdaFunction` → `upsertDnsRecords` (osls names logical ids this way). */
export function functionKeyOf(logicalId: string): string {
  const base = logicalId.endsWith(LAMBDA_SUFFIX) ? logicalId.slice(0, -LAMBDA_SUFFIX.length) : logicalId;
  return base.charAt(0).toLowerCase() + base.slice(1);
}

class Resolver {
  private readonly partition: string;
  constructor(
    private readonly template: Template,
    private readonly d: Deployment,
  ) {
    this.partition = d.partition ?? 'aws';
  }

  /** The physical name CloudFormation would give a resource with no explicit name property. */
  private physicalName(logicalId: string): string {
    return `${this.d.stackName ?? 'kserve-edge-testbed'}-${logicalId}`;
  }

  private str(value: unknown, where: string): string {
    const v = this.resolve(value);
    if (typeof v !== 'string') throw new UnresolvableIntrinsicError(`${where}: expected a string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** `Ref X`. */
  ref(name: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': this.partition,
      'AWS::Region': this.d.region,
      'AWS::AccountId': this.d.accountId,
      'AWS::StackName': this.d.stackName ?? 'kserve-edge-testbed',
      'AWS::URLSuffix': this.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
    };
    if (name in pseudo) return pseudo[name]!;
    if (this.d.resourceValues?.[name] !== undefined) return this.d.resourceValues[name];
    const param = this.template.Parameters?.[name];
    if (param) {
      const v = this.d.parameters?.[name] ?? param.Default;
      if (v === undefined) throw new UnresolvableIntrinsicError(`parameter ${name} has no value`);
      return String(v);
    }
    const res = this.template.Resources[name];
    if (!res) throw new UnresolvableIntrinsicError(`Ref to unknown ${name}`);
    const p = res.Properties ?? {};
    switch (res.Type) {
      case 'AWS::SNS::Topic':
        return `arn:${this.partition}:sns:${this.d.region}:${this.d.accountId}:${p.TopicName ? this.str(p.TopicName, name) : this.physicalName(name)}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:${this.partition}:states:${this.d.region}:${this.d.accountId}:stateMachine:${p.StateMachineName ? this.str(p.StateMachineName, name) : this.physicalName(name)}`;
      case 'AWS::Logs::LogGroup':
        return p.LogGroupName ? this.str(p.LogGroupName, name) : this.physicalName(name);
      case 'AWS::IAM::Role':
        return p.RoleName ? this.str(p.RoleName, name) : this.physicalName(name);
      case 'AWS::Lambda::Function':
        return p.FunctionName ? this.str(p.FunctionName, name) : this.physicalName(name);
      default:
        throw new UnresolvableIntrinsicError(`Ref to ${name} (${res.Type}) is not supported`);
    }
  }

  /** `Fn::GetAtt [X, Attr]`. */
  getAtt(logicalId: string, attr: string): string {
    if (attr === 'Arn' && this.d.resourceValues?.[logicalId] !== undefined) return this.d.resourceValues[logicalId];
    const res = this.template.Resources[logicalId];
    if (!res) throw new UnresolvableIntrinsicError(`GetAtt of unknown ${logicalId}`);
    if (attr !== 'Arn') throw new UnresolvableIntrinsicError(`GetAtt ${logicalId}.${attr} is not supported`);
    const p = res.Properties ?? {};
    switch (res.Type) {
      case 'AWS::Logs::LogGroup':
        // CloudFormation's Arn of a log group ends in `:*` (it covers the group's streams).
        return `arn:${this.partition}:logs:${this.d.region}:${this.d.accountId}:log-group:${this.ref(logicalId)}:*`;
      case 'AWS::IAM::Role': {
        const path = p.Path ? this.str(p.Path, logicalId) : '/';
        return `arn:${this.partition}:iam::${this.d.accountId}:role${path}${this.ref(logicalId)}`;
      }
      case 'AWS::SNS::Topic':
      case 'AWS::StepFunctions::StateMachine':
        return this.ref(logicalId);
      case 'AWS::Lambda::Function':
        return `arn:${this.partition}:lambda:${this.d.region}:${this.d.accountId}:function:${this.ref(logicalId)}`;
      // The functions' failure destination (issue 13); Ref of a queue is its URL, so the name is read here.
      case 'AWS::SQS::Queue':
        return `arn:${this.partition}:sqs:${this.d.region}:${this.d.accountId}:${p.QueueName ? this.str(p.QueueName, logicalId) : this.physicalName(logicalId)}`;
      default:
        throw new UnresolvableIntrinsicError(`GetAtt ${logicalId}.Arn (${res.Type}) is not supported`);
    }
  }

  private sub(template: string, vars: Record<string, unknown>): string {
    return template.replace(/\$\{([^}!]+)\}/g, (_, expr: string) => {
      if (expr in vars) return this.str(vars[expr], `Fn::Sub var ${expr}`);
      const dot = expr.indexOf('.');
      if (dot > 0 && !expr.startsWith('AWS::')) return this.getAtt(expr.slice(0, dot), expr.slice(dot + 1));
      return this.ref(expr);
    });
  }

  private condition(name: string): boolean {
    const c = this.template.Conditions?.[name];
    if (c === undefined) throw new UnresolvableIntrinsicError(`unknown condition ${name}`);
    const v = this.resolve(c);
    if (typeof v !== 'boolean') throw new UnresolvableIntrinsicError(`condition ${name} did not resolve to a boolean`);
    return v;
  }

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = obj[k];
      switch (k) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
          return this.getAtt(String(id), String(attr));
        }
        case 'Fn::Sub':
          if (typeof arg === 'string') return this.sub(arg, {});
          return this.sub(String((arg as unknown[])[0]), ((arg as unknown[])[1] ?? {}) as Record<string, unknown>);
        case 'Fn::Join': {
          const [delim, list] = arg as [string, unknown];
          const items = this.resolve(list);
          if (!Array.isArray(items)) throw new UnresolvableIntrinsicError('Fn::Join of a non-list');
          return items.map((x) => String(x)).join(delim);
        }
        case 'Fn::Split': {
          const [delim, src] = arg as [string, unknown];
          return this.str(src, 'Fn::Split').split(delim);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          const items = this.resolve(list) as unknown[];
          return items[Number(this.resolve(index))];
        }
        case 'Fn::If': {
          const [cond, yes, no] = arg as [string, unknown, unknown];
          return this.resolve(this.condition(cond) ? yes : no);
        }
        case 'Fn::Equals': {
          const [a, b] = arg as [unknown, unknown];
          return JSON.stringify(this.resolve(a)) === JSON.stringify(this.resolve(b));
        }
        case 'Fn::Not':
          return !(this.resolve((arg as unknown[])[0]) as boolean);
        case 'Condition':
          return this.condition(String(arg));
        default:
          if (k.startsWith('Fn::')) throw new UnresolvableIntrinsicError(`${k} is not supported`);
      }
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(obj[k])]));
  }
}

const HOSTED_ZONE_ARN = /^arn:[^:]+:route53:::hostedzone\/([^*/]+)$/;

/** Replaces the packaged (example) zone ARNs of a statement's Resource by the deployment's zones. */
function withZones(statement: PolicyStatement, partition: string, zoneIds: readonly string[] | undefined): PolicyStatement {
  if (!zoneIds || statement.Resource === undefined) return statement;
  const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
  const others = resources.filter((r) => !HOSTED_ZONE_ARN.test(r));
  if (others.length === resources.length) return statement;
  const zones = zoneIds.map((id) => `arn:${partition}:route53:::hostedzone/${id.replace(/^\/?hostedzone\//, '')}`);
  return { ...statement, Resource: [...others, ...zones] };
}

/**
 * Every Lambda function of the template with its role's inline policies,
 * resolved for `deployment`, keyed by the function key of serverless.yml.
 *
 * @example
 *   const fns = functionPolicies(readTemplate(PACKAGED_TEMPLATE), { accountId: '123456789012', region: 'us-west-2' });
 *   fns.get('upsertDnsRecords')!.policies[0]!.document.Statement
 */
export function functionPolicies(template: Template, deployment: Deployment): Map<string, FunctionPolicy> {
  const r = new Resolver(template, deployment);
  const partition = deployment.partition ?? 'aws';
  const out = new Map<string, FunctionPolicy>();
  for (const [logicalId, res] of Object.entries(template.Resources)) {
    if (res.Type !== 'AWS::Lambda::Function') continue;
    const role = (res.Properties ?? {}).Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
    const roleLogicalId = role?.['Fn::GetAtt']?.[0];
    if (!roleLogicalId) throw new UnresolvableIntrinsicError(`${logicalId}: Role is not Fn::GetAtt [<role>, Arn]`);
    const roleRes = template.Resources[roleLogicalId];
    if (roleRes?.Type !== 'AWS::IAM::Role') throw new UnresolvableIntrinsicError(`${logicalId}: ${roleLogicalId} is not an AWS::IAM::Role`);
    const rawPolicies = ((roleRes.Properties ?? {}).Policies ?? []) as Array<{ PolicyName: unknown; PolicyDocument: unknown }>;
    const policies = rawPolicies.map((p) => {
      const document = r.resolve(p.PolicyDocument) as PolicyDocument;
      document.Statement = document.Statement.map((s) => withZones(s, partition, deployment.hostedZoneIds));
      return { name: String(r.resolve(p.PolicyName)), document };
    });
    const functionName = r.ref(logicalId);
    const roleArn = r.getAtt(roleLogicalId, 'Arn');
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    const functionKey = functionKeyOf(logicalId);
    out.set(functionKey, {
      functionKey,
      logicalId,
      functionName,
      roleLogicalId,
      roleArn,
      principalArn: `arn:${partition}:sts::${deployment.accountId}:assumed-role/${roleName}/${functionName}`,
      policies,
    });
  }
  return out;
}
