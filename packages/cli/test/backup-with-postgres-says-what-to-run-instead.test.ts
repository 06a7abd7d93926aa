/**
 * `buildmesh backup` / `restore` cover the embedded store only. With
 * BUILDMESH_DATABASE_URL set they refuse and name the PostgreSQL tools to run
 * instead, without ever connecting (or printing the URL's password).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanEnv, runCli } from './helpers/cli.js';

test('backup and restore on a PostgreSQL install say what to run instead', async () => {
  const env = cleanEnv({ BUILDMESH_DATABASE_URL: 'postgres://buildmesh:hunter2secret@127.0.0.1:1/buildmesh' });
  const backup = await runCli(['backup', '--json'], { env });
  assert.notEqual(backup.code, 0);
  assert.match(backup.stdout + backup.stderr, /BACKUP_FAILED/);
  assert.match(backup.stdout + backup.stderr, /pg_dump -Fc/);
  const restore = await runCli(['restore', 'some.tar.gz'], { env });
  assert.notEqual(restore.code, 0);
  assert.match(restore.stdout + restore.stderr, /pg_restore/);
  assert.doesNotMatch(backup.stdout + backup.stderr + restore.stdout + restore.stderr, /hunter2secret/);
});
