/**
 * esbuild plugins for the Lambda bundles (serverless.yml `custom.esbuild.plugins`;
 * `npm run bench` builds with the same file). Each one only removes code the
 * functions cannot reach; sizes are from `npm run bench` (docs/benchmarks.md).
 *
 * 1. `@kubernetes/client-node` is side-effect free as far as we use it. The
 *    package does not say so (no `sideEffects` field), so esbuild keeps every
 *    module its `index.js` re-exports: exec/attach/cp/port-forward with ws,
 *    tar-fs and streamx (~110 KB).
 *
 * 2. Its generated `ObjectSerializer` references all ~750 typed model classes
 *    (~370 KB). `shared/k8s/client.ts` sends and reads plain JSON: it builds
 *    request paths with `specUriPath()` (discovery answers are kept as parsed
 *    JSON) and overrides `processResponse()`, so no serializer method is ever
 *    called. The stand-in fails loudly if that stops being true; the
 *    orchestration benchmark runs these very bundles end to end.
 *
 * 3. `@aws-sdk/credential-provider-node` → `shared/aws/lambdaCredentials.ts`:
 *    the environment credentials Lambda provides, without the SSO/ini/process/
 *    web-identity/metadata links and their STS/SSO clients (~95 KB per bundle).
 */
/* global require, module, __dirname */
'use strict';
// serverless-esbuild loads this file with require(): CommonJS on purpose.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const CLIENT_NODE = `${path.sep}node_modules${path.sep}@kubernetes${path.sep}client-node${path.sep}`;

const SERIALIZER_STUB = `
const fail = (method) => () => {
  throw new Error('ObjectSerializer.' + method + ' is not in this bundle (scripts/esbuild-plugins.cjs): shared/k8s/client.ts must send and read plain JSON');
};
export class ObjectSerializer {}
for (const m of ['findCorrectType', 'serialize', 'deserialize', 'normalizeMediaType', 'getPreferredMediaType', 'stringify', 'parse']) {
  ObjectSerializer[m] = fail(m);
}
`;

/** @type {import('esbuild').Plugin} */
const kubernetesClientTreeShaking = {
  name: 'kserve-edge-client-node-tree-shaking',
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === kubernetesClientTreeShaking) return undefined;
      const fromClientNode = args.importer.includes(CLIENT_NODE);
      if (!fromClientNode && !args.path.startsWith('@kubernetes/client-node')) return undefined;
      const result = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: kubernetesClientTreeShaking,
      });
      if (result.errors.length > 0 || !result.path.includes(CLIENT_NODE)) return result;
      return { ...result, sideEffects: false };
    });
    build.onLoad({ filter: /[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]gen[\\/]models[\\/]ObjectSerializer\.js$/ }, () => ({
      contents: SERIALIZER_STUB,
      loader: 'js',
    }));
  },
};

/** @type {import('esbuild').Plugin} */
const lambdaCredentials = {
  name: 'kserve-edge-lambda-credentials',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: path.join(root, 'shared', 'aws', 'lambdaCredentials.ts'),
    }));
  },
};

module.exports = [kubernetesClientTreeShaking, lambdaCredentials];
