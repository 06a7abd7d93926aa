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

/**
 * npm nests a package wherever its version cannot be hoisted, so one version may sit in several
 * node_modules folders (ajv 8 three times: under fastify's compiler, fast-json-stringify and ajv-formats).
 * esbuild would bundle each copy, and the controller would parse all of them at start-up: every
 * package file is resolved to the first copy seen of the same name and version instead.
 */
function oneCopyPerVersion() {
  const firstRoot = new Map();
  const versions = new Map();
  const versionOf = (root) => {
    if (!versions.has(root)) {
      try {
        versions.set(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
      } catch {
        versions.set(root, undefined);
      }
    }
    return versions.get(root);
  };
  const packageRoot = (path) => {
    const at = path.lastIndexOf('/node_modules/');
    if (at < 0) return undefined;
    const rest = path.slice(at + '/node_modules/'.length).split('/');
    const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return { root: path.slice(0, at + '/node_modules/'.length) + name, name };
  };
  return {
    name: 'one-copy-per-version',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'one-copy' || external.test(args.path)) return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'one-copy' });
        if (resolved.errors.length > 0 || resolved.external || !resolved.path) return resolved;
        const pkg = packageRoot(resolved.path);
        if (!pkg) return resolved;
        const version = versionOf(pkg.root);
        if (!version) return resolved;
        const key = `${pkg.name}@${version}`;
        const first = firstRoot.get(key) ?? pkg.root;
        firstRoot.set(key, first);
        return { ...resolved, path: first + resolved.path.slice(pkg.root.length) };
      });
    },
  };
}

/**
 * @fastify/static requires `glob` when it loads but calls it only for `wildcard: false`, which the
 * controller does not use: its `glob` is bundled as a function that imports the real one on first
 * call, so a controller start does not parse it (docs/fast-start.md).
 */
function globOnFirstCall() {
  return {
    name: 'glob-on-first-call',
    setup(b) {
      b.onResolve({ filter: /^glob$/ }, (args) =>
        args.importer.includes('/node_modules/@fastify/static/') ? { path: 'glob', namespace: 'glob-on-first-call' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'glob-on-first-call' }, () => ({
        contents: "export const glob = async (...args) => (await import('glob')).glob(...args);",
        resolveDir: join(root, 'node_modules/@fastify/static'),
        loader: 'js',
      }));
    },
  };
}

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
    globOnFirstCall(),
    oneCopyPerVersion(),
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
