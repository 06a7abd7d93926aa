/**
 * On PostgreSQL a submit, an org worker's claim and a finish run as one statement each unless a
 * webhook must hear of the change (then the transactional path writes the outbox row with it).
 * Both paths must leave the same rows: an org with a webhook for every event takes the
 * transactional paths, an org without one the single statements, and their builds, attempts,
 * phases, lanes and histogram counts are compared column by column. Also: a named statement
 * whose table changed under it (a migration by another replica) still answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { CreateBuildSpec } from '@buildmesh/protocol';
import { newId } from '../src/ids.js';
import { bucketOf } from '../src/stats/histograms.js';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { postgresStoreForFile } from './helpers/postgres-store.js';

const db = postgresStoreForFile();

const spec: CreateBuildSpec = { project: 'app', platform: 'ios', profile: { name: 'production', env: {} }, labels: { xcode: '16' }, priority: 2, timeoutSeconds: 1234 };
const source = { sha256: randomBytes(32).toString('hex'), size: 10 };
const phases = [
  { name: 'INSTALL_DEPENDENCIES', result: 'success', durationMs: 1500.4 },
  { name: 'RUN_FASTLANE', result: 'success', durationMs: 70_000 },
  { name: 'my custom step', result: 'failed', durationMs: 3 },
  { name: 'another custom step', result: 'success', durationMs: 2 },
];

/** One org's run through submit, claim and finish; `hooked` subscribes a webhook to every event first. */
async function runOrg(hooked: boolean) {
  const orgId = (await db.store.createOrg({ id: newId('org'), name: `o-${randomBytes(4).toString('hex')}` })).id;
  const projectId = (await db.store.ensureProject(orgId, newId('prj'), 'app')).id;
  if (hooked) {
    const events = ['build.queued', 'build.started', 'build.succeeded', 'build.failed'] as const;
    await db.store.insertWebhook({ id: newId('whk'), orgId, projectId: null, projectName: null, url: 'https://hooks.example/x', events: [...events], secretSealed: randomBytes(16) });
  }
  const submitted = await db.store.createBuild({ id: newId('bld'), orgId, projectId, spec, source, credentialsSealed: null, retryOf: null, idempotencyKey: `k-${orgId}`, submittedBy: 'ci' });
  // The same key again answers the first build and queues nothing.
  const again = await db.store.createBuild({ id: newId('bld'), orgId, projectId, spec, source, credentialsSealed: null, retryOf: null, idempotencyKey: `k-${orgId}`, submittedBy: 'ci' });
  assert.equal(again.id, submitted.id);
  const worker = await db.store.insertWorker({
    id: newId('wrk'),
    orgId,
    pool: 'org',
    capabilities: { name: `w-${orgId}`, platforms: ['ios'], labels: { xcode: '16', arch: 'arm64' }, concurrency: 2, version: 'test' },
    secretHash: randomBytes(32),
  });
  const claimant = { workerId: worker.id, orgId, platforms: ['ios' as const], labels: { xcode: '16', arch: 'arm64' }, concurrency: 2, leaseTtlMs: 60_000 };
  // A worker whose labels do not contain the build's gets nothing.
  assert.equal(await db.store.claim({ ...claimant, labels: { xcode: '15' } }), undefined);
  const job = await db.store.claim(claimant);
  assert.ok(job, 'the worker got the build');
  assert.equal(job.build.id, submitted.id);
  const finished = await db.store.finishAttempt(worker.id, job.attempt.id, 'succeeded', null, phases);
  assert.deepEqual(finished, { buildStatus: 'succeeded', buildId: submitted.id });
  // A second finish of the same attempt is refused as before (the lease is no longer live).
  await assert.rejects(db.store.finishAttempt(worker.id, job.attempt.id, 'succeeded', null), /LEASE_LOST|lease/i);
  return { orgId, buildId: submitted.id, attemptId: job.attempt.id, job };
}

const VARYING = new Set(['id', 'org_id', 'project_id', 'build_id', 'attempt_id', 'worker_id', 'idempotency_key', 'created_at', 'queued_at', 'started_at', 'finished_at']);
const stable = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).filter(([k]) => !VARYING.has(k) && !k.endsWith('_at')));

