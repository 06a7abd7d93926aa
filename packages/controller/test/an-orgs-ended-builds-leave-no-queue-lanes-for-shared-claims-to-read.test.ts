/**
 * Every shared-pool claim (any org's build, any shared worker) reads every queue lane of its platform, of
 * every org (fair-share.ts lanesOfPlatform). An attacker's review found a lane kept for every (org,
 * platform, label set) a build was ever queued with: org beta, submitting builds with a fresh label each and
 * canceling them (BUILDMESH_ORG_MAX_QUEUED does not bound it: nothing stays queued), grew what every other
 * org's shared claims read without bound. What must hold: within a lane sweep (sweep-queue-lanes.ts) lanes
 * no build waits in or runs from are gone, and the org's next build (a lane it had before) is claimed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { startControllerOn } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, eventually, uploadedTinySource } from './helpers/fixtures.js';
import { DATABASE_FILE } from '../src/backup.js';

const SUBMITS = 200;

test('an org that submits and cancels builds with fresh labels leaves no lanes behind for every shared claim to read', { timeout: 180_000 }, async (t) => {
  const controller = await startControllerOn('sqlite', t, { BUILDMESH_ORG_MAX_QUEUED: '2', BUILDMESH_LOG_LEVEL: 'warn' });
  await createTenant(controller, 'alpha');
  const beta = await createTenant(controller, 'beta');
  const blob = await uploadedTinySource(beta);
  for (let i = 0; i < SUBMITS; i++) {
    const build = await beta.member.createBuildFromBlob({ spec: buildSpec({ labels: { nonce: `n${i}` } }), source: blob });
    await beta.member.cancelBuild(build.id);
  }
  assert.equal((await beta.member.listBuilds({ status: 'queued' })).builds.length, 0, 'beta has nothing queued');

  const db = new BetterSqlite3(join(controller.dataDir, DATABASE_FILE), { readonly: true });
  const lanes = () => (db.prepare("select count(*) as n from queue_lanes where platform = 'android'").get() as { n: number }).n;
  try {
    // A shared-pool android claim reads (and parses) each of these rows, whatever org it serves (sweeps every 30 × 100 ms here).
    await eventually(async () => lanes() <= 2, 20_000, `the lanes of beta's ended builds to go (${lanes()} left)`);
  } finally {
    db.close();
  }
  // A label set seen before queues and is claimed as ever.
  const again = await beta.member.createBuildFromBlob({ spec: buildSpec({ labels: { nonce: 'n7' } }), source: blob });
  const worker = await enrollWorker(beta.admin, { labels: { nonce: 'n7' } });
  assert.equal((await worker.client.claim(2000))?.build.id, again.id);
});
