/**
 * At 100k queued builds, reading a build's queue info costs the same at position 1
 * and at position 50,000: the same statements, every read of `builds` an index
 * search (EXPLAIN QUERY PLAN: no SCAN of builds), and the count of builds ahead
 * stops at QUEUE_AHEAD_CAP + 1 rows. Claims past 100k builds the worker cannot
 * take, and every list filter, read through indexes too. (Timing is the benchmark's
 * business: bench/queue-scale.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { QUEUE_AHEAD_CAP, type Platform } from '@buildmesh/protocol';
import { DATABASE_FILE } from '../src/backup.js';
import { newId } from '../src/ids.js';
import { KyselyStore } from '../src/store/kysely-store.js';
import type { Database } from '../src/store/schema.js';
import { seedBuilds } from '../../../test/helpers/seed-sqlite.js';
import { newWebBuild } from './helpers/store-records.js';

const dir = mkdtempSync(join(tmpdir(), 'buildmesh-queue-scale-'));
const sqlite = new BetterSqlite3(join(dir, DATABASE_FILE));
let capture: Array<{ sql: string; parameters: readonly unknown[] }> | null = null;
const store = new KyselyStore(
  new Kysely<Database>({
    dialect: new SqliteDialect({ database: sqlite }),
    log: (event) => {
      if (event.level === 'query') capture?.push({ sql: event.query.sql, parameters: event.query.parameters });
    },
  }),
  'sqlite',
);
let orgId = '';
let queued: string[] = [];

before(async () => {
  await store.migrate();
  orgId = (await store.createOrg({ id: newId('org'), name: 'scale' })).id;
  const projectId = (await store.ensureProject(orgId, newId('prj'), 'app')).id;
  const first = await store.createBuild(newWebBuild(orgId, projectId));
  queued = [first.id, ...seedBuilds(dir, first.id, 99_999)];
  seedBuilds(dir, first.id, 100_000, { platform: 'android' });
  seedBuilds(dir, first.id, 20, { status: 'failed', profileName: 'rare' });
  await store.insertWorker({
    id: newId('wrk'),
    orgId,
    pool: 'org',
    capabilities: { name: 'w', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' },
    secretHash: randomBytes(32),
  });
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `fn`, returning the statements it sent and their query plans. */
async function traced<T>(fn: () => Promise<T>): Promise<{ result: T; statements: string[]; plans: string[][] }> {
  capture = [];
  try {
    const result = await fn();
    const statements = capture.map((q) => q.sql);
    const plans = capture.map((q) =>
      (sqlite.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as Array<{ detail: string }>).map((r) => r.detail),
    );
    return { result, statements, plans };
  } finally {
    capture = null;
  }
}

/** Every column the statement filters on is in an index search's constraint: no row is read only to be dropped. */
function assertFiltersInIndex(sql: string, plan: string[]): void {
  const constraints = plan.filter((step) => step.startsWith('SEARCH')).map((step) => /\((.*)\)$/.exec(step)?.[1] ?? '');
  for (const [, column] of sql.matchAll(/"(\w+)" (?:=|<|>|<=|>=) \?/g)) {
    assert.ok(
      constraints.some((c) => new RegExp(`\\b${column}[=<>]`).test(c)),
      `${column} is filtered outside the index searches: ${plan.join(' | ')}\n${sql}`,
    );
  }
}

function assertIndexedReads(plans: string[][], what: string): void {
  for (const plan of plans) {
    for (const step of plan) {
      assert.doesNotMatch(step, /^SCAN (builds|projects|attempts|log_batches)\b/, `${what} scans a table: ${plan.join(' | ')}`);
      assert.doesNotMatch(step, /USE TEMP B-TREE FOR ORDER BY/, `${what} sorts: ${plan.join(' | ')}`);
    }
  }
}

