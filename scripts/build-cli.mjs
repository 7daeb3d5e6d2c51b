// Bundles the CLI (cli/main.ts and what it imports) into dist/. Each command is
// its own chunk, so `kserve-edge validate` does not load the Kubernetes client.
// Dependencies stay in node_modules; only the project's own TypeScript is bundled.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { cli: 'cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
