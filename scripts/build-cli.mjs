#!/usr/bin/env node
// Bundles the `buildmesh` CLI (and the controller and worker it can start) into
// packages/cli/dist/ so a command starts in a fraction of the time tsx needs to
// transform the sources on every run. Third-party packages stay external and
// load from node_modules as usual; only our own TypeScript is bundled.
// Runs on `npm install` (prepare) and before `npm test`; the bin falls back to
// the TypeScript sources through tsx whenever dist is missing or older than them.
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outdir = join(root, 'packages/cli/dist');
rmSync(outdir, { recursive: true, force: true });

const ownPackages = /^@buildmesh\//;
await build({
  entryPoints: { main: join(root, 'packages/cli/src/main.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-node-modules',
      setup(b) {
        // Bare specifiers other than our workspace packages load from node_modules at run time.
        b.onResolve({ filter: /^[^./]/ }, (args) => (ownPackages.test(args.path) ? undefined : { path: args.path, external: true }));
      },
    },
  ],
});
// The bin compares this stamp with the sources' modification times.
writeFileSync(join(outdir, 'BUILT_AT'), new Date().toISOString() + '\n');
