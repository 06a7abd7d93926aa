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

/**
 * Gives the org of build `templateId` a history PostgreSQL's statistics do not know of: the statistics
 * are taken first (a small table), then `count` finished copies of the build are added and the build
 * itself is marked finished. The plan tests' stale-statistics setup.
 */
export async function addHistoryUnknownToStatistics(fixture: PostgresStoreFixture, templateId: string, count: number): Promise<void> {
  await fixture.sql.query('analyze builds');
  await fixture.sql.query(
    `insert into builds select (jsonb_populate_record(b, jsonb_build_object('id', b.id || '_' || g, 'status', 'succeeded', 'finished_at', b.created_at))).*
     from builds b, generate_series(1, $2::int) g where b.id = $1`,
    [templateId, count],
  );
  await fixture.sql.query(`update builds set status = 'succeeded' where id = $1`, [templateId]);
}
