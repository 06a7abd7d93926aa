#!/usr/bin/env node
// Bundles the `buildmesh` CLI (and the controller and worker it can start) into packages/cli/dist/,
// so a command loads a few files instead of hundreds (see docs/fast-start.md). Our TypeScript and the
// CLI's pure-JS dependencies are bundled; server-side packages (native modules, fastify, pino…) stay
// external and load from node_modules only for the commands that start a controller or a worker.
// Then packs it as the npm package the controller serves (scripts/pack-cli.mjs). Runs on `npm install`
// (prepare), `npm run build`, and — with --if-stale, rebuilding only when a source is newer than the
// bundle — before tests and benchmarks. The bin never checks freshness.
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packCli, releaseDir } from './pack-cli.mjs';

const root = new URL('..', import.meta.url).pathname;
const outdir = join(root, 'packages/cli/dist');
const stamp = join(outdir, 'BUILT_AT');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') || entry.name === 'package.json') newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    const built = statSync(stamp).mtimeMs;
    const packed = statSync(join(releaseDir, `buildmesh-${cliVersion()}.tgz.sha256`)).mtimeMs;
    return packed >= built && ['cli', 'controller', 'worker', 'protocol'].every((p) => newestSource(join(root, 'packages', p, 'src')) <= built);
  } catch {
    return false;
  }
}

function cliVersion() {
  return JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')).version;
}

if (process.argv.includes('--if-stale') && bundleIsFresh()) process.exit(0);

rmSync(outdir, { recursive: true, force: true });
/** Loaded from node_modules at run time: native modules, and what only the server commands use. */
const external = /^(better-sqlite3|pg|pg-native|tsx|esbuild|@aws-sdk\/.*)(\/.*)?$/;
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
  // Bundled CommonJS dependencies (commander, tar's helpers…) may call require().
  banner: { js: "import { createRequire as __buildmeshRequire } from 'node:module'; const require = __buildmeshRequire(import.meta.url);" },
  plugins: [
    {
      name: 'external-server-packages',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => (external.test(args.path) ? { path: args.path, external: true } : undefined));
      },
    },
  ],
});
writeFileSync(stamp, new Date().toISOString() + '\n');
// The npm-installable package the controller serves at /cli/buildmesh.tgz (scripts/pack-cli.mjs).
await packCli();
