// Bundles the CLI (cli/main.ts and what it imports) into dist/cli.mjs.
// Dependencies stay in node_modules; only the project's own TypeScript is bundled.
import { build } from 'esbuild';

await build({
  entryPoints: ['cli/main.ts'],
  outfile: 'dist/cli.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
