#!/usr/bin/env node
/**
 * Checks what `osls package` produced (scripts/package.sh runs it) and prints a
 * summary. Exit code 0 = the template and the bundles are what we deploy:
 *
 * - the state machine, its definition calling exactly the functions of the ASL's Tasks;
 * - one AWS::Lambda::Function per ASL Task, each on nodejs24.x / arm64, with the
 *   handler `functions/<kebab>/handler.handler` and its own IAM role;
 * - no role shared, no wildcard action, `Resource: "*"` only where AWS offers nothing narrower;
 * - the SNS topic, the failed-executions alarm on it, the `kserve-edge` EventBridge rule;
 * - the Errors alarms of the asynchronously invoked functions, their on-failure destination (an
 *   encrypted queue, alarmed when not empty, SendMessage on it only) and the AuditEventsUnparsed alarm;
 * - the release artefact (release/: scripts/release.mjs) is complete: every function's zip that its
 *   template names is there, and its README's commands name the template file;
 * - every zip holds its handler bundle, and that bundle loads in a bare Node 24 (the runtime's major)
 *   outside the repository (so nothing resolves from node_modules by accident).
 *
 * - the network placement: with --expect-vpc (packaged with the params subnetIds and securityGroupIds)
 *   every function has VpcConfig, KSERVE_EDGE_IN_VPC=true and its role the VpcNetworkInterfaces policy;
 *   without, none has any of them;
 *
 * - the audit-event source (--audit-events MODE, the param auditEvents): `subscription` has our
 *   filter and CloudWatch Logs' permission to invoke; `forwarded` and `off` have neither, and
 *   `forwarded` lets the forwarder's role invoke;
 *
 * Usage: node scripts/check-template.mjs [.serverless] [--elapsed-ms N] [--expect-vpc] [--audit-events MODE]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const args = process.argv.slice(2);
const elapsedIndex = args.indexOf('--elapsed-ms');
const elapsedMs = elapsedIndex >= 0 ? Number(args[elapsedIndex + 1]) : undefined;
/** Packaged with the params subnetIds / securityGroupIds (scripts/package.sh passes it then). */
const expectVpc = args.includes('--expect-vpc');
/** The param auditEvents it was packaged with (subscription, forwarded, off); scripts/package.sh passes it. */
const auditIndex = args.indexOf('--audit-events');
const auditEvents = auditIndex >= 0 ? args[auditIndex + 1] : 'subscription';
const dir = resolve(args.find((a, i) => !a.startsWith('--') && !['--elapsed-ms', '--audit-events'].includes(args[i - 1])) ?? '.serverless');
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

const problems = [];
const check = (ok, message) => {
  if (!ok) problems.push(message);
  return ok;
};

// ------------------------------------------------------------------ inputs

const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
const resources = template.Resources ?? {};
/** Each state machine's logical id and its definition file. */
const MACHINES = {
  ProvisionStateMachine: 'statemachine/provision.asl.json',
  DeprovisionStateMachine: 'statemachine/deprovision.asl.json',
};
const asls = Object.fromEntries(Object.entries(MACHINES).map(([id, file]) => [id, JSON.parse(readFileSync(join(root, file), 'utf8'))]));

/** state name → function key, from `{"Fn::GetAtt": ["<key>", "Arn"]}` */
const tasksOf = (asl) =>
  Object.fromEntries(
    Object.entries(asl.States)
      .filter(([, s]) => s.Type === 'Task')
      .map(([name, s]) => [name, s.Resource?.['Fn::GetAtt']?.[0]]),
  );
/** Every Task of every state machine (NotifyFailure is shared). */
const taskKeys = Object.assign({}, ...Object.values(asls).map(tasksOf));
/** Functions that are not Tasks: the schedules and the audit-log subscription, named like Tasks. */
const TRIGGER_FUNCTIONS = { ScheduledCanary: 'scheduledCanary', NamespaceEvents: 'namespaceEvents', Sweep: 'sweep' };
const functionKeys = { ...taskKeys, ...TRIGGER_FUNCTIONS };
const pascal = (key) => key.charAt(0).toUpperCase() + key.slice(1);
const kebab = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const byType = (type) => Object.entries(resources).filter(([, r]) => r.Type === type);
const refersTo = (value, logicalId) => JSON.stringify(value ?? null).includes(`"${logicalId}"`);

