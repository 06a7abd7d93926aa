import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { credentialFilePath, parseLabels, resolveWorkerOptions, WORKER_OPTIONS, WorkerConfigError } from '../src/config.js';
import { loadCredential, saveCredential } from '../src/identity.js';
import { tempDir } from './support/runner-fixtures.js';

void test('options come from explicit values, then BUILDMESH_* variables, then defaults', () => {
  const env = {
    BUILDMESH_URL: 'http://controller:7070/',
    BUILDMESH_ENROLLMENT_TOKEN: 'enr-secret',
    BUILDMESH_LABELS: 'gpu=yes, pool=fast',
    BUILDMESH_CONCURRENCY: '3',
    BUILDMESH_SANDBOX: 'none',
    BUILDMESH_KEEP_WORKSPACE: 'true',
  };
  const fromEnv = resolveWorkerOptions({}, env);
  assert.equal(fromEnv.url, 'http://controller:7070');
  assert.equal(fromEnv.enrollmentToken, 'enr-secret');
  assert.deepEqual(fromEnv.labels, { gpu: 'yes', pool: 'fast' });
  assert.equal(fromEnv.concurrency, 3);
  assert.equal(fromEnv.sandbox, 'none');
  assert.equal(fromEnv.keepWorkspace, true);
  // As root, not below the home directory: the build user must be able to reach its workspace.
  assert.equal(fromEnv.workDir, process.getuid?.() === 0 ? '/var/lib/buildmesh-worker' : join(homedir(), '.buildmesh-worker'));
  assert.deepEqual(fromEnv.buildUser, { uid: 65534, gid: 65534 });
  assert.deepEqual(resolveWorkerOptions({}, { ...env, BUILDMESH_BUILD_USER: '1001:1002' }).buildUser, { uid: 1001, gid: 1002 });
  assert.throws(() => resolveWorkerOptions({}, { ...env, BUILDMESH_BUILD_USER: '0:0' }), { code: 'WORKER_CONFIG_INVALID' });
  assert.equal(fromEnv.configDir, join(homedir(), '.config', 'buildmesh'));

  const explicit = resolveWorkerOptions({ concurrency: 2, sandbox: 'bwrap', labels: {}, workDir: '/srv/work' }, env);
  assert.equal(explicit.concurrency, 2);
  assert.equal(explicit.sandbox, 'bwrap');
  assert.deepEqual(explicit.labels, {});
  assert.equal(explicit.workDir, '/srv/work');

  const defaults = resolveWorkerOptions({}, { BUILDMESH_URL: 'https://ci.example.com' });
  assert.equal(defaults.concurrency, 1);
  assert.equal(defaults.sandbox, 'auto');
  assert.equal(defaults.keepWorkspace, false);
  assert.equal(defaults.enrollmentToken, undefined);
});

void test('bad options are refused with WorkerConfigError naming the problem', () => {
  const bad = (overrides: object, env: Record<string, string> = { BUILDMESH_URL: 'http://c' }) =>
    assert.throws(() => resolveWorkerOptions(overrides, env), WorkerConfigError);
  bad({}, {});
  bad({ url: 'ftp://c' });
  bad({}, { BUILDMESH_URL: 'http://c', BUILDMESH_CONCURRENCY: '0' });
  bad({}, { BUILDMESH_URL: 'http://c', BUILDMESH_SANDBOX: 'docker' });
  bad({}, { BUILDMESH_URL: 'http://c', BUILDMESH_LABELS: 'novalue' });
  assert.throws(() => parseLabels('Bad Key=x'), /label key/);
});

void test('the option table documents every option with its variable, flag and default', () => {
  const keys = WORKER_OPTIONS.map((o) => o.key).sort();
  assert.deepEqual(keys, [
    'buildUser', 'cacheDir', 'cacheMaxGb', 'concurrency', 'configDir', 'enrollmentToken', 'enrollmentTokenFile', 'hidePaths', 'keepWorkspace', 'labels', 'logLevel', 'name',
    'sandbox', 'toolchainRegistry', 'url', 'workDir',
  ]);
  for (const o of WORKER_OPTIONS) assert.ok(o.env.startsWith('BUILDMESH_') && (o.flag.startsWith('--') || o.flag === '(environment only)') && o.default && o.description);
});

void test('the cache dir defaults to <work dir>/cache, its limit to 20 GB; a bad limit or registry is refused', () => {
  const base = { BUILDMESH_URL: 'http://c:1', BUILDMESH_WORK_DIR: '/srv/bm' };
  const defaults = resolveWorkerOptions({}, base);
  assert.equal(defaults.cacheDir, '/srv/bm/cache');
  assert.equal(defaults.cacheMaxGb, 20);
  assert.equal(defaults.toolchainRegistry, 'https://registry.npmjs.org');
  const set = resolveWorkerOptions({ cacheMaxGb: 0.5 }, { ...base, BUILDMESH_CACHE_DIR: '/cache', BUILDMESH_CACHE_MAX_GB: '3', BUILDMESH_TOOLCHAIN_REGISTRY: 'http://127.0.0.1:4873/' });
  assert.deepEqual([set.cacheDir, set.cacheMaxGb, set.toolchainRegistry], ['/cache', 0.5, 'http://127.0.0.1:4873']);
  assert.throws(() => resolveWorkerOptions({}, { ...base, BUILDMESH_CACHE_MAX_GB: 'lots' }), /cache-max-gb must be a number/);
  assert.throws(() => resolveWorkerOptions({}, { ...base, BUILDMESH_CACHE_MAX_GB: '-1' }), /cache-max-gb/);
  assert.throws(() => resolveWorkerOptions({}, { ...base, BUILDMESH_TOOLCHAIN_REGISTRY: 'file:///etc' }), /toolchain registry must be an http/);
});

void test('the credential is saved with mode 0600, per controller and worker name, and read back', async (t) => {
  const configDir = tempDir(t);
  const a = credentialFilePath({ url: 'http://controller:7070', name: 'mac-1', configDir });
  assert.notEqual(a, credentialFilePath({ url: 'http://controller:7070', name: 'mac-2', configDir }));
  assert.notEqual(a, credentialFilePath({ url: 'http://other:7070', name: 'mac-1', configDir }));
  assert.equal(a, credentialFilePath({ url: 'http://controller:7070/some/path', name: 'mac-1', configDir }));

  const saved = { url: 'http://controller:7070', name: 'mac-1', workerId: 'wrk_1', credential: 'secret-credential', enrolledAt: new Date().toISOString() };
  await saveCredential(a, saved);
  assert.equal(statSync(a).mode & 0o777, 0o600);
  assert.deepEqual(await loadCredential(a), saved);
  assert.equal(await loadCredential(join(configDir, 'missing.json')), undefined);
});
