/**
 * While PostgreSQL cannot be reached (down, restarting, ending connections), a request is
 * answered 503 DATABASE_UNAVAILABLE — retried by every client, logged as a warning — not 500
 * INTERNAL; a real query error is still a 500. The errors here are the driver's real ones.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { isTransient } from '@buildmesh/protocol';
import { toApiError } from '../src/http/errors.js';
import { createPgPool, openPostgresStore } from '../src/store/postgres.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../test/helpers/postgres.js';
import { freePort } from '../../../test/helpers/processes.js';

let database: TestDatabase | undefined;
after(async () => database?.drop());

const caught = (p: Promise<unknown>): Promise<unknown> => p.then(() => assert.fail('expected a failure'), (err: unknown) => err);

test('no PostgreSQL listening: 503 DATABASE_UNAVAILABLE, which clients retry', async () => {
  const pool = createPgPool(`postgres://nobody@127.0.0.1:${await freePort()}/none`);
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    const answer = toApiError(await caught(sql`select 1`.execute(db)));
    assert.equal(answer.code, 'DATABASE_UNAVAILABLE');
    assert.equal(answer.status, 503);
    assert.ok(isTransient(answer));
  } finally {
    await db.destroy();
  }
});

test('a query whose connection PostgreSQL ends: 503; a query error: still 500', { skip: pgSkip, timeout: 60_000 }, async () => {
  database = await createTestDatabase();
  const store = await openPostgresStore(database.url);
  const killer = new pg.Client({ connectionString: database.url });
  await killer.connect();
  try {
    const sleeping = caught(sql`select pg_sleep(30)`.execute(store.db));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await killer.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'select pg_sleep%' and pid <> pg_backend_pid()`);
    assert.equal(toApiError(await sleeping).code, 'DATABASE_UNAVAILABLE');
    assert.equal(toApiError(await caught(killer.query('select * from no_such_table'))).code, 'INTERNAL');
  } finally {
    await killer.end();
    await store.close();
  }
});
