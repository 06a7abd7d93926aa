/**
 * A test file's PostgreSQL store on a database of its own, and a plain client for the SQL the test runs
 * itself: opened before the file's tests (unless PostgreSQL is missing: see pgSkip), dropped after them.
 */
import { after, before } from 'node:test';
import pg from 'pg';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../../test/helpers/postgres.js';

export interface PostgresStoreFixture {
  store: PostgresStore;
  sql: pg.Client;
}

export function postgresStoreForFile(): PostgresStoreFixture {
  const fixture = {} as PostgresStoreFixture;
  let database: TestDatabase | undefined;
  before(async () => {
    if (pgSkip) return;
    database = await createTestDatabase();
    fixture.store = await openPostgresStore(database.url);
    fixture.sql = new pg.Client({ connectionString: database.url });
    await fixture.sql.connect();
  });
  after(async () => {
    await fixture.sql?.end();
    await fixture.store?.close();
    await database?.drop();
  });
  return fixture;
}
