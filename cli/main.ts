/**
 * `kserve-edge`: run the provisioning workflow from a laptop.
 *
 *   kserve-edge provision --request FILE   run statemachine/provision.asl.json locally
 *   kserve-edge plan --request FILE        show what would change; writes nothing
 *   kserve-edge status --request FILE      one row per namespace: certificate, listener, record, last run, canary
 *   kserve-edge validate --request FILE    check a request without calling AWS
 *   kserve-edge schema                     print the request's JSON Schema
 *
 * Streams and exit codes: the result (tables, summary, or `--json`) goes to
 * stdout, progress and errors to stderr; 0 success, 1 a failed run (or a plan
 * that would be refused, a failing canary, an unhealthy namespace in `status`), 2 a usage error (unknown command
 * or flag, missing `--request`, bad flag value, unreadable request file).
 *
 * It uses the caller's AWS credentials (the SDK's default chain) and reaches
 * the cluster through EKS, or through KSERVE_EDGE_KUBECONFIG /
 * KSERVE_EDGE_CLUSTER_ENDPOINT overrides. The environment is read through
 * `wiring/config.ts` (a bad value: `ConfigError`, before anything runs).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isAutomationError, toError } from '../shared/errors';
import { parseProvisionRequest, provisionRequestJsonSchema } from '../shared/request';
import { loadConfig } from '../wiring/config';

const USAGE = `Usage: kserve-edge <command> [options]

Commands:
  provision --request FILE   Run the provisioning workflow locally (same state machine as AWS)
  plan --request FILE        Print the certificates, DNS records and Kubernetes objects that would change; write nothing
  canary --request FILE      Run one round of inference probes and print a table
  status --request FILE      One row per namespace: certificate, listener, DNS record, last automatic run, live canary;
                             writes nothing; exit 1 when a namespace is unhealthy (--template: the deployed request template)
  validate --request FILE    Check a request file offline (schema and limits only)
  schema                     Print the request JSON Schema

Options:
  --request FILE       Request JSON (README "The request", docs/request.schema.json, examples/)
  --template           status: read the deployed request template (KSERVE_EDGE_REQUEST_TEMPLATE) instead of --request
  --no-canary          status: skip the live canary round
  --wait-scale X       Scale every Wait state (0 skips waits, 0.1 is ten times faster; default: real waits)
  --json               Print the final result as JSON
  --verbose            Print every step's JSON log lines
  -h, --help           Show this help
  --version            Print the version

The result goes to stdout, progress and errors to stderr.
Exit codes: 0 success, 1 failed run, 2 usage error.
`;

/** The one line printed under a usage error. */
const USAGE_HINT = 'Usage: kserve-edge <provision|plan|canary|status|validate|schema> [--request FILE] [--json] (see kserve-edge --help)';

/** `name version` from package.json (one level above both cli/ and dist/). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return `${pkg.name} ${pkg.version}`;
}

function usageError(io: CliIo, message: string): number {
  io.err(`kserve-edge: ${message}\n${USAGE_HINT}\n`);
  return 2;
}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

const COMMANDS = new Set(['provision', 'plan', 'canary', 'status', 'validate', 'schema']);

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        request: { type: 'string' },
        'wait-scale': { type: 'string' },
        json: { type: 'boolean', default: false },
        template: { type: 'boolean', default: false },
        'no-canary': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    // parseArgs' message, without its advice about `--` (a typo is the likely cause, not a positional).
    const message = typeof (e as Error | undefined)?.message === 'string' ? (e as Error).message : String(e);
    return usageError(io, message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.version) {
    io.out(`${version()}\n`);
    return 0;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (!command) return usageError(io, 'no command given');
  if (!COMMANDS.has(command)) return usageError(io, `unknown command "${command}"`);
  if (positionals.length > 1) return usageError(io, `unexpected argument "${positionals[1]}"`);
  const waitScale = values['wait-scale'] === undefined ? undefined : Number(values['wait-scale']);
  if (waitScale !== undefined && (values['wait-scale']?.trim() === '' || !Number.isFinite(waitScale) || waitScale < 0))
    return usageError(io, `--wait-scale must be a number ≥ 0 (got "${values['wait-scale']}")`);
  if (!values.verbose && !io.env.LOG_LEVEL) io.env.LOG_LEVEL = 'silent';

  try {
    switch (command) {
      case 'schema':
        io.out(`${JSON.stringify(provisionRequestJsonSchema(), null, 2)}\n`);
        return 0;
      case 'validate': {
        const req = parseProvisionRequest(await readRequest(values.request));
        io.out(
          `request is valid: ${req.domain}, namespaces ${req.namespaces.join(', ')}, auth ${req.auth.provider}, certificates ${req.certificates.mode}\n`,
        );
        return 0;
      }
      case 'provision': {
        const raw = await readRequest(values.request);
        parseProvisionRequest(raw); // fail fast, before anything starts
        loadConfig(io.env); // the handlers read the same environment in-process
        const { provision } = await import('./provision');
        return await provision(raw, { io, json: values.json, ...(waitScale === undefined ? {} : { waitScale }) });
      }
      case 'plan': {
        const raw = await readRequest(values.request);
        parseProvisionRequest(raw);
        const config = loadConfig(io.env);
        const { plan } = await import('./plan');
        return await plan(raw, { io, json: values.json, config });
      }
      case 'canary': {
        const raw = await readRequest(values.request);
        parseProvisionRequest(raw);
        const config = loadConfig(io.env);
        const { canary } = await import('./canary');
        return await canary(raw, { io, json: values.json, config });
      }
      case 'status': {
        if (values.template && values.request) return usageError(io, '--template and --request exclude each other');
        const config = loadConfig(io.env);
        const { requestFromTemplate, status } = await import('./status');
        const raw = values.template ? await requestFromTemplate(config) : await readRequest(values.request);
        parseProvisionRequest(raw);
        return await status(raw, { io, json: values.json, config, canary: !values['no-canary'] });
      }
      default:
        return usageError(io, `unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) return usageError(io, e.message);
    io.err(`${describeError(e)}\n`);
    return 1;
  }
}

/** One line a user can act on: the error name, the field, the message; never a stack trace. */
export function describeError(e: unknown): string {
  const err = toError(e);
  if (isAutomationError(err)) {
    const where = err.path ? ` at ${err.path}` : '';
    return `${err.name}${where}: ${err.message}\nRunbook: README.md#${err.name.toLowerCase()}`;
  }
  return `${err.name}: ${err.message}`;
}

async function readRequest(path: string | undefined): Promise<unknown> {
  if (!path) throw new UsageError('--request FILE is required');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? toError(e).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    // The flag was used right; the file's content is what is wrong: a failed run (1), not a usage error.
    throw new RequestFileError(`${path} is not valid JSON: ${toError(e).message}`);
  }
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

class RequestFileError extends Error {
  override readonly name = 'RequestFileError';
}
