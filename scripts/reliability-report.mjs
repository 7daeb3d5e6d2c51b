#!/usr/bin/env node
/**
 * Renders the figures the reliability and security tests leave in
 * .testbed/results/reliability/*.json as the Markdown table of
 * docs/reliability.md ("Figures"). Run after `npm test`:
 *
 *   node scripts/reliability-report.mjs            # print
 *   node scripts/reliability-report.mjs --json     # one JSON object
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const dir = join(root, '.testbed', 'results', 'reliability');
if (!existsSync(dir)) {
  console.error(`no figures in ${dir}: run npm test (or the integration tests) first`);
  process.exit(1);
}
const suites = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const d = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      return [d.suite ?? f.replace(/\.json$/, ''), d];
    }),
);
if (process.argv.includes('--json')) {
  console.log(JSON.stringify(suites, null, 2));
  process.exit(0);
}

const rows = [];
const row = (what, figure, suite) => rows.push(`| ${what} | ${figure} | ${suite?.at?.slice(0, 10) ?? '—'} |`);
const b = suites['bad-input'];
if (b) {
  row(
    'bad inputs rejected with their named error',
    `${b.rejectedWithNamedError} / ${b.cases} (${Object.entries(b.byError)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`,
    b,
  );
  row('bad inputs that changed anything in moto or the API server', `${b.cases - b.cleanAfterwards}`, b);
  const writes = Object.keys(b.awsOperationsSeen ?? {}).filter((k) => /Request|Change|Create|Delete|Put|AddTags/.test(k));
  row('AWS write calls sent for bad inputs', `${writes.length}`, b);
}
const f = suites.faults;
if (f) {
  row('fault classes injected', `${f.classes}`, f);
  row('faults injected (throttles, 500s, delays, failed certificates, outages)', `${f.faultsInjected}`, f);
  for (const r of f.runs ?? [])
    row(`— ${r.fault}`, `${r.firstRun}${r.rerun ? ` → rerun ${r.rerun}` : ''}; ${r.injected} injected, ${r.retries} state retries`, f);
  row('duplicate certificates or records after faults', `${f.duplicates}`, f);
  row('resources lost after faults', `${f.lost}`, f);
}
const i = suites.idempotency;
if (i) {
  row(
    'runs started at once for one namespace → succeeded',
    `${i.concurrentRuns} → ${i.concurrentSucceeded}; ${i.certificatesAfterConcurrentRuns} certificates (one per name set)`,
    i,
  );
  row('ConfigureCluster steps racing on a stock config-domain → errors', `${(i.concurrentConfigureClusterErrors ?? []).length}`, i);
  row('identical reruns leaving everything as it was', `${i.repeatedRunsIdentical} / ${i.repeatedRuns}`, i);
}
const o = suites.ownership;
if (o) row('foreign records / objects refused; adopted on request; foreign changed', `${o.refused}; ${o.adopted}; ${o.foreignChanged}`, o);
const l = suites['least-privilege'];
if (l) row('cluster RBAC: needed verbs allowed; unneeded refused with 403', `${l.allowedChecked}; ${l.denied403} / ${l.deniedChecked}`, l);
const t = suites['template-lint'];
if (t) {
  row('cfn-lint errors (warnings)', `${t.cfnLint.errors} (${t.cfnLint.warnings})`, t);
  row('checkov failed outside the reviewed skip list (accepted)', `${t.checkov.failed} (${t.checkov.acceptedBySkipList})`, t);
  row('IAM actions on Resource "*" (all documented)', `${t.starActions.length}`, t);
}
const s = suites['secrets-hygiene'];
if (s)
  row(
    'secret values found in logs, events, outputs, errors',
    `${s.hits} (${s.secretsTracked} secrets, ${s.logLines} log lines, ${s.events} events, ${s.runs} runs + a canary round)`,
    s,
  );

console.log('| what | figure | measured |');
console.log('|---|---|---|');
for (const r of rows) console.log(r);
