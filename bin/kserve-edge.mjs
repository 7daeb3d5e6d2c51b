#!/usr/bin/env node
// Entry point of the `kserve-edge` CLI (built into dist/ by `npm run build`).
// The Kubernetes client (undici) and aws-local-stepfunctions need Node.js 22, the
// Lambda runtime this project targets; say so instead of crashing on an older one.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `kserve-edge needs Node.js 22 or later (this is ${process.version}).\n` +
      'Inside this repository, npm scripts already run the Node 22 from node_modules/.bin: use `npx kserve-edge ...`.\n',
  );
  process.exit(2);
}
const { main } = await import('../dist/cli.mjs');
process.exitCode = await main(process.argv.slice(2));
