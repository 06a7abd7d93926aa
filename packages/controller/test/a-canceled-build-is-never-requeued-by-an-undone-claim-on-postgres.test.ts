/**
 * A claim whose long-poll client left is undone (release-claim.ts: the attempt deleted, the build
 * back to queued). On PostgreSQL it read the attempt and the build without locks and then requeued
 * the build with no status guard, so a user's cancel that committed between its read and its write
 * was undone: the build answered "canceled" (and reported to its webhooks) went back to the queue
 * and the next claim ran it. The interleaving is made deterministic by holding the attempt's row
 * from another connection, so the undo waits right after its reads. (SQLite has one writer.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { newId } from '../src/ids.js';
import { openPostgresStore, type PostgresStore } from '../src/store/postgres.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../test/helpers/postgres.js';
import { newWebBuild } from './helpers/store-records.js';

let database: TestDatabase | undefined;
let store: PostgresStore;
let side: pg.Client;
before(async () => {
  if (pgSkip) return;
  database = await createTestDatabase();
  store = await openPostgresStore(database.url, { poolSize: 4 });
  side = new pg.Client({ connectionString: database.url });
  await side.connect();
});
after(async () => {
  await side?.end();
  await store?.close();
  await database?.drop();
});

test('a build canceled while its claim is undone stays canceled on PostgreSQL', { skip: pgSkip, timeout: 60_000 }, async () => {
  const orgId = (await store.createOrg({ id: newId('org'), name: 'acme' })).id;
  const projectId = (await store.ensureProject(orgId, newId('prj'), 'app')).id;
  const worker = await store.insertWorker({ id: newId('wrk'), orgId, pool: 'org', capabilities: { name: 'w', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' }, secretHash: randomBytes(32) });
  const claimant = { workerId: worker.id, orgId, platforms: ['web' as const], labels: {}, concurrency: 1, leaseTtlMs: 60_000 };
  const build = await store.createBuild(newWebBuild(orgId, projectId, { idempotencyKey: null, submittedBy: 'ci' }));
  const job = await store.claim(claimant);
  assert.equal(job?.build.id, build.id);

  await side.query('begin');
  await side.query('select 1 from attempts where id = $1 for update', [job.attempt.id]);
  const undo = store.releaseClaim(worker.id, job.attempt.id);
  for (let i = 0; ; i++) {
    const waiting = await side.query(`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
    if (waiting.rowCount) break;
    assert.ok(i < 500, 'the undo waits for the attempt row');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const canceled = await store.cancelBuild(orgId, build.id);
  assert.equal(canceled?.status, 'canceled');
  await side.query('commit');
  await undo;

  const row = (await side.query('select status from builds where id = $1', [build.id])).rows[0] as { status: string };
  assert.equal(row.status, 'canceled', 'the build the user canceled stays canceled');
  assert.equal(await store.claim(claimant), undefined, 'and is never handed out again');
});