// ------------------------------------------------------------------ state machine

const machines = byType('AWS::StepFunctions::StateMachine');
check(
  JSON.stringify(machines.map(([id]) => id).sort()) === JSON.stringify(Object.keys(MACHINES).sort()),
  `expected state machines ${Object.keys(MACHINES).join(', ')}, found ${machines.map(([id]) => id).join(', ')}`,
);
const machineId = 'ProvisionStateMachine';
for (const [id, machine] of machines) {
  const asl = asls[id];
  if (!asl) continue;
  const machineTasks = tasksOf(asl);
  const def = machine.Properties.DefinitionString;
  check(Array.isArray(def?.['Fn::Sub']), `${id}: DefinitionString is not a Fn::Sub with Lambda ARN parameters`);
  const [body, params] = def?.['Fn::Sub'] ?? ['{}', {}];
  const parsed = JSON.parse(body.replace(/\$\{[^}]+\}/g, 'arn:placeholder'));
  const deployedTasks = Object.entries(parsed.States ?? {})
    .filter(([, s]) => s.Type === 'Task')
    .map(([n]) => n);
  check(
    JSON.stringify([...deployedTasks].sort()) === JSON.stringify(Object.keys(machineTasks).sort()),
    `${id}: deployed Tasks ${deployedTasks.join(',')} differ from the ASL's ${Object.keys(machineTasks).join(',')}`,
  );
  for (const [state, key] of Object.entries(machineTasks)) {
    const placeholder = /\$\{([^}]+)\}/.exec(JSON.stringify(JSON.parse(body).States?.[state]?.Resource ?? ''))?.[1];
    const target = placeholder ? params[placeholder] : undefined;
    check(
      refersTo(target, `${pascal(key)}LambdaFunction`),
      `${id}: Task ${state} does not call ${pascal(key)}LambdaFunction (got ${JSON.stringify(target)})`,
    );
  }
  check(machine.Properties.StateMachineType === 'STANDARD', `${id} is not STANDARD`);
  check(!/QueryLanguage"\s*:\s*"JSONata/.test(body), `${id}: the deployed definition uses JSONata, which the local runner ignores`);
}

// ------------------------------------------------------------------ functions and roles

