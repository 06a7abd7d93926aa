/**
 * The CLI's revocation and rotation commands against a real controller and worker process:
 * `workers revoke ID` removes the worker at once; `admin enroll-token revoke --and-workers` answers
 * the workers it revoked; `admin rotate-instance-token` prints a new instance admin token once,
 * keeps this CLI's saved login working with it, and the old token stops working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, runJson } from './helpers/cli.js';
import { startMesh } from './helpers/mesh.js';

test('workers revoke, enroll-token revoke --and-workers and admin rotate-instance-token take effect at once', { timeout: 180_000 }, async (t) => {
  const mesh = await startMesh(t, { worker: true });
  const env = mesh.env;

  const { workers } = await runJson<{ workers: Array<{ id: string; pool: string }> }>(['workers', '--json'], { env });
  assert.equal(workers.length, 1);
  assert.equal(workers[0]!.pool, 'org', 'a worker without a sandbox sits in an org pool');
  assert.deepEqual(await runJson(['workers', 'revoke', workers[0]!.id, '--json'], { env }), { ok: true, workerId: workers[0]!.id });
  assert.deepEqual((await runJson<{ workers: unknown[] }>(['workers', '--json'], { env })).workers, [], 'the revoked worker is gone');
  const again = await runCli(['workers', 'revoke', workers[0]!.id, '--json'], { env });
  assert.notEqual(again.code, 0);
  assert.equal((JSON.parse(again.stdout) as { error: { code: string } }).error.code, 'NOT_FOUND');

  const enroll = await runJson<{ enrollmentToken: { id: string } }>(['admin', 'enroll-token', 'create', 'rack', '--json'], { env });
  const revoked = await runJson<{ enrollmentToken: { revokedAt: string | null }; revokedWorkers: string[] }>(
    ['admin', 'enroll-token', 'revoke', enroll.enrollmentToken.id, '--and-workers', '--json'],
    { env },
  );
  assert.ok(revoked.enrollmentToken.revokedAt);
  assert.deepEqual(revoked.revokedWorkers, []);

  // Rotation from a saved login (no token in the environment).
  const loginEnv = { XDG_CONFIG_HOME: join(mesh.root, 'login-config') };
  await runJson(['login', '--url', mesh.url, '--token-stdin', '--json'], { env: loginEnv, input: mesh.adminToken });
  const rotated = await runJson<{ secret: string; revoked: string[]; loginUpdated: boolean; token: { instanceAdmin: boolean } }>(
    ['admin', 'rotate-instance-token', '--json'],
    { env: loginEnv },
  );
  assert.equal(rotated.token.instanceAdmin, true);
  assert.equal(rotated.loginUpdated, true);
  assert.notEqual(rotated.secret, mesh.adminToken);
  const me = await runJson<{ token: { instanceAdmin: boolean } }>(['whoami', '--json'], { env: loginEnv });
  assert.equal(me.token.instanceAdmin, true, 'the saved login now holds the new token');
  const old = await runCli(['whoami', '--json'], { env });
  assert.notEqual(old.code, 0, 'the old instance admin token no longer works');
  assert.equal((JSON.parse(old.stdout) as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
});
