#!/usr/bin/env node
// Entry point of the `kserve-edge` CLI (built into dist/ by `npm run build`).
// aws-local-stepfunctions uses Promise.withResolvers (Node 22); add it on Node 20.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
const { main } = await import('../dist/cli.mjs');
process.exitCode = await main(process.argv.slice(2));