const functions = byType('AWS::Lambda::Function');
check(
  functions.length === Object.keys(functionKeys).length,
  `expected ${Object.keys(functionKeys).length} Lambda functions (one per ASL Task and trigger), found ${functions.length}`,
);
// The bundles are probed below with this very Node: it must be the runtime's major, or "loads" proves nothing.
check(
  process.versions.node.split('.')[0] === '24',
  `check-template runs on Node ${process.version}, not the runtime's Node 24: put node_modules/.bin first on PATH`,
);
const rolesSeen = new Map();
for (const [state, key] of Object.entries(functionKeys)) {
  const id = `${pascal(key)}LambdaFunction`;
  const fn = resources[id];
  if (!check(fn?.Type === 'AWS::Lambda::Function', `no AWS::Lambda::Function ${id} for Task ${state}`)) continue;
  const p = fn.Properties;
  check(p.Runtime === 'nodejs24.x', `${id}: Runtime ${p.Runtime}, expected nodejs24.x`);
  check(JSON.stringify(p.Architectures) === '["arm64"]', `${id}: Architectures ${JSON.stringify(p.Architectures)}, expected arm64`);
  check(
    p.Handler === `functions/${kebab(state)}/handler.handler`,
    `${id}: Handler ${p.Handler}, expected functions/${kebab(state)}/handler.handler`,
  );
  const roleId = p.Role?.['Fn::GetAtt']?.[0];
  check(roleId === `${state}Role`, `${id}: role ${roleId}, expected its own ${state}Role`);
  if (roleId) {
    check(!rolesSeen.has(roleId), `${id} shares role ${roleId} with ${rolesSeen.get(roleId)}`);
    rolesSeen.set(roleId, id);
    const role = resources[roleId];
    check(role?.Type === 'AWS::IAM::Role', `${roleId} is not an AWS::IAM::Role in the template`);
    check(refersTo(role?.Properties?.Policies, `${pascal(key)}LogGroup`), `${roleId} does not scope logs to ${pascal(key)}LogGroup`);
  }
  check(resources[`${pascal(key)}LogGroup`]?.Properties?.RetentionInDays === 30, `${pascal(key)}LogGroup: retention is not 30 days`);
}
check(!resources.IamRoleLambdaExecution, 'the shared default role IamRoleLambdaExecution exists; every function must have its own');
const notify = resources.NotifyFailureLambdaFunction?.Properties?.Environment?.Variables?.KSERVE_EDGE_SNS_TOPIC_ARN;
check(
  JSON.stringify(notify) === '{"Ref":"KserveEdgeAlerts"}',
  `NotifyFailure's KSERVE_EDGE_SNS_TOPIC_ARN is ${JSON.stringify(notify)}, expected Ref KserveEdgeAlerts`,
);

// Network placement (params subnetIds / securityGroupIds, deploy/vpc.cjs): all functions or none.
const vpcPolicy = resources.VpcNetworkInterfaces;
for (const [state, key] of Object.entries(functionKeys)) {
  const id = `${pascal(key)}LambdaFunction`;
  const p = resources[id]?.Properties;
  if (!p) continue;
  const vpc = p.VpcConfig;
  const inVpc = p.Environment?.Variables?.KSERVE_EDGE_IN_VPC;
  const managed = resources[`${state}Role`]?.Properties?.ManagedPolicyArns ?? [];
  if (expectVpc) {
    check(
      Array.isArray(vpc?.SubnetIds) && vpc.SubnetIds.length > 0 && Array.isArray(vpc?.SecurityGroupIds) && vpc.SecurityGroupIds.length > 0,
      `${id}: no VpcConfig with subnets and security groups, though packaged with the VPC parameters`,
    );
    check(inVpc === 'true', `${id}: KSERVE_EDGE_IN_VPC is ${JSON.stringify(inVpc)}, expected "true"`);
    check(refersTo(managed, 'VpcNetworkInterfaces'), `${state}Role: no VpcNetworkInterfaces in ManagedPolicyArns`);
  } else {
    check(vpc === undefined, `${id}: VpcConfig without the VPC parameters`);
    check(inVpc === 'false', `${id}: KSERVE_EDGE_IN_VPC is ${JSON.stringify(inVpc)}, expected "false"`);
    check(managed.length === 0, `${state}Role: ManagedPolicyArns ${JSON.stringify(managed)} without the VPC parameters`);
  }
}
if (
  check(
    vpcPolicy?.Type === 'AWS::IAM::ManagedPolicy' && vpcPolicy.Condition === 'InVpc',
    'no VpcNetworkInterfaces policy on condition InVpc',
  )
) {
  const cond = JSON.stringify(template.Conditions?.InVpc);
  check(
    cond === JSON.stringify({ 'Fn::Equals': [String(expectVpc), 'true'] }),
    `condition InVpc is ${cond}, expected ${expectVpc ? 'true' : 'false'} at package time`,
  );
}

