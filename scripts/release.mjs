#!/usr/bin/env node
/**
 * The release artefact: what a CloudFormation-only or Terraform user deploys
 * without the Serverless Framework. `npm run package` (scripts/package.sh)
 * runs it after `osls package`; scripts/check-template.mjs then checks it.
 *
 *   <dir>/release/
 *     kserve-edge.template.json   the packaged template, made deployable on its own
 *     functions/<key>.zip         one bundle per function, as osls built them
 *     README.md                   the commands (aws CLI and Terraform)
 *
 * What changes from `<dir>/cloudformation-template-update-stack.json`: osls
 * deploys in two steps (a create-stack template holding only its deployment
 * bucket, then this template, whose functions read their zips from
 * `Ref: ServerlessDeploymentBucket` under a timestamped key it uploads to).
 * Here the bucket is the user's: its resources and output are removed, and
 * every function reads `s3://${ArtifactBucket}/${ArtifactPrefix}<key>.zip`,
 * two template parameters. ArtifactPrefix defaults to a prefix holding a
 * hash of the zips, so a new build lands under a new key and CloudFormation
 * updates the function code (it only does when S3Key changes).
 *
 * The deploy parameters (hostedZoneIds, clusterName, VPC, ...) are resolved
 * at package time, as for `osls deploy`: package with yours (`npm run package
 * -- --stage prod --region eu-west-1 --param ...`).
 *
 * Usage: node scripts/release.mjs <dir> --stage S --region R [--param k=v ...]
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The file name of the release template (the README's commands name it; check-template.mjs checks that). */
export const RELEASE_TEMPLATE = 'kserve-edge.template.json';
const OSLS_TEMPLATE = 'cloudformation-template-update-stack.json';
/** What osls adds for its own deployment bucket, which the release does without. */
const OSLS_BUCKET_RESOURCES = ['ServerlessDeploymentBucket', 'ServerlessDeploymentBucketPolicy'];
const OSLS_BUCKET_OUTPUTS = ['ServerlessDeploymentBucketName'];

/** The function key of an osls S3Key (`serverless/kserve-edge/ci/<time>/sweep.zip` → `sweep`). */
function zipKeyOf(logicalId, code) {
  const key = /([^/]+)\.zip$/.exec(String(code?.S3Key ?? ''))?.[1];
  if (!key) throw new Error(`${logicalId}: Code.S3Key ${JSON.stringify(code?.S3Key)} names no zip`);
  return key;
}

/**
 * The osls template made deployable without osls (pure: returns a new object).
 *
 * @param {object} template the parsed cloudformation-template-update-stack.json
 * @param {{ prefix: string, description: string }} options the default ArtifactPrefix and the template's Description
 * @returns {{ template: object, zips: string[] }} the new template and the function keys whose zips it reads
 */
export function releaseTemplate(template, { prefix, description }) {
  const out = JSON.parse(JSON.stringify(template));
  for (const id of OSLS_BUCKET_RESOURCES) delete out.Resources[id];
  for (const id of OSLS_BUCKET_OUTPUTS) if (out.Outputs) delete out.Outputs[id];
  out.Description = description;
  out.Parameters = {
    ...(out.Parameters ?? {}),
    ArtifactBucket: {
      Type: 'String',
      Description: 'An existing S3 bucket in the stack region holding the function zips (functions/*.zip of the release)',
      AllowedPattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    },
    ArtifactPrefix: {
      Type: 'String',
      Description: 'Key prefix of the zips in ArtifactBucket (ends with /); the default names this build',
      Default: prefix,
      AllowedPattern: '^([A-Za-z0-9!_.*()/-]*/)?$',
    },
  };
  const zips = [];
  for (const [id, res] of Object.entries(out.Resources)) {
    if (res.Type !== 'AWS::Lambda::Function') continue;
    const key = zipKeyOf(id, res.Properties?.Code);
    res.Properties.Code = { S3Bucket: { Ref: 'ArtifactBucket' }, S3Key: { 'Fn::Sub': `\${ArtifactPrefix}${key}.zip` } };
    zips.push(key);
  }
  const left = JSON.stringify(out).match(/ServerlessDeploymentBucket[A-Za-z]*/g);
  if (left) throw new Error(`the release template still refers to osls's deployment bucket: ${[...new Set(left)].join(', ')}`);
  return { template: out, zips: zips.sort() };
}

/** The README of the release: what it is and the commands, with this build's names filled in. */
export function releaseReadme({ stage, region, prefix, params, zips }) {
  const stack = `kserve-edge-${stage}`;
  const paramLines = Object.entries(params)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `| \`${k}\` | \`${v}\` |`);
  return `# kserve-edge release (stage \`${stage}\`, region \`${region}\`)

Deploy this without the Serverless Framework: a CloudFormation template and one
zip per Lambda function (${zips.length}: ${zips.map((z) => `\`${z}\``).join(', ')}).

