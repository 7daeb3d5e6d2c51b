#!/usr/bin/env node
// Entry point of the `kserve-edge` CLI (built into dist/ by `npm run build`).
// The project targets Node.js 24, the Lambda runtime of the stack (nodejs24.x), and
// `engines` says so; say it instead of crashing somewhere inside on an older one.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `kserve-edge needs Node.js 24 or later (this is ${process.version}).\n` +
      'Inside this repository, npm scripts already run the Node 24 from node_modules/.bin: use `npx kserve-edge ...`.\n',
  );
  process.exit(2);
}
// dist/ is built, not committed: a checkout without `npm run build` gets a
// sentence saying how to build it rather than ERR_MODULE_NOT_FOUND's stack trace.
const { existsSync } = await import('node:fs');
const { fileURLToPath } = await import('node:url');
const cli = new URL('../dist/cli.mjs', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    `kserve-edge: the CLI is not built (${fileURLToPath(cli)} is missing).\n` +
      'Run `npm run build` (or `npm ci`, whose prepare step builds it) in the kserve-edge directory.\n',
  );
  process.exit(2);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