// IAM: no wildcard actions; Resource "*" only for calls that have no resource-level permissions.
const STAR_ALLOWED = new Set([
  'acm:ListCertificates',
  // No resource type in the Service Authorization Reference; the statement is held by its conditions
  // (owner tag, DNS validation). testbed/iam evaluates it as AWS does.
  'acm:RequestCertificate',
  // The Resource Groups Tagging API has no resource-level permissions (finding our certificates by tag).
  'tag:GetResources',
  'route53:ListHostedZonesByName',
  // ELBv2's Describe actions have no resource-level permissions (GetLoadBalancerAddress).
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeListenerCertificates',
  // The account's ALB quotas (ValidateRequest, ConfigureCluster: ALB shards); no resource-level permissions either.
  'elasticloadbalancing:DescribeAccountLimits',
  // ACM's names-per-certificate quota (bundled certificates); the role allows it on `*`.
  'servicequotas:GetServiceQuota',
  // Step Functions' log delivery (added by serverless-step-functions for loggingConfig).
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  // VpcNetworkInterfaces (VPC deployments only): Lambda describes the interfaces and subnets of a VPC
  // function with its role; neither action has resource-level permissions.
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
]);
const policyDocuments = [
  ...byType('AWS::IAM::Role').flatMap(([roleId, role]) => (role.Properties.Policies ?? []).map((p) => [roleId, p.PolicyDocument])),
  ...byType('AWS::IAM::ManagedPolicy').map(([id, policy]) => [id, policy.Properties.PolicyDocument]),
];
for (const [roleId, document] of policyDocuments) {
  for (const st of [document.Statement].flat()) {
    const actions = [st.Action].flat();
    for (const a of actions) check(!/(^|:)\*$/.test(a), `${roleId}: wildcard action ${a}`);
    const star = [st.Resource].flat().includes('*');
    if (star) {
      for (const a of actions) check(STAR_ALLOWED.has(a), `${roleId}: ${a} on Resource "*"`);
    }
  }
}

// ------------------------------------------------------------------ alerts and trigger

check(resources.KserveEdgeAlerts?.Type === 'AWS::SNS::Topic', 'no SNS topic KserveEdgeAlerts');
const alarms = byType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
const failedAlarm = alarms.find((a) => a.MetricName === 'ExecutionsFailed' && a.Namespace === 'AWS/States');
if (check(failedAlarm, 'no CloudWatch alarm on AWS/States ExecutionsFailed')) {
  check(refersTo(failedAlarm.AlarmActions, 'KserveEdgeAlerts'), 'the ExecutionsFailed alarm does not notify KserveEdgeAlerts');
  check(machineId && refersTo(failedAlarm.Dimensions, machineId), 'the ExecutionsFailed alarm does not watch the state machine');
}
const rules = byType('AWS::Events::Rule').filter(([, r]) => [r.Properties.EventPattern?.source].flat().includes('kserve-edge'));
if (check(rules.length === 1, `expected 1 EventBridge rule with source kserve-edge, found ${rules.length}`)) {
  const rule = rules[0][1].Properties;
  check(
    JSON.stringify(rule.EventPattern['detail-type']) === '["ProvisionRequest"]',
    'the kserve-edge rule does not match detail-type ProvisionRequest',
  );
  const target = rule.Targets?.[0] ?? {};
  check(machineId && refersTo(target.Arn, machineId), 'the kserve-edge rule does not target the state machine');
  check(target.InputPath === '$.detail', `the kserve-edge rule passes ${target.InputPath ?? 'the whole event'}, expected $.detail`);
}

