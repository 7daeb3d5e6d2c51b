#!/usr/bin/env node
/**
 * Lints the packaged CloudFormation template (scripts/lint-template.sh runs it
 * after `npm run package`):
 *
 * 1. cfn-lint: no error (warnings are printed, not fatal);
 * 2. checkov: no failed check outside the reviewed skip list tools/checkov-skips.yaml
 *    (every entry must carry a reason);
 * 3. IAM: every action granted on `Resource: "*"` is listed, with its reason, in
 *    the table of docs/security.md ("Actions on Resource "*"").
 *
 * Writes its figures to .testbed/results/reliability/template-lint.json
 * (template-lint-vpc.json with --vpc).
 *
 * --vpc: the template was packaged with the VPC parameters (subnetIds,
 * securityGroupIds). Skip-list entries marked `only_without_vpc` (CKV_AWS_117,
 * "Lambda in a VPC") do not apply to it: there every function must pass.
 *
 * Usage: node scripts/lint-template.mjs <venv bin dir> [template] [--vpc]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import yaml from 'js-yaml';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const cliArgs = process.argv.slice(2);
const vpc = cliArgs.includes('--vpc');
const [binDir, templateArg] = cliArgs.filter((a) => a !== '--vpc');
if (!binDir) {
  console.error('usage: node scripts/lint-template.mjs <venv bin dir> [template]');
  process.exit(2);
}
const templatePath = resolve(templateArg ?? join(root, '.serverless', 'cloudformation-template-update-stack.json'));
const template = JSON.parse(readFileSync(templatePath, 'utf8'));
const problems = [];
const figures = {};

// ------------------------------------------------------------------ 1. cfn-lint

const cfn = spawnSync(join(binDir, 'cfn-lint'), ['--format', 'json', '--', templatePath], { encoding: 'utf8' });
if (cfn.error) throw cfn.error;
let cfnFindings;
try {
  cfnFindings = JSON.parse(cfn.stdout || '[]');
} catch {
  console.error(cfn.stdout, cfn.stderr);
  throw new Error(`cfn-lint did not print JSON (exit ${cfn.status})`);
}
const bySeverity = (level) => cfnFindings.filter((f) => f.Level === level);
figures.cfnLint = {
  errors: bySeverity('Error').length,
  warnings: bySeverity('Warning').length,
  informational: bySeverity('Informational').length,
};
const nonErrors = new Map();
for (const f of cfnFindings) {
  const where = f.Location?.Path?.join('/') ?? '';
  if (f.Level === 'Error') problems.push(`cfn-lint ${f.Level} ${f.Rule?.Id}: ${f.Message} (${where})`);
  else nonErrors.set(`${f.Level} ${f.Rule?.Id}`, [...(nonErrors.get(`${f.Level} ${f.Rule?.Id}`) ?? []), f.Message]);
}
for (const [rule, messages] of nonErrors) console.log(`  cfn-lint ${rule} ×${messages.length}, e.g. ${messages[0]}`);

// ------------------------------------------------------------------ 2. checkov

const skipFile = yaml.load(readFileSync(join(root, 'tools', 'checkov-skips.yaml'), 'utf8'));
const listed = skipFile?.skips ?? [];
const skips = vpc ? listed.filter((s) => s.only_without_vpc !== true) : listed;
for (const s of listed) {
  if (!/^CKV2?_AWS_\d+$/.test(s.id ?? '')) problems.push(`checkov-skips.yaml: bad id ${JSON.stringify(s.id)}`);
  if (typeof s.reason !== 'string' || s.reason.trim().length < 40) problems.push(`checkov-skips.yaml: ${s.id} has no real reason`);
}
const outDir = mkdtempSync(join(tmpdir(), 'kserve-edge-checkov-'));
const ck = spawnSync(
  join(binDir, 'checkov'),
  [
    '--file',
    templatePath,
    '--framework',
    'cloudformation',
    // No --skip-check: every finding is read back and matched against the skip list here,
    // so an entry that no longer matches anything is reported.
    '--output',
    'json',
    '--output-file-path',
    outDir,
    '--quiet',
    '--compact',
    '--skip-download',
  ],
  { encoding: 'utf8', env: { ...process.env, BC_SKIP_MAPPING: 'TRUE', CHECKOV_RUN_SCA_PACKAGE_SCAN_V2: 'false' } },
);
if (ck.error) throw ck.error;
let report;
try {
  report = JSON.parse(readFileSync(join(outDir, 'results_json.json'), 'utf8'));
} catch {
  console.error(ck.stdout, ck.stderr);
  throw new Error(`checkov wrote no JSON report (exit ${ck.status})`);
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
const failedChecks = report.results?.failed_checks ?? [];
const skipIds = new Set(skips.map((s) => s.id));
const accepted = failedChecks.filter((f) => skipIds.has(f.check_id));
const open = failedChecks.filter((f) => !skipIds.has(f.check_id));
figures.checkov = {
  passed: report.summary?.passed ?? 0,
  failed: open.length,
  acceptedBySkipList: accepted.length,
  byCheck: Object.fromEntries(
    [...new Set(failedChecks.map((f) => f.check_id))].map((id) => [id, failedChecks.filter((f) => f.check_id === id).length]),
  ),
  skipList: [...skipIds],
};
for (const f of open) problems.push(`checkov ${f.check_id} (${f.check_name}) on ${f.resource}`);
for (const id of skipIds)
  if (!accepted.some((f) => f.check_id === id)) console.log(`  checkov-skips.yaml: ${id} no longer matches anything; remove it`);

// ------------------------------------------------------------------ 3. Resource "*" is documented

const security = readFileSync(join(root, 'docs', 'security.md'), 'utf8');
const documented = new Set();
for (const line of security.split('\n')) {
  // Rows of the table: | `service:Action` | who | why |
  const m = /^\|\s*`([a-z0-9-]+:[A-Za-z0-9]+)`\s*\|/.exec(line);
  if (m) documented.add(m[1]);
}
const starActions = new Map();
for (const [id, res] of Object.entries(template.Resources ?? {})) {
  const documents =
    res.Type === 'AWS::IAM::Role'
      ? (res.Properties?.Policies ?? []).map((p) => p.PolicyDocument)
      : res.Type === 'AWS::IAM::ManagedPolicy'
        ? [res.Properties?.PolicyDocument]
        : [];
  for (const document of documents) {
    for (const st of [document?.Statement ?? []].flat()) {
      if (st.Effect !== 'Allow' || ![st.Resource].flat().includes('*')) continue;
      for (const a of [st.Action].flat()) starActions.set(a, [...(starActions.get(a) ?? []), id]);
    }
  }
}
for (const [action, roles] of starActions) {
  if (!documented.has(action)) problems.push(`IAM: ${action} on Resource "*" (${roles.join(', ')}) is not documented in docs/security.md`);
}
figures.starActions = [...starActions.keys()].sort();

// ------------------------------------------------------------------ report

const resultsDir = join(root, '.testbed', 'results', 'reliability');
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  join(resultsDir, vpc ? 'template-lint-vpc.json' : 'template-lint.json'),
  `${JSON.stringify({ suite: vpc ? 'template-lint-vpc' : 'template-lint', at: new Date().toISOString(), ...figures, problems }, null, 2)}\n`,
);
console.log(
  `template lint${vpc ? ' (VPC parameters)' : ''}: cfn-lint ${figures.cfnLint.errors} errors, ${figures.cfnLint.warnings} warnings; ` +
    `checkov ${figures.checkov.passed} passed, ${figures.checkov.failed} failed, ${figures.checkov.acceptedBySkipList} accepted by the reviewed skip list; ` +
    `${starActions.size} actions on Resource "*", all documented: ${problems.every((p) => !p.startsWith('IAM'))}`,
);
if (problems.length) {
  for (const p of problems) console.error(`  ✗ ${p}`);
  process.exit(1);
}
