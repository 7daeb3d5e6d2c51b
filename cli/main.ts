/**
 * `kserve-edge`: run the provisioning workflow from a laptop.
 *
 *   kserve-edge provision --request FILE   run statemachine/provision.asl.json locally
 *   kserve-edge plan --request FILE        show what would change; writes nothing
 *   kserve-edge validate --request FILE    check a request without calling AWS
 *   kserve-edge schema                     print the request's JSON Schema
 *
 * It uses the caller's AWS credentials (the SDK's default chain) and reaches
 * the cluster through EKS, or through KSERVE_EDGE_KUBECONFIG /
 * KSERVE_EDGE_CLUSTER_ENDPOINT overrides. The environment is read through
 * `wiring/config.ts` (a bad value: `ConfigError`, before anything runs).
 */
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
  validate --request FILE    Check a request file offline (schema and limits only)
  schema                     Print the request JSON Schema

Options:
  --request FILE       Request JSON (README "The request", docs/request.schema.json, examples/)
  --wait-scale X       Scale every Wait state (0 skips waits, 0.1 is ten times faster; default: real waits)
  --json               Print the final result as JSON
  --verbose            Print every step's JSON log lines
  -h, --help           Show this help
`;

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
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    io.err(`${toError(e).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    io.out(USAGE);
    return command || values.help ? 0 : 2;
  }
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
        const waitScale = values['wait-scale'] === undefined ? undefined : Number(values['wait-scale']);
        if (waitScale !== undefined && (!Number.isFinite(waitScale) || waitScale < 0)) {
          io.err('--wait-scale must be a number ≥ 0\n');
          return 2;
        }
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
      default:
        io.err(`unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
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
    throw new UsageError(`${path} is not valid JSON: ${toError(e).message}`);
  }
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}