// Namespace lifecycle and the canary in operation.
const filters = byType('AWS::Logs::SubscriptionFilter').map(([, f]) => f.Properties);
const auditFilter = filters.find((f) => refersTo(f.DestinationArn, 'NamespaceEventsLambdaFunction'));
// auditEvents (deploy/audit-events.cjs): subscription = our filter and the permission for CloudWatch Logs
// to invoke; forwarded = neither, and the forwarder's role may invoke; off = none of them.
const permissions = byType('AWS::Lambda::Permission').filter(([, p]) =>
  refersTo(p.Properties.FunctionName, 'NamespaceEventsLambdaFunction'),
);
// logs.<region>.amazonaws.com, which osls writes as a Fn::Join.
const logsPermissions = permissions.filter(([, p]) => /"logs\.|^"logs\./.test(JSON.stringify(p.Properties.Principal)));
const forwarder = resources.NamespaceEventsForwarderPermission;
check(
  forwarder?.Type === 'AWS::Lambda::Permission' && forwarder.Condition === 'AuditEventsForwarded',
  'no NamespaceEventsForwarderPermission on condition AuditEventsForwarded',
);
const forwardedCondition = JSON.stringify(template.Conditions?.AuditEventsForwarded);
check(
  forwardedCondition === JSON.stringify({ 'Fn::Equals': [String(auditEvents === 'forwarded'), 'true'] }),
  `condition AuditEventsForwarded is ${forwardedCondition}, expected ${auditEvents === 'forwarded'} for auditEvents=${auditEvents}`,
);
if (auditEvents === 'subscription') {
  if (check(auditFilter, 'no CloudWatch Logs subscription filter feeding NamespaceEventsLambdaFunction')) {
    check(
      /^\/aws\/eks\/.+\/cluster$/.test(String(auditFilter.LogGroupName)),
      `the subscription filter reads ${auditFilter.LogGroupName}, not an EKS control-plane log group`,
    );
    for (const word of ['"namespaces"', '"profiles"', '"create"', '"delete"']) {
      check(String(auditFilter.FilterPattern).includes(word), `the subscription filter pattern does not match ${word}`);
    }
  }
  check(
    logsPermissions.length === 1,
    `expected 1 permission for CloudWatch Logs to invoke NamespaceEvents, found ${logsPermissions.length}`,
  );
} else {
  check(filters.length === 0, `auditEvents=${auditEvents}: ${filters.length} subscription filter(s) in the template, expected none`);
  check(logsPermissions.length === 0, `auditEvents=${auditEvents}: CloudWatch Logs may still invoke NamespaceEvents`);
  if (auditEvents === 'forwarded') {
    check(
      /^arn:aws[a-z-]*:iam::\d{12}:role\//.test(String(forwarder?.Properties?.Principal)),
      `auditEvents=forwarded: the forwarder permission's Principal is ${JSON.stringify(forwarder?.Properties?.Principal)}, not a role ARN`,
    );
  }
}
for (const fn of ['ScheduledCanaryLambdaFunction', 'SweepLambdaFunction']) {
  const schedule = byType('AWS::Events::Rule').find(([, r]) => r.Properties.ScheduleExpression && refersTo(r.Properties.Targets, fn));
  check(schedule, `no EventBridge schedule targets ${fn}`);
}
const canaryAlarm = (metric) => alarms.find((a) => a.Namespace === 'kserve-edge' && a.MetricName === metric);
const success = canaryAlarm('CanarySuccess');
if (check(success, 'no alarm on kserve-edge CanarySuccess')) {
  check(success.TreatMissingData === 'breaching', 'the CanarySuccess alarm does not treat missing data as breaching');
  check(success.ComparisonOperator === 'LessThanThreshold', 'the CanarySuccess alarm does not fire below its threshold');
}
const latency = canaryAlarm('CanaryLatency');
if (check(latency, 'no alarm on kserve-edge CanaryLatency'))
  check(latency.ExtendedStatistic === 'p90', 'the CanaryLatency alarm is not on p90');
const expiry = canaryAlarm('CertificateDaysToExpiry');
if (check(expiry, 'no alarm on kserve-edge CertificateDaysToExpiry')) {
  check(
    Number(expiry.Threshold) === 14 && expiry.ComparisonOperator === 'LessThanThreshold',
    'the certificate alarm is not "under 14 days"',
  );
}
for (const a of [success, latency, expiry].filter(Boolean)) {
  check(refersTo(a.AlarmActions, 'KserveEdgeAlerts'), `the ${a.MetricName} alarm does not notify KserveEdgeAlerts`);
}
// The automatic paths fail loudly (issue 13): Errors alarms on the asynchronously invoked functions,
// their failures sent to an encrypted queue that alarms when not empty, and unparsable audit messages alarmed.
const ASYNC_FUNCTIONS = ['NamespaceEventsLambdaFunction', 'SweepLambdaFunction', 'ScheduledCanaryLambdaFunction'];
const notifiesAlerts = (a, what) =>
  check(refersTo(a.AlarmActions, 'KserveEdgeAlerts'), `the ${what} alarm does not notify KserveEdgeAlerts`);