test('on PostgreSQL the one-statement submit, claim and finish leave the rows the transactional paths leave', { skip: pgSkip }, async () => {
  const plain = await runOrg(false);
  const hooked = await runOrg(true);

  const build = async (id: string) => (await db.sql.query('select * from builds where id = $1', [id])).rows[0] as Record<string, unknown>;
  const [b1, b2] = [await build(plain.buildId), await build(hooked.buildId)];
  assert.deepEqual(stable(b1), stable(b2));
  assert.equal(b1.status, 'succeeded');
  assert.equal(b1.attempt_count, 1);
  assert.equal(b1.started_at !== null && b1.finished_at !== null, true);

  const attempt = async (id: string) => (await db.sql.query('select * from attempts where id = $1', [id])).rows[0] as Record<string, unknown>;
  const [a1, a2] = [await attempt(plain.attemptId), await attempt(hooked.attemptId)];
  assert.deepEqual(stable(a1), stable(a2));
  for (const a of [a1, a2]) {
    // The deadline is an ISO text like every other timestamp, the build's timeout after the start
    // (the transactional path reads the clock again for it, a few milliseconds later).
    assert.match(String(a.deadline_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const after = Date.parse(String(a.deadline_at)) - Date.parse(String(a.started_at)) - 1234 * 1000;
    assert.ok(after >= 0 && after < 1000, `deadline ${String(a.deadline_at)} for a start at ${String(a.started_at)}`);
  }
  // The claimed job carries the same build either way.
  assert.deepEqual(
    { ...plain.job.build, id: '', orgId: '', createdAt: '', startedAt: '', queuedAt: '' },
    { ...hooked.job.build, id: '', orgId: '', createdAt: '', startedAt: '', queuedAt: '' },
  );

  const phaseRows = async (id: string) => (await db.sql.query('select seq, phase, result, duration_ms, platform, profile from attempt_phases where attempt_id = $1 order by seq', [id])).rows;
  assert.deepEqual(await phaseRows(plain.attemptId), await phaseRows(hooked.attemptId));
  assert.equal((await phaseRows(plain.attemptId)).length, phases.length);

  const lanes = async (orgId: string) => (await db.sql.query('select platform, label_key, labels from queue_lanes where org_id = $1', [orgId])).rows;
  assert.deepEqual(await lanes(plain.orgId), await lanes(hooked.orgId));

  // Outbox rows only where a webhook listens, one per event.
  const deliveries = async (orgId: string) => (await db.sql.query('select event from webhook_deliveries where org_id = $1 order by created_at, event', [orgId])).rows.map((r) => r.event as string);
  assert.deepEqual(await deliveries(plain.orgId), []);
  assert.deepEqual((await deliveries(hooked.orgId)).sort(), ['build.queued', 'build.started', 'build.succeeded']);

  // Histograms: each build counted once per metric in the bucket its durations fall into, whatever the shard.
  const expected = new Map<string, { n: number; total: number }>();
  const add = (metric: string, label: string, ms: number) => {
    const key = `${metric}/${label}/${bucketOf(ms)}`;
    const e = expected.get(key) ?? { n: 0, total: 0 };
    expected.set(key, { n: e.n + 1, total: e.total + ms });
  };
  for (const b of [b1, b2]) {
    add('queue_wait', '', Math.max(0, Date.parse(String(b.started_at)) - Date.parse(String(b.created_at))));
    add('build_duration', '', Math.max(0, Date.parse(String(b.finished_at)) - Date.parse(String(b.started_at))));
    for (const p of phases) add('phase_duration', ['INSTALL_DEPENDENCIES', 'RUN_FASTLANE'].includes(p.name) ? p.name : 'OTHER', Math.round(p.durationMs));
  }
  const counted = new Map<string, { n: number; total: number }>();
  for (const r of await db.store.durationBuckets()) {
    if (r.platform !== 'ios') continue;
    const key = `${r.metric}/${r.label}/${r.bucket}`;
    const c = counted.get(key) ?? { n: 0, total: 0 };
    counted.set(key, { n: c.n + r.n, total: c.total + r.totalMs });
  }
  assert.deepEqual(Object.fromEntries([...counted].sort()), Object.fromEntries([...expected].sort()));
});

test('on PostgreSQL a named statement whose table gained a column meanwhile still answers', { skip: pgSkip }, async () => {
  const orgId = (await db.store.createOrg({ id: newId('org'), name: `t-${randomBytes(4).toString('hex')}` })).id;
  const id = newId('tok');
  await db.store.insertToken({ id, orgId, name: 'ci', role: 'member', instanceAdmin: false, secretHash: randomBytes(32) });
  // Every pooled connection prepares the token lookup (`select *`, a named statement)…
  await Promise.all(Array.from({ length: 30 }, () => db.store.findToken(id)));
  // …then another replica's migration adds a column: PostgreSQL refuses the prepared plan (0A000).
  await db.sql.query('alter table tokens add column added_by_a_later_migration text');
  const found = await Promise.all(Array.from({ length: 30 }, () => db.store.findToken(id)));
  for (const token of found) assert.equal(token?.id, id);
});
