/**
 * Group commit on the embedded store (synchronous=FULL): submits that arrive together share a
 * commit, yet each one succeeds or fails on its own — a refused or broken submit rolls back only
 * its own writes, a repeated idempotency key answers the first build, and everything acknowledged
 * is in the database file when it is opened again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { ApiError } from '@buildmesh/protocol';
import { openSqliteStore } from '../src/store/sqlite.js';
import { newId } from '../src/ids.js';
import type { NewBuild, Store } from '../src/store/store.js';

async function fixture(t: TestContext): Promise<{ file: string; store: Store; orgId: string; projectId: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-group-commit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'controller.db');
  const store = await openSqliteStore(file, { synchronous: 'FULL' });
  t.after(() => store.close());
  const org = await store.createOrg({ id: newId('org'), name: 'acme' });
  const project = await store.ensureProject(org.id, newId('prj'), 'app');
  return { file, store, orgId: org.id, projectId: project.id };
}

const submit = (orgId: string, projectId: string, extra: Partial<NewBuild> = {}): NewBuild => ({
  id: newId('bld'),
  orgId,
  projectId,
  spec: { project: 'app', platform: 'web', profile: { name: 'production', env: {} } },
  source: { sha256: 'a'.repeat(64), size: 10 },
  credentialsSealed: null,
  retryOf: null,
  ...extra,
});

/** The build ids in the file, read by a connection of its own (what a restarted controller sees). */
function storedIds(file: string): Set<string> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return new Set((db.prepare('select id from builds').all() as Array<{ id: string }>).map((r) => r.id));
  } finally {
    db.close();
  }
}

test('a broken submit among concurrent ones rolls back alone; the others are stored', async (t) => {
  const { file, store, orgId, projectId } = await fixture(t);
  // Every fifth names a project that does not exist: its insert fails on the foreign key, after
  // its queue lane was written in the same savepoint.
  const builds = Array.from({ length: 40 }, (_, i) => submit(orgId, i % 5 === 2 ? 'prj_missing' : projectId, i % 5 === 2 ? { spec: { project: 'app', platform: 'android', profile: { name: 'broken', env: {} } } } : {}));
  const results = await Promise.allSettled(builds.map((b) => store.createBuild(b)));
  const ok = builds.filter((_, i) => results[i]!.status === 'fulfilled').map((b) => b.id);
  assert.equal(results.filter((r) => r.status === 'rejected').length, 8);
  assert.equal(ok.length, 32);
  assert.deepEqual(storedIds(file), new Set(ok), 'exactly the acknowledged builds are in the file');
  const db = new BetterSqlite3(file, { readonly: true });
  t.after(() => db.close());
  assert.deepEqual(db.prepare("select platform from queue_lanes").all(), [{ platform: 'web' }], 'the broken submits left no queue lane behind');
});

test('the queue limit holds exactly when every submit arrives at once', async (t) => {
  const { file, store, orgId, projectId } = await fixture(t);
  store.setOrgLimits({ maxQueued: 20, maxSharedRunning: 0 });
  const builds = Array.from({ length: 50 }, () => submit(orgId, projectId));
  const results = await Promise.allSettled(builds.map((b) => store.createBuild(b)));
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(refused.length, 30);
  for (const r of refused) assert.ok(r.reason instanceof ApiError && r.reason.code === 'ORG_QUEUE_FULL', String(r.reason));
  const ok = builds.filter((_, i) => results[i]!.status === 'fulfilled').map((b) => b.id);
  assert.deepEqual(storedIds(file), new Set(ok));
});

test('one idempotency key sent by ten concurrent submits makes one build; all ten get it', async (t) => {
  const { file, store, orgId, projectId } = await fixture(t);
  const repeats = Array.from({ length: 10 }, () => submit(orgId, projectId, { idempotencyKey: 'retry-of-one-submit' }));
  const others = Array.from({ length: 10 }, () => submit(orgId, projectId));
  const answers = await Promise.all([...repeats, ...others].map((b) => store.createBuild(b)));
  const repeatIds = new Set(answers.slice(0, 10).map((b) => b.id));
  assert.equal(repeatIds.size, 1);
  const stored = storedIds(file);
  assert.equal(stored.size, 11);
  for (const b of answers) assert.ok(stored.has(b.id), `${b.id} answered but not stored`);
});