for (const fn of ASYNC_FUNCTIONS) {
  const errors = alarms.find((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === 'Errors' && refersTo(a.Dimensions, fn));
  if (check(errors, `no alarm on AWS/Lambda Errors of ${fn}`)) {
    notifiesAlerts(errors, `${fn} Errors`);
    check(errors.TreatMissingData === 'notBreaching', `the ${fn} Errors alarm does not treat missing data as notBreaching`);
    check(Number(errors.Threshold) === 0 && errors.ComparisonOperator === 'GreaterThanThreshold', `the ${fn} Errors alarm is not "> 0"`);
  }
}
const queues = byType('AWS::SQS::Queue');
const failedQueue = queues.find(([id]) => id === 'FailedInvocationsQueue');
if (check(failedQueue, 'no SQS queue FailedInvocationsQueue for failed asynchronous invocations')) {
  const q = failedQueue[1].Properties ?? {};
  check(q.SqsManagedSseEnabled === true, 'FailedInvocationsQueue is not encrypted with SQS-managed SSE');
  check(Number(q.MessageRetentionPeriod) === 14 * 24 * 3600, 'FailedInvocationsQueue does not keep messages 14 days');
  const invokeConfigs = byType('AWS::Lambda::EventInvokeConfig').map(([, c]) => c.Properties);
  for (const fn of ASYNC_FUNCTIONS) {
    const config = invokeConfigs.find((c) => refersTo(c.FunctionName, fn));
    check(
      config && refersTo(config.DestinationConfig?.OnFailure?.Destination, 'FailedInvocationsQueue'),
      `${fn} has no on-failure destination on FailedInvocationsQueue`,
    );
    // Lambda delivers to the destination with the function's role: SendMessage on this queue, nothing wider.
    const roleId = resources[fn]?.Properties?.Role?.['Fn::GetAtt']?.[0];
    const statements = (resources[roleId]?.Properties?.Policies ?? []).flatMap((p) => p.PolicyDocument.Statement);
    const sends = statements.filter((st) => [st.Action].flat().includes('sqs:SendMessage'));
    check(
      sends.length === 1 && refersTo(sends[0].Resource, 'FailedInvocationsQueue') && [sends[0].Action].flat().length === 1,
      `${roleId ?? fn}: expected exactly one statement allowing sqs:SendMessage on FailedInvocationsQueue`,
    );
  }
  const queueAlarm = alarms.find(
    (a) =>
      a.Namespace === 'AWS/SQS' &&
      a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
      refersTo(a.Dimensions, 'FailedInvocationsQueue'),
  );
  if (check(queueAlarm, 'no alarm on FailedInvocationsQueue ApproximateNumberOfMessagesVisible')) {
    notifiesAlerts(queueAlarm, 'failed-invocations queue');
    check(Number(queueAlarm.Threshold) === 0 && queueAlarm.ComparisonOperator === 'GreaterThanThreshold', 'the queue alarm is not "> 0"');
  }
}
const unparsed = alarms.find((a) => a.Namespace === 'kserve-edge' && a.MetricName === 'AuditEventsUnparsed');
if (check(unparsed, 'no alarm on kserve-edge AuditEventsUnparsed')) {
  notifiesAlerts(unparsed, 'AuditEventsUnparsed');
  check(
    Number(unparsed.Threshold) === 0 && unparsed.ComparisonOperator === 'GreaterThanThreshold',
    'the AuditEventsUnparsed alarm is not "> 0"',
  );
  check(
    resources.NamespaceEventsLambdaFunction?.Properties?.Environment?.Variables?.POWERTOOLS_METRICS_NAMESPACE === 'kserve-edge',
    'NamespaceEvents does not write its metrics to the kserve-edge namespace',
  );
}

const dashboards = byType('AWS::CloudWatch::Dashboard');
check(
  dashboards.length === 1 && JSON.stringify(dashboards[0][1].Properties.DashboardBody).includes('CanarySuccess'),
  'no canary dashboard',
);

const text = JSON.stringify(template);
for (const v of ['${aws:', '${ssm:', '${cf:', '${s3:', '${param:', '${self:', '${opt:', '${env:']) {
  check(!text.includes(v), `unresolved serverless variable ${v}… left in the template`);
}

// ------------------------------------------------------------------ bundles

/** Entries of a zip file, read from its central directory; `data()` inflates one. */
function readZip(file) {
  const buf = readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd -= 1;
  if (eocd < 0) throw new Error(`${file}: not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i += 1) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLength);
    entries.push({
      name,
      size,
      data() {
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const raw = buf.subarray(start, start + compressed);
        return method === 0 ? raw : inflateRawSync(raw);
      },
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

const sandbox = mkdtempSync(join(tmpdir(), 'kserve-edge-bundles-'));
const bundles = [];
try {
  for (const [state, key] of Object.entries(functionKeys)) {
    const zipFile = join(dir, `${key}.zip`);
    let zipSize;
    try {
      zipSize = statSync(zipFile).size;
    } catch {
      check(false, `no bundle ${zipFile}`);
      continue;
    }
    const entries = readZip(zipFile);
    const handlerPath = `functions/${kebab(state)}/handler.mjs`;
    const handlerEntry = entries.find((e) => e.name === handlerPath);
    check(handlerEntry, `${key}.zip has no ${handlerPath} (has ${entries.map((e) => e.name).join(', ')})`);
    check(zipSize < 50 * 1024 * 1024, `${key}.zip is over Lambda's 50 MB zipped limit`);
    const unzipped = entries.reduce((n, e) => n + e.size, 0);
    check(unzipped < 250 * 1024 * 1024, `${key}.zip unzips over Lambda's 250 MB limit`);
    let loads = false;
    if (handlerEntry) {
      // Unpack the zip as Lambda would, outside the repository, and import it with no AWS environment.
      const target = join(sandbox, key);
      for (const e of entries) {
        if (e.name.endsWith('/')) continue;
        const out = join(target, e.name);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, e.data());
      }
      const probe = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const m = await import(process.argv[1]); if (typeof m.handler !== 'function') { console.error('handler is ' + typeof m.handler); process.exit(3); }",
          join(target, handlerPath),
        ],
        {
          cwd: target,
          env: { PATH: process.env.PATH ?? '', HOME: target, AWS_EC2_METADATA_DISABLED: 'true' },
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      loads = check(
        probe.status === 0,
        `${key}: the bundle does not load in Node ${process.version}: ${(probe.stderr || probe.stdout || '').trim().split('\n').slice(0, 6).join(' | ')}`,
      );
    }
    bundles.push({ key, zipSize, unzipped, loads });
  }
} finally {
  rmSync(sandbox, { recursive: true, force: true });
}
const extra = readdirSync(dir).filter((f) => f.endsWith('.zip') && !Object.values(functionKeys).includes(f.slice(0, -4)));
check(extra.length === 0, `zips for functions neither an ASL nor a trigger uses: ${extra.join(', ')}`);

