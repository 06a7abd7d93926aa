/**
 * The lane sweep (sweep-queue-lanes.ts) removes lanes no build waits in or runs from, on both stores, and
 * never strands a build: a lane with a running build stays (an undone claim queues the build again), and a
 * queued build whose lane a racing removal took (as can happen on PostgreSQL) gets it back in the same sweep.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'kysely';
import { newId } from '../src/ids.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { KyselyStore } from '../src/store/kysely-store.js';
import type { Store } from '../src/store/store.js';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { postgresStoreForFile } from './helpers/postgres-store.js';
import { newWebBuild } from './helpers/store-records.js';

const pgDb = pgSkip ? undefined : postgresStoreForFile();

async function lanesAreSwept(store: Store) {
  const db = (store as KyselyStore).db;
  const orgId = (await store.createOrg({ id: newId('org'), name: `lanes-${randomBytes(3).toString('hex')}` })).id;
  const projectId = (await store.ensureProject(orgId, newId('prj'), 'app')).id;
  const workerId = newId('wrk');
  await store.insertWorker({ id: workerId, orgId, pool: 'org', capabilities: { name: 'w', platforms: ['web'], labels: { xcode: '16' }, concurrency: 1, version: 'test' }, secretHash: randomBytes(32) });
  const claimant = { workerId, orgId, platforms: ['web' as const], labels: { xcode: '16' }, concurrency: 1, leaseTtlMs: 60_000 };
  const lanesOf = async () => Number((await sql<{ n: number }>`select count(*) as n from queue_lanes where org_id = ${orgId}`.execute(db)).rows[0]!.n);
  const web = (labels: Record<string, string>) => newWebBuild(orgId, projectId, { spec: { project: 'app', platform: 'web', profile: { name: 'production', env: {} }, labels } });

  // Ended builds leave idle lanes; they go.
  for (let i = 0; i < 3; i++) await store.cancelBuild(orgId, (await store.createBuild(web({ nonce: `n${i}` }))).id);
  assert.equal(await lanesOf(), 3);
  assert.equal((await store.sweepQueueLanes(new Date())).removed >= 3, true);
  assert.equal(await lanesOf(), 0);

  // A running build's lane stays: undoing its claim queues it again, and it is claimed again.
  const running = await store.createBuild(web({ xcode: '16' }));
  const job = await store.claim(claimant);
  assert.equal(job?.build.id, running.id);
  await store.sweepQueueLanes(new Date());
  assert.equal(await lanesOf(), 1, 'the lane of a running build stays');
  assert.equal(await store.releaseClaim(workerId, job!.attempt.id), true);
  assert.equal((await store.claim(claimant))?.build.id, running.id);

  // A queued build whose lane went (a removal racing its submit) gets it back, and is claimed.
  const stranded = await store.createBuild(web({ other: 'x' }));
  await sql`delete from queue_lanes where org_id = ${orgId} and label_key = ${(await sql<{ k: string }>`select label_key as k from builds where id = ${stranded.id}`.execute(db)).rows[0]!.k}`.execute(db);
  const swept = await store.sweepQueueLanes(new Date());
  assert.equal(swept.restored, 1);
  const other = { ...claimant, labels: { other: 'x' } };
  await sql`update attempts set status = 'succeeded' where worker_id = ${workerId}`.execute(db); // free the worker's slot
  assert.equal((await store.claim(other))?.build.id, stranded.id);
}

test('sqlite: idle queue lanes go, and no queued build is left without one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-lanes-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openSqliteStore(join(dir, 'db.sqlite'));
  t.after(() => store.close());
  await lanesAreSwept(store);
});

test('postgres: idle queue lanes go, and no queued build is left without one', { skip: pgSkip }, async () => {
  await lanesAreSwept(pgDb!.store);
});
