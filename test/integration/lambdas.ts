/**
 * The end-to-end suites run every Task as Lambda runs it: the packaged
 * bundle, in worker processes of its own, with the template's environment
 * for that function plus the testbed's settings, and its own credentials
 * (`local/packaged.ts`). This module turns a testbed environment (`tb.env`
 * plus a suite's overrides) into those workers, one set per distinct
 * environment, ended after the suite.
 */
import { LOCAL_ACCOUNT_ID, LOCAL_STATE_MACHINE_NAME } from '../../local/definition';
import { assertPackageFresh, PackagedLambdas } from '../../local/packaged';

/** In tb.env, but not part of any function's environment: the testbed's own 'testing' keys, and facts only tests read. */
const NOT_FOR_FUNCTIONS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'KSERVE_EDGE_HOSTED_ZONE_ID']);

const pools = new Map<string, PackagedLambdas>();
let checked = false;

/**
 * The packaged Lambdas for `env` (a testbed environment). `warm: false`
 * gives every invocation a fresh process (a cold start each time).
 *
 * The template's `Ref`s resolve to the testbed's equivalents: the alerts
 * topic to `KSERVE_EDGE_SNS_TOPIC_ARN`, the state machines to the local
 * runner's ARNs. The other variables of `env` are the testbed's overrides
 * (AWS endpoint, cluster access, resolver, LOG_LEVEL).
 *
 * @throws PackageError when `npm run package` has not been run since the sources changed.
 */
export function lambdasFor(env: Record<string, string>, options: { warm?: boolean } = {}): PackagedLambdas {
  if (!checked) {
    assertPackageFresh();
    checked = true;
  }
  const id = JSON.stringify([Object.entries(env).sort(), options.warm ?? true]);
  let pool = pools.get(id);
  if (!pool) {
    const region = env.AWS_REGION ?? 'us-east-1';
    const machine = (name: string) => `arn:aws:states:${region}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
    pool = new PackagedLambdas({
      refs: {
        KserveEdgeAlerts: env.KSERVE_EDGE_SNS_TOPIC_ARN ?? '',
        ProvisionStateMachine: machine(LOCAL_STATE_MACHINE_NAME),
        DeprovisionStateMachine: machine(LOCAL_STATE_MACHINE_NAME.replace('provision', 'deprovision')),
      },
      overrides: Object.fromEntries(Object.entries(env).filter(([k]) => !NOT_FOR_FUNCTIONS.has(k))),
      region,
      ...(options.warm !== undefined ? { warm: options.warm } : {}),
    });
    pools.set(id, pool);
  }
  return pool;
}

/** Ends every worker this suite started. */
export async function stopLambdas(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.stop()));
}

// Every suite that imports this module ends its workers when it ends (each test file has its own module registry).
// Outside jest (`npm run demo` imports the helpers next to this module) there is no afterAll, and no worker.
if (typeof globalThis.afterAll === 'function') afterAll(stopLambdas);