// ------------------------------------------------------------------ release artefact

// scripts/release.mjs: the template, the zips and a README for a deploy without osls. Complete = every
// function of the release template reads a zip that is in release/functions (byte for byte the one osls
// built), nothing refers to osls's deployment bucket, and the README's commands name the template file.
const releaseDir = join(dir, 'release');
const RELEASE_TEMPLATE = 'kserve-edge.template.json';
let releaseSummary = 'none';
try {
  statSync(releaseDir);
} catch {
  check(false, `no release artefact ${releaseDir} (scripts/release.mjs)`);
}
try {
  const release = JSON.parse(readFileSync(join(releaseDir, RELEASE_TEMPLATE), 'utf8'));
  const releaseFunctions = Object.entries(release.Resources ?? {}).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  check(
    releaseFunctions.length === functions.length,
    `release: ${releaseFunctions.length} functions in ${RELEASE_TEMPLATE}, ${functions.length} in the packaged template`,
  );
  check(release.Parameters?.ArtifactBucket?.Type === 'String', `release: ${RELEASE_TEMPLATE} has no ArtifactBucket parameter`);
  check(/\/$/.test(release.Parameters?.ArtifactPrefix?.Default ?? ''), `release: ArtifactPrefix has no default ending in /`);
  check(!JSON.stringify(release).includes('ServerlessDeploymentBucket'), `release: ${RELEASE_TEMPLATE} still refers to osls's bucket`);
  const shipped = new Set(readdirSync(join(releaseDir, 'functions')).filter((f) => f.endsWith('.zip')));
  for (const [id, fn] of releaseFunctions) {
    const code = fn.Properties?.Code ?? {};
    const key = /^\$\{ArtifactPrefix\}([^/]+)\.zip$/.exec(code.S3Key?.['Fn::Sub'] ?? '')?.[1];
    if (!check(key && code.S3Bucket?.Ref === 'ArtifactBucket', `release: ${id} does not read ArtifactBucket/\${ArtifactPrefix}<key>.zip`))
      continue;
    if (!check(shipped.has(`${key}.zip`), `release: ${id} reads ${key}.zip, which is not in release/functions`)) continue;
    shipped.delete(`${key}.zip`);
    check(
      readFileSync(join(releaseDir, 'functions', `${key}.zip`)).equals(readFileSync(join(dir, `${key}.zip`))),
      `release: functions/${key}.zip differs from the packaged ${key}.zip`,
    );
  }
  check(shipped.size === 0, `release: zips no function reads: ${[...shipped].join(', ')}`);
  const readme = readFileSync(join(releaseDir, 'README.md'), 'utf8');
  check(
    readme.includes(`--template-file ${RELEASE_TEMPLATE}`),
    `release: README.md has no command with --template-file ${RELEASE_TEMPLATE}`,
  );
  check(readme.includes('aws s3 cp functions/'), 'release: README.md does not say how to upload the zips');
  check(readme.includes('aws_cloudformation_stack'), 'release: README.md has no Terraform example');
  releaseSummary = `${RELEASE_TEMPLATE}, ${releaseFunctions.length} zips, README.md`;
} catch (e) {
  check(false, `release: ${e.message}`);
}

// ------------------------------------------------------------------ summary

const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
const width = Math.max(...bundles.map((b) => b.key.length), 8);
console.log('');
console.log(
  `template   ${Object.keys(resources).length} resources, ${functions.length} functions, state machines ${machines.map(([id]) => id).join(', ')}`,
);
console.log(`release    ${releaseSummary}`);
if (elapsedMs !== undefined && Number.isFinite(elapsedMs)) console.log(`packaged   in ${(elapsedMs / 1000).toFixed(1)} s`);
console.log('');
console.log(`${'function'.padEnd(width)}  ${'zip'.padStart(9)}  ${'unzipped'.padStart(9)}  loads`);
for (const b of bundles) {
  console.log(`${b.key.padEnd(width)}  ${kib(b.zipSize).padStart(9)}  ${kib(b.unzipped).padStart(9)}  ${b.loads ? 'yes' : 'NO'}`);
}
const total = bundles.reduce((n, b) => n + b.zipSize, 0);
console.log(`${'total'.padEnd(width)}  ${kib(total).padStart(9)}`);
console.log('');

if (problems.length > 0) {
  console.error(`✖ ${problems.length} problem(s) in ${dir}:`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log('✔ template and bundles check out');
