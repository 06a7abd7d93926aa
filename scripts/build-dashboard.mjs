#!/usr/bin/env node
// Builds the web dashboard (packages/dashboard/src, Preact + TSX) into packages/dashboard/dist with
// esbuild: one hashed JS and one hashed CSS file under dist/assets (cached forever), index.html
// naming them (never cached), and .gz/.br copies the controller serves to browsers that take them.
// Runs on `npm install` (prepare) and `npm run build`; with --if-stale (tests, benchmarks) only
// when a source is newer than the build.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'packages/dashboard/src');
const outdir = join(root, 'packages/dashboard/dist');
const stamp = join(outdir, 'BUILT_AT');

function newest(dir) {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    n = Math.max(n, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return n;
}

if (process.argv.includes('--if-stale')) {
  try {
    const built = statSync(stamp).mtimeMs;
    if (newest(src) <= built && newest(join(root, 'packages/protocol/src')) <= built) process.exit(0);
  } catch {
    // not built yet
  }
}

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: { app: join(src, 'main.tsx'), styles: join(src, 'styles.css') },
  outdir: join(outdir, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'safari16', 'firefox115'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
  // The client loads its multipart encoder (node:crypto, node:stream) only to submit a build, which the
  // dashboard never does: that chunk is emitted but never fetched.
  external: ['node:*'],
});

const outputs = Object.entries(result.metafile.outputs);
const js = outputs.find(([, o]) => o.entryPoint?.endsWith('main.tsx'))?.[0];
const css = outputs.find(([path]) => path.endsWith('.css'))?.[0];
if (!js || !css) throw new Error('the dashboard build produced no app or stylesheet');
const html = readFileSync(join(src, 'index.html'), 'utf8').replace('%JS%', basename(js)).replace('%CSS%', basename(css));
mkdirSync(outdir, { recursive: true });
writeFileSync(join(outdir, 'index.html'), html);
for (const file of [...readdirSync(join(outdir, 'assets')).map((f) => join(outdir, 'assets', f)), join(outdir, 'index.html')]) {
  if (!/\.(js|css|html)$/.test(file)) continue;
  const body = readFileSync(file);
  writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
  writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
}
writeFileSync(stamp, new Date().toISOString() + '\n');
