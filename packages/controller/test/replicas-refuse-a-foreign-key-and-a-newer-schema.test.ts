/**
 * One key for all replicas, one schema version they understand: a controller
 * started on a PostgreSQL database with another encryption key than the one that
 * sealed its data refuses to start and says what to do; so does one facing a
 * migration newer than it knows. `buildmesh migrate` (migrateDatabase) applies
 * pending migrations once and is idempotent.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { ConfigError, migrateDatabase, resolveOptions, startController } from '../src/index.js';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';

const key = () => randomBytes(32).toString('base64');

test('a replica with another key or an older version refuses the database; migrate is idempotent', { skip: pgSkip, timeout: 60_000 }, async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const dataDir = mkdtempSync(join(tmpdir(), 'buildmesh-keycheck-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const common = { databaseUrl: database.url, dataDir, port: 0, logLevel: 'silent' as const, adminToken: `admin-${randomBytes(16).toString('hex')}` };

  // `buildmesh migrate` before any replica: everything pending, then applied once.
  const before = await migrateDatabase({ databaseUrl: database.url, dataDir }, { statusOnly: true });
  assert.equal(before.applied.length, 0);
  assert.ok(before.pending.length > 0);
  const first = await migrateDatabase({ databaseUrl: database.url, dataDir }, { statusOnly: false });
  assert.deepEqual(first.ran, before.pending);
  assert.deepEqual(first.pending, []);
  const again = await migrateDatabase({ databaseUrl: database.url, dataDir }, { statusOnly: false });
  assert.deepEqual(again.ran, [], 'a second run applies nothing');

  // The first replica's key is recorded; the same key from a key file works on another replica.
  const original = key();
  const a = await startController({ ...common, encryptionKey: original });
  await a.close();
  const keyFile = join(dataDir, 'shared.key');
  writeFileSync(keyFile, `${original}\n`, { mode: 0o600 });
  const b = await startController({ ...common, encryptionKeyFile: keyFile });
  await b.close();

  // Another key: refused, with what to do.
  await assert.rejects(startController({ ...common, encryptionKey: key() }), (err: Error) => {
    assert.match(err.message, /different key/);
    assert.match(err.message, /BUILDMESH_ENCRYPTION_KEY/);
    return true;
  });

  // PostgreSQL without any key: a configuration error, before touching the database.
  await assert.rejects(startController({ ...common, encryptionKey: null }), /BUILDMESH_ENCRYPTION_KEY or BUILDMESH_ENCRYPTION_KEY_FILE/);

  // A migration this version does not know (a newer BuildMesh ran): refused, naming it.
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query(`insert into buildmesh_migrations (name, timestamp) values ('9999_from_the_future', now()::text)`);
  await client.end();
  await assert.rejects(startController({ ...common, encryptionKey: original }), /schema is newer than this controller: it has migration 9999_from_the_future/);
  await assert.rejects(migrateDatabase({ databaseUrl: database.url, dataDir }, { statusOnly: false }), /9999_from_the_future/);
  const status = await migrateDatabase({ databaseUrl: database.url, dataDir }, { statusOnly: true });
  assert.deepEqual(status.unknown, ['9999_from_the_future']);
});

test('BUILDMESH_DATABASE_URL must be a postgres URL, and its password never appears in the message', () => {
  for (const bad of ['mysql://u:hunter2secret@h/db', 'postgres://u:hunter2secret@h', 'not a url hunter2secret']) {
    assert.throws(
      () => resolveOptions({}, { BUILDMESH_DATABASE_URL: bad, BUILDMESH_ENCRYPTION_KEY: key() }),
      (err: Error) => err instanceof ConfigError && /BUILDMESH_DATABASE_URL/.test(err.message) && !err.message.includes('hunter2secret'),
    );
  }
  const ok = resolveOptions({}, { BUILDMESH_DATABASE_URL: 'postgresql://u:p@db:5432/buildmesh', BUILDMESH_ENCRYPTION_KEY: key() });
  assert.equal(ok.databaseUrl, 'postgresql://u:p@db:5432/buildmesh');
  assert.throws(() => resolveOptions({}, { BUILDMESH_DATABASE_URL: 'postgres://u:p@db/b' }), /BUILDMESH_ENCRYPTION_KEY or BUILDMESH_ENCRYPTION_KEY_FILE/);
});
