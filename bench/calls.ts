/**
 * Only the AWS call counts of section 2 of `npm run bench`, for chosen sizes,
 * without the cold-start and canary measurements: builds the Lambda bundles,
 * runs provisioning on a fresh testbed per size with and without the foreign
 * certificates, prints the calls per operation as JSON. For comparing two
 * versions of the product quickly (run it in each tree).
 *
 *   npx tsx bench/calls.ts [sizes, default 24] [foreign certificates, default 500]
 */
import { buildBundles } from './bundles';
import { benchOrchestration, FOREIGN_CERTIFICATES } from './orchestration';

const sizes = (process.argv[2] ?? '24').split(',').map(Number);
const foreign = Number(process.argv[3] ?? FOREIGN_CERTIFICATES);
const bundles = await buildBundles();
const out = await benchOrchestration(bundles, sizes, 0, (s) => console.error(s), foreign);
const brief = (r: (typeof out.runs)[number]) => ({
  namespaces: r.namespaces,
  foreignCertificates: r.foreignCertificates,
  status: r.status,
  error: r.error,
  totalCalls: r.totalCalls,
  calls: r.calls,
  ensureCertificatesMs: r.taskMs.EnsureCertificates,
  peakPerSecond: r.peakPerSecond,
});
console.log(JSON.stringify({ runs: out.runs.map(brief), withForeign: out.withForeign.map(brief) }, null, 2));
