import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTROLLER_SETTINGS, ConfigError, resolveOptions } from '../src/config.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

test('defaults apply with an empty environment, and every option has a documented variable', () => {
  const options = resolveOptions({}, {});
  assert.equal(options.port, 4650);
  assert.equal(options.host, '127.0.0.1');
  assert.match(options.dataDir, /\.buildmesh$/);
  assert.equal(options.maxSourceBytes, 2 * 1024 ** 3);
  assert.equal(options.maxArtifactBytes, 4 * 1024 ** 3);
  assert.equal(options.leaseTtlMs, 30_000);
  assert.equal(options.adminToken, null);
  for (const key of Object.keys(options)) {
    const setting = CONTROLLER_SETTINGS.find((s) => s.name === key);
    assert.ok(setting, `${key} is in the settings table`);
    assert.match(setting.env, /^BUILDMESH_[A-Z_]+$/);
    assert.ok(setting.description.length > 10);
  }
});

test('environment values parse; explicit options win over them', () => {
  const env = { BUILDMESH_PORT: '8080', BUILDMESH_MAX_SOURCE_BYTES: '512MiB', BUILDMESH_LOG_LEVEL: 'debug', BUILDMESH_RETENTION_DAYS: '0' };
  const options = resolveOptions({ port: 9090 }, env);
  assert.equal(options.port, 9090);
  assert.equal(options.maxSourceBytes, 512 * 1024 ** 2);
  assert.equal(options.logLevel, 'debug');
  assert.equal(options.retentionDays, 0);
});

test('a bad value stops the start with a message naming the variable', () => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ BUILDMESH_PORT: '70000' }, /BUILDMESH_PORT/],
    [{ BUILDMESH_PORT: 'http' }, /BUILDMESH_PORT/],
    [{ BUILDMESH_LEASE_TTL_MS: '5s' }, /BUILDMESH_LEASE_TTL_MS/],
    [{ BUILDMESH_MAX_SOURCE_BYTES: '2 parsecs' }, /BUILDMESH_MAX_SOURCE_BYTES/],
    [{ BUILDMESH_LOG_LEVEL: 'loud' }, /BUILDMESH_LOG_LEVEL/],
    [{ BUILDMESH_ADMIN_TOKEN: 'short' }, /BUILDMESH_ADMIN_TOKEN/],
    [{ BUILDMESH_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') }, /BUILDMESH_ENCRYPTION_KEY/],
    [{ BUILDMESH_LEASE_TTL_MS: '1000', BUILDMESH_HEARTBEAT_INTERVAL_MS: '800' }, /BUILDMESH_LEASE_TTL_MS/],
    [{ BUILDMESH_SQLITE_SYNCHRONOUS: 'off' }, /BUILDMESH_SQLITE_SYNCHRONOUS/],
  ];
  for (const [env, message] of bad) {
    assert.throws(() => resolveOptions({}, env), (err: unknown) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
  }
  // The secret itself never appears in the message.
  assert.throws(() => resolveOptions({}, { BUILDMESH_ADMIN_TOKEN: 'tiny-secret' }), (err: Error) => !err.message.includes('tiny-secret'));
});

test('the controller process refuses to start on a bad value and says why', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'buildmesh-config-'));
  try {
    const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN], {
      env: { ...process.env, BUILDMESH_DATA_DIR: dataDir, BUILDMESH_PORT: '0', BUILDMESH_BODY_IDLE_TIMEOUT_MS: 'soon' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /BUILDMESH_BODY_IDLE_TIMEOUT_MS: must be a whole number/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
