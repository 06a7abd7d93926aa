/**
 * A rolling upgrade on PostgreSQL: `buildmesh migrate` runs first (README, "run it alone before an
 * upgrade"), then replicas are replaced one at a time, so replicas of the previous release serve
 * beside this one for a while. What they send is fixed (their code is already deployed); the
 * statements below are the previous release's, from its source:
 * - its finish adds to the duration histograms with `on conflict (metric, platform, label, bucket)`;
 *   migration 0021 once replaced that key, so every finish through an old replica was refused (the
 *   shards now live in a table of their own);
 * - its claim locks the worker row with SELECT … FOR UPDATE (no new row version) before counting the
 *   worker's running attempts; this release's one-statement claim (claim-org-pg.ts) re-checks only
 *   the row's xmin, so after waiting for that lock it used the running count of a snapshot taken
 *   before the old replica's attempt was inserted: the worker got more attempts than its slots.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { newId } from '../src/ids.js';
import { openPostgresStore, type PostgresStore } from '../src/store/postgres.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../test/helpers/postgres.js';

let database: TestDatabase | undefined;
let store: PostgresStore;
let old: pg.Client;
before(async () => {
  if (pgSkip) return;
  database = await createTestDatabase();
  store = await openPostgresStore(database.url, { poolSize: 2 });
  old = new pg.Client({ connectionString: database.url, application_name: 'previous release' });
  await old.connect();
});
after(async () => {
  await old?.end();
  await store?.close();
  await database?.drop();
});

test('a previous-release replica’s finish still records its histograms after buildmesh migrate', { skip: pgSkip }, async () => {
  // build-stats.ts observe() of the previous release, as kysely compiled it.
  const upsert = `insert into "duration_buckets" ("metric", "platform", "label", "bucket", "n", "total_ms") values ($1, $2, $3, $4, $5, $6)
    on conflict ("metric", "platform", "label", "bucket") do update set "n" = "duration_buckets"."n" + $7, "total_ms" = "duration_buckets"."total_ms" + $8`;
  await old.query(upsert, ['queue_wait', 'android', '', 3, 1, 1200, 1, 1200]);
  await old.query(upsert, ['queue_wait', 'android', '', 3, 1, 1300, 1, 1300]);
  const rows = (await store.durationBuckets()).filter((r) => r.metric === 'queue_wait' && r.platform === 'android' && r.bucket === 3);
  assert.deepEqual(rows.reduce((s, r) => ({ n: s.n + r.n, totalMs: s.totalMs + r.totalMs }), { n: 0, totalMs: 0 }), { n: 2, totalMs: 2500 });
});

test('a worker claiming through a previous-release replica and this one at once never exceeds its slots', { skip: pgSkip, timeout: 60_000 }, async () => {
  const orgId = (await store.createOrg({ id: newId('org'), name: `o-${randomBytes(4).toString('hex')}` })).id;
  const projectId = (await store.ensureProject(orgId, newId('prj'), 'app')).id;
  const worker = await store.insertWorker({
    id: newId('wrk'),
    orgId,
    pool: 'org',
    capabilities: { name: 'one-slot', platforms: ['android'], labels: {}, concurrency: 1, version: 'test' },
    secretHash: randomBytes(32),
  });
  const source = { sha256: randomBytes(32).toString('hex'), size: 1 };
  for (let i = 0; i < 2; i++) {
    await store.createBuild({ id: newId('bld'), orgId, projectId, spec: { project: 'app', platform: 'android', profile: { name: 'p', env: {} } }, source, credentialsSealed: null, retryOf: null, idempotencyKey: null, submittedBy: 'ci' });
  }

  // The previous release's claim (claim.ts before the one-statement claim), one statement at a time.
  await old.query('begin');
  await old.query('select "id" from "workers" where "id" = $1 for update', [worker.id]);
  const busy = await old.query(`select count(*) as n from attempts where worker_id = $1 and status = 'running'`, [worker.id]);
  assert.equal(Number(busy.rows[0].n), 0);

  // Meanwhile the same worker's claim reaches this release's replica: it waits for the worker row.
  const claimed = store.claim({ workerId: worker.id, orgId, platforms: ['android'], labels: {}, concurrency: 1, leaseTtlMs: 60_000 });
  for (let i = 0; ; i++) {
    const waiting = await old.query(`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
    if (waiting.rowCount) break;
    assert.ok(i < 500, 'the claim waits for the worker row');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }

  const head = await old.query(`select id from builds where status = 'queued' and org_id = $1 order by priority desc, id asc limit 1 for update skip locked`, [orgId]);
  const buildId = head.rows[0].id as string;
  await old.query(`update builds set status = 'running', attempt_count = attempt_count + 1, started_at = $2 where id = $1 and status = 'queued'`, [buildId, new Date().toISOString()]);
  await old.query(
    `insert into attempts (id, build_id, org_id, number, worker_id, status, started_at, lease_expires_at, deadline_at, last_log_seq) values ($1, $2, $3, 1, $4, 'running', $5, $6, $6, 0)`,
    [newId('att'), buildId, orgId, worker.id, new Date().toISOString(), new Date(Date.now() + 60_000).toISOString()],
  );
  await old.query('commit');

  await claimed;
  const running = await old.query(`select count(*)::int as n from attempts where worker_id = $1 and status = 'running'`, [worker.id]);
  assert.equal(running.rows[0].n, 1, 'the worker runs one attempt, its one slot');
});
