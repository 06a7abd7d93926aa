// A CLI command starts in a blink only if it loads what it uses and nothing else: `--version`
// loads the bundle's entry alone, `status` never loads the server side (fastify, the store, the
// worker), and the bin never falls back to the TypeScript sources unless BUILDMESH_DEV=1 says so.
// A module-resolution hook records every module the real binary loads.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCli, spawnCli, waitForExit, waitForOutput } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'buildmesh-load-trace-'));
const hooks = join(dir, 'hooks.mjs');
const register = join(dir, 'register.mjs');
writeFileSync(
  hooks,
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.BUILDMESH_TEST_LOAD_LOG, resolved.url + '\\n');
  return resolved;
}
`,
);
writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the binary and returns the files of every module it loaded (node: built-ins left out). */
async function loadedBy(args: string[], env: Record<string, string> = {}): Promise<string[]> {
  const log = join(dir, `load-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  const result = await runCli(args, { env: { NODE_OPTIONS: `--import ${register}`, BUILDMESH_TEST_LOAD_LOG: log, ...env } });
  assert.ok(result.code !== null && result.code <= 2, `buildmesh ${args.join(' ')}: ${result.stderr}`);
  return [...new Set(readFileSync(log, 'utf8').split('\n'))].filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url));
}

/** Strings only the server side carries: fastify's error codes, the store's driver, the bwrap executor. */
const serverMarkers = ['FST_ERR_', 'better-sqlite3', '--die-with-parent'];
const bundled = (files: string[]) => files.filter((f) => f.includes(`${join('packages', 'cli', 'dist')}`));

void test('--version loads no command and no wire-contract code, only the entry and its argument parser', async () => {
  const files = bundled(await loadedBy(['--version']));
  assert.ok(files.some((f) => f.endsWith(join('dist', 'main.js'))));
  for (const file of files) {
    const code = readFileSync(file, 'utf8');
    assert.ok(!code.includes('Pack the Expo project'), `${file}: a command was loaded`);
    assert.ok(!code.includes('~kind'), `${file}: the protocol's schemas (typebox) were loaded`);
  }
});

void test('status loads no server code: no fastify, no store, no worker', async () => {
  const files = await loadedBy(['status', 'bld_00000000000000000000000000'], { BUILDMESH_URL: 'http://127.0.0.1:9', BUILDMESH_TOKEN: 'x'.repeat(32) });
  assert.ok(files.every((f) => !f.endsWith('.ts')), 'no TypeScript source is loaded');
  assert.ok(files.every((f) => !f.includes('node_modules')), `nothing from node_modules: ${files.filter((f) => f.includes('node_modules')).join(', ')}`);
  for (const file of bundled(files)) {
    const code = readFileSync(file, 'utf8');
    for (const marker of serverMarkers) assert.ok(!code.includes(marker), `${file} carries server code (${marker})`);
  }
});

/**
 * What only some requests use loads with the first of them (docs/fast-start.md): the OpenAPI
 * generator and its YAML parser, glob (@fastify/static's, unused with its wildcard routes), tar
 * (backup and restore), the SSO and OIDC-exchange libraries.
 */
const loadedOnFirstUse = ['@fastify/swagger', 'yaml', 'glob', 'tar', 'openid-client', 'jose'];

void test('a controller start loads none of what only some requests use', async () => {
  const log = join(dir, 'load-controller.log');
  writeFileSync(log, '');
  const dataDir = mkdtempSync(join(tmpdir(), 'buildmesh-load-controller-'));
  const child = spawnCli(['controller', '--data-dir', dataDir, '--port', '0'], {
    env: { NODE_OPTIONS: `--import ${register}`, BUILDMESH_TEST_LOAD_LOG: log, BUILDMESH_ADMIN_TOKEN: 'load-trace-admin-token-0123456789ab' },
  });
  try {
    await waitForOutput(child, /listening on (http:\/\/\S+)/);
    const url = /listening on (http:\/\/\S+)/.exec(child.output.stdout)![1]!;
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const files = bundled([...new Set(readFileSync(log, 'utf8').split('\n'))].filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u)));
    assert.ok(files.some((f) => readFileSync(f, 'utf8').includes('FST_ERR_')), 'the server was loaded');
    for (const file of files) {
      const code = readFileSync(file, 'utf8');
      for (const pkg of loadedOnFirstUse) assert.ok(!code.includes(`// node_modules/${pkg}/`), `${file} carries ${pkg}, which a start does not use`);
    }
    // ...and the first request that needs one still gets it.
    const openapi = (await (await fetch(`${url}/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(Object.keys(openapi.paths).length > 50, 'the OpenAPI document lists the routes');
  } finally {
    child.kill('SIGTERM');
    await waitForExit(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

void test('BUILDMESH_DEV=1 runs the TypeScript sources instead of the bundle', async () => {
  const files = await loadedBy(['--version'], { BUILDMESH_DEV: '1' });
  assert.ok(files.some((f) => f.endsWith(join('cli', 'src', 'main.ts'))), 'main.ts was loaded');
  assert.equal(bundled(files).length, 0);
});
