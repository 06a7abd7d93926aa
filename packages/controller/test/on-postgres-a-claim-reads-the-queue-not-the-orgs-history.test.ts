/**
 * On PostgreSQL the one-statement claim finds a lane's head in the queued builds alone, however many
 * builds the org has run: with the table's statistics taken while it was small (as between two
 * autovacuum analyses of a busy table), PostgreSQL planned the head on builds_org_platform and read
 * and sorted the org's whole history on the platform for every claim. The plan must go through
 * builds_queued_head (migration 0025), and read a handful of buffers, not thousands.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { newId } from '../src/ids.js';
import { CLAIM } from '../src/store/queries/claim-org-pg.js';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { addHistoryUnknownToStatistics, postgresStoreForFile } from './helpers/postgres-store.js';
import { newWebBuild } from './helpers/store-records.js';

const db = postgresStoreForFile();

test('a claim on PostgreSQL reads the lane head from the queue, not the org’s history', { skip: pgSkip }, async () => {
  const orgId = (await db.store.createOrg({ id: newId('org'), name: 'history' })).id;
  const projectId = (await db.store.ensureProject(orgId, newId('prj'), 'app')).id;
  const workerId = newId('wrk');
  await db.store.insertWorker({ id: workerId, orgId, pool: 'org', capabilities: { name: 'w', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' }, secretHash: randomBytes(32) });
  const submit = () => db.store.createBuild(newWebBuild(orgId, projectId));
  const template = await submit();
  // Statistics of a small table, then a history of 5,000 finished builds it does not know of.
  await addHistoryUnknownToStatistics(db, template.id, 5000);
  const queued = await submit();

  const now = new Date().toISOString();
  await db.sql.query('begin');
  const plan = (
    await db.sql.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers, costs off, timing off) ${CLAIM}`, [workerId, orgId, ['web'], '{}', 1, now, newId('att'), now])
  ).rows.map((r) => r['QUERY PLAN']);
  await db.sql.query('rollback');
  const text = plan.join('\n');
  assert.match(text, /builds_queued_head/, text);
  assert.doesNotMatch(text, /builds_org_platform|Seq Scan on builds/, text);
  const buffers = Math.max(...plan.map((l) => Number(/Buffers: shared hit=(\d+)/.exec(l)?.[1] ?? 0)));
  assert.ok(buffers < 200, `the claim read ${buffers} buffers:\n${text}`);

  const job = await db.store.claim({ workerId, orgId, platforms: ['web'], labels: {}, concurrency: 1, leaseTtlMs: 60_000 });
  assert.equal(job?.build.id, queued.id);
});
