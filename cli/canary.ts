/** `kserve-edge canary`: one round of probes, one row per endpoint. */
import { runCanary } from '../shared/canary/probe';
import { silentLogger } from '../shared/log';
import { canaryDeps } from '../wiring/canary';
import type { Config } from '../wiring/config';
import type { CliIo } from './main';
import { table } from './table';
import { validatedRequest } from './validate';

export async function canary(raw: unknown, opts: { io: CliIo; json: boolean; config: Config }): Promise<number> {
  const request = await validatedRequest(raw, opts.config);
  const result = await runCanary({ request }, canaryDeps(opts.config, request, silentLogger));
  const jwt = request.auth.provider === 'jwt';
  if (opts.json) {
    opts.io.out(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    opts.io.out(
      table(
        ['NAMESPACE', 'HOST', 'RESULT', 'STATUS', 'LATENCY', 'CERT DAYS', 'PREDICTION / FAILURE', ...(jwt ? ['AUTH CHECKS'] : [])],
        result.results.map((r) => [
          r.namespace,
          r.host,
          r.ok ? 'ok' : `FAIL ${r.failureKind ?? ''}`.trim(),
          r.status,
          `${Math.round(r.latencyMs)} ms`,
          r.certificateDaysToExpiry === undefined ? undefined : Math.floor(r.certificateDaysToExpiry),
          r.ok ? JSON.stringify(r.prediction) : r.message,
          // JWT mode: no-token=pass refused-claim=skipped header=pass (a skipped check says why in --json).
          ...(jwt ? [(r.checks ?? []).map((c) => `${c.name}=${c.state}`).join(' ')] : []),
        ]),
      ),
    );
  }
  return result.ok ? 0 : 1;
}