- \`${RELEASE_TEMPLATE}\`: the stack. Parameters: \`ArtifactBucket\` (an existing
  bucket in ${region}, yours) and \`ArtifactPrefix\` (default \`${prefix}\`, a hash
  of these zips, so a new build gets new keys and CloudFormation updates the code).
- \`functions/*.zip\`: upload them under \`s3://<ArtifactBucket>/<ArtifactPrefix>\`.

The deploy parameters were resolved when this was packaged
(\`npm run package -- --stage ${stage} --region ${region} --param key=value ...\`;
the repository's README, "Install and deploy", lists them). Package again with
yours rather than editing the template:

| param | value |
| ----- | ----- |
${paramLines.join('\n')}

## AWS CLI

\`\`\`bash
BUCKET=my-artifacts-bucket        # an existing bucket in ${region}
aws s3 cp functions/ "s3://$BUCKET/${prefix}" --recursive --region ${region}
# The template is over 51,200 bytes: CloudFormation reads it from the bucket too (--s3-bucket).
aws cloudformation deploy --region ${region} --stack-name ${stack} \\
  --template-file ${RELEASE_TEMPLATE} \\
  --s3-bucket "$BUCKET" --s3-prefix "${prefix}template" \\
  --capabilities CAPABILITY_IAM \\
  --parameter-overrides ArtifactBucket="$BUCKET"
aws cloudformation describe-stacks --region ${region} --stack-name ${stack} --query 'Stacks[0].Outputs'
\`\`\`

## Terraform

\`\`\`hcl
variable "artifact_bucket" { type = string }

locals {
  prefix = "${prefix}"
}

resource "aws_s3_object" "function" {
  for_each = fileset("\${path.module}/functions", "*.zip")
  bucket   = var.artifact_bucket
  key      = "\${local.prefix}\${each.value}"
  source   = "\${path.module}/functions/\${each.value}"
  etag     = filemd5("\${path.module}/functions/\${each.value}")
}

# Over the 51,200-byte limit of template_body: the stack reads the template from S3.
resource "aws_s3_object" "template" {
  bucket = var.artifact_bucket
  key    = "\${local.prefix}${RELEASE_TEMPLATE}"
  source = "\${path.module}/${RELEASE_TEMPLATE}"
  etag   = filemd5("\${path.module}/${RELEASE_TEMPLATE}")
}

resource "aws_cloudformation_stack" "kserve_edge" {
  name         = "${stack}"
  template_url = "https://\${var.artifact_bucket}.s3.${region}.amazonaws.com/\${aws_s3_object.template.key}"
  capabilities = ["CAPABILITY_IAM"]
  parameters   = { ArtifactBucket = var.artifact_bucket }
  depends_on   = [aws_s3_object.function]
}
\`\`\`

After the deploy: map the roles of the \`ClusterAccessRoleArns\` output into the
cluster (the repository's docs/cluster-access.md) and create the secrets the
request names, as for an \`osls deploy\`.
`;
}

function main(argv) {
  const args = [...argv];
  const dir = resolve(args.shift() ?? '.serverless');
  let stage = 'dev';
  let region = 'us-east-1';
  const params = {};
  while (args.length) {
    const a = args.shift();
    if (a === '--stage') stage = args.shift();
    else if (a === '--region') region = args.shift();
    else if (a === '--param') {
      const kv = args.shift();
      params[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    } else throw new Error(`release: unknown argument ${a}`);
  }
  const source = JSON.parse(readFileSync(join(dir, OSLS_TEMPLATE), 'utf8'));
  const zipFiles = readdirSync(dir)
    .filter((f) => f.endsWith('.zip'))
    .sort();
  const hash = createHash('sha256');
  for (const f of zipFiles) hash.update(f).update(readFileSync(join(dir, f)));
  const prefix = `kserve-edge/${stage}/${hash.digest('hex').slice(0, 12)}/`;
  const { template, zips } = releaseTemplate(source, {
    prefix,
    description: `kserve-edge (stage ${stage}, region ${region}): release template, function zips from ArtifactBucket/ArtifactPrefix`,
  });
  const out = join(dir, 'release');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'functions'), { recursive: true });
  for (const key of zips) copyFileSync(join(dir, `${key}.zip`), join(out, 'functions', `${key}.zip`));
  writeFileSync(join(out, RELEASE_TEMPLATE), `${JSON.stringify(template, null, 2)}\n`);
  writeFileSync(join(out, 'README.md'), releaseReadme({ stage, region, prefix, params, zips }));
  console.log(`release    ${out} (${RELEASE_TEMPLATE}, ${zips.length} zips, README.md)`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`release: ${e.message}`);
    process.exit(1);
  }
}
