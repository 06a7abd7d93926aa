/**
 * PostgreSQL ends a connection that a request holds between two queries (a restart's fast
 * shutdown, pg_terminate_backend, a failover): the request fails, the controller does not. pg-pool
 * takes its error listener off a client it hands out, so without one of our own the FATAL
 * 57P01 arrived as an unhandled 'error' event and killed the process — the chaos soak on
 * PostgreSQL lost both replicas at once to a PostgreSQL restart. Here the backend of a client
 * held inside a transaction is terminated; the test process itself would die of it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { sql } from 'kysely';
import { openPostgresStore } from '../src/store/postgres.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../test/helpers/postgres.js';

let database: TestDatabase | undefined;
after(async () => database?.drop());

test('a connection terminated between two queries fails its request, not the process', { skip: pgSkip, timeout: 60_000 }, async () => {
  database = await createTestDatabase();
  const store = await openPostgresStore(database.url, { poolSize: 2 });
  try {
    const killer = new pg.Client({ connectionString: database.url });
    await killer.connect();
    try {
      const failure = await store.db
        .transaction()
        .execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
          await killer.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
          // The FATAL message reaches the client while no query of it is running.
          await new Promise((resolve) => setTimeout(resolve, 500));
          await sql`select 1`.execute(trx);
        })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      assert.ok(failure instanceof Error, 'the transaction whose connection was ended fails');
    } finally {
      await killer.end();
    }
    // The pool drops the dead client and the next request gets a live one.
    const { rows } = await sql<{ ok: number }>`select 1 as ok`.execute(store.db);
    assert.equal(rows[0]!.ok, 1);
  } finally {
    await store.close();
  }
});