test('queue info at position 1 and at position 50,000 of 100k sends the same statements, each an index search, and counts at most the cap', async () => {
  const front = await traced(() => store.queueInfo(orgId, queued[0]!, 60_000));
  const deep = await traced(() => store.queueInfo(orgId, queued[49_999]!, 60_000));
  assert.deepEqual([front.result?.position, front.result?.positionCapped], [1, false]);
  assert.deepEqual([deep.result?.position, deep.result?.positionCapped], [QUEUE_AHEAD_CAP + 1, true], 'the count of builds ahead did not stop at the cap');
  assert.deepEqual(deep.statements, front.statements, 'a deeper position costs other statements');
  assertIndexedReads(front.plans, 'queue info');
  assertIndexedReads(deep.plans, 'queue info');
  // Each count of builds ahead has a limit, and its index search constrains every column it filters on:
  // the rows it visits are the rows it counts, at most cap + 1 (no rows read only to be filtered out).
  const counts = deep.statements.map((sql, i) => ({ sql, plan: deep.plans[i]! })).filter((q) => q.sql.includes('count(*)'));
  assert.ok(counts.length > 0);
  for (const { sql, plan } of counts) {
    assert.match(sql, /limit \?/, `a count of builds ahead without a limit: ${sql}`);
    assertFiltersInIndex(sql, plan);
  }
});

test('a claim past 100k queued builds the worker cannot take reads through indexes and finds the one it can', async () => {
  const claimant = { workerId: (await store.listWorkersForOrg(orgId, 60_000))[0]!.id, orgId, platforms: ['web'] as Platform[], labels: {}, concurrency: 1, leaseTtlMs: 60_000 };
  const { result, plans } = await traced(() => store.claim(claimant));
  assert.equal(result?.build.id, queued[0]);
  assertIndexedReads(plans, 'the claim');
  await store.releaseClaim(claimant.workerId, result!.attempt.id);

  // The shared pool compares every org's lane heads (fair share): the lanes by platform through their
  // own index, then each org's head through the lane index — never a scan, whatever the queue holds.
  const shared = await store.insertWorker({
    id: newId('wrk'),
    orgId: null,
    pool: 'shared',
    capabilities: { name: 'shared', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' },
    secretHash: randomBytes(32),
  });
  const sharedClaim = await traced(() => store.claim({ ...claimant, workerId: shared.id, orgId: null }));
  assert.equal(sharedClaim.result?.build.id, queued[0]);
  assertIndexedReads(sharedClaim.plans, 'the shared claim');
  assert.ok(sharedClaim.plans.flat().some((step) => step.includes('queue_lanes_platform')), sharedClaim.plans.flat().join(' | '));
  assert.ok(sharedClaim.plans.flat().some((step) => step.includes('builds_lane')), sharedClaim.plans.flat().join(' | '));
  await store.releaseClaim(shared.id, sharedClaim.result!.attempt.id);
});

test('every list filter reads through an index that holds it', async () => {
  for (const q of [{ status: 'failed' as const }, { platform: 'ios' as const }, { profile: 'rare' }, { project: 'app' }, {}]) {
    const { result, statements, plans } = await traced(() => store.listBuilds(orgId, { ...q, limit: 50 }));
    assert.ok(result.builds.length <= 50);
    assertIndexedReads(plans, `list ${JSON.stringify(q)}`);
    statements.forEach((sql, i) => assertFiltersInIndex(sql, plans[i]!));
  }
  // Two filters at once: one of them is in the index, and nothing is sorted or scanned.
  const both = await traced(() => store.listBuilds(orgId, { status: 'failed', profile: 'rare', limit: 50 }));
  assert.equal(both.result.builds.length, 20);
  assertIndexedReads(both.plans, 'list status+profile');
});

test('metrics count every seeded build, folding the trigger-kept deltas in bounded passes', async () => {
  const { result, statements } = await traced(() => store.stats(60_000));
  assert.equal(result.queuedByPlatform.web, 100_000);
  assert.equal(result.queuedByPlatform.android, 100_000);
  assert.equal(result.buildsByStatus.failed, 20);
  assert.ok(statements.filter((s) => s.startsWith('delete')).length >= 20, 'the fold of 200k deltas was not split into passes');
  const again = await traced(() => store.stats(60_000));
  assert.deepEqual(again.result, result);
  assert.equal(again.statements.filter((s) => s.startsWith('delete')).length, 1);
});
