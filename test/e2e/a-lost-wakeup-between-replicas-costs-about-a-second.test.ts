/**
 * LISTEN/NOTIFY wake-ups are hints: when replica B's LISTEN connection is cut
 * (PostgreSQL terminates it) right before a build is submitted through replica
 * A, B misses that notification; it reconnects, looks again, and its parked
 * claim still gets the build long before the claim's 20 s wait would run out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { BuildMeshClient } from '@buildmesh/protocol';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { replicaSkip, startReplicaSet } from '../helpers/replicas.js';
import { waitFor } from '../helpers/wait.js';

test('a wake-up lost with a cut LISTEN connection is recovered within seconds', { skip: replicaSkip, timeout: 120_000 }, async (t) => {
  const set = await startReplicaSet(t, { timing: { claimWaitMs: 20_000 } });
  const [a, b] = set.replicas as [(typeof set.replicas)[0], (typeof set.replicas)[0]];
  const enrollment = await set.admin.createEnrollmentToken('lost');
  const enrolled = await new BuildMeshClient({ url: b.url, token: enrollment.secret }).enroll({ name: 'on-b', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
  const worker = new BuildMeshClient({ url: b.url, token: enrolled.credential, timeoutMs: 40_000 });

  const admin = new pg.Client({ connectionString: set.database.url });
  admin.on('error', () => undefined); // the database is dropped (with its connections) after the test
  await admin.connect();
  const listenerOfB = `buildmesh ${b.id} listen`;
  await waitFor(async () => (await admin.query('select 1 from pg_stat_activity where application_name = $1', [listenerOfB])).rowCount === 1, { what: "B's LISTEN connection" });

  const parked = worker.claim(20_000);
  await new Promise((r) => setTimeout(r, 200)); // let the long-poll park on B
  const cut = await admin.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1', [listenerOfB]);
  assert.equal(cut.rowCount, 1, "B's LISTEN connection was cut");
  const submittedAt = Date.now();
  const build = await a.admin.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz('lost-wakeup')));
  const job = await parked;
  assert.equal(job?.build.id, build.id, 'the parked claim on B got the build');
  assert.ok(Date.now() - submittedAt < 10_000, 'recovered by the reconnect / re-check, not by the 20 s wait running out');

  // B listens again: the next build reaches it by notification.
  await waitFor(async () => (await admin.query('select 1 from pg_stat_activity where application_name = $1', [listenerOfB])).rowCount === 1, { what: 'B to listen again' });
  await admin.end();
});
