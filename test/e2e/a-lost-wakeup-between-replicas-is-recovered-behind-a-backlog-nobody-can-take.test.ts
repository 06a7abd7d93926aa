/**
 * As a-lost-wakeup-between-replicas-costs-about-a-second, but with a backlog: another org has 40
 * iOS builds queued and no Mac online. Replica B misses the notification of a web build (its LISTEN
 * connection is cut), reconnects and re-checks; the re-check offered only the instance's first 32
 * queued builds (queuedHints(32), by priority then age), all of them the backlog's, so the parked
 * web worker waited out its whole long-poll (25 s by default) although its build was queued.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { BuildMeshClient } from '@buildmesh/protocol';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { replicaSkip, startReplicaSet } from '../helpers/replicas.js';
import { waitFor } from '../helpers/wait.js';

const BACKLOG = 40;

test('a wake-up lost with a cut LISTEN connection is recovered within seconds behind a backlog nobody can take', { skip: replicaSkip, timeout: 120_000 }, async (t) => {
  const set = await startReplicaSet(t, { timing: { claimWaitMs: 20_000 } });
  const [a, b] = set.replicas as [(typeof set.replicas)[0], (typeof set.replicas)[0]];
  const macs = await set.admin.createOrg('ios-shop');
  const iosMember = a.admin.withToken((await set.admin.createToken({ name: 'ios-member', role: 'member', orgId: macs.id })).secret);
  for (let i = 0; i < BACKLOG; i++) await iosMember.createBuild(buildSpec({ platform: 'ios' }), streamOf(await tinyTarGz(`backlog-${i}`)));

  const enrollment = await set.admin.createEnrollmentToken('lost');
  const enrolled = await new BuildMeshClient({ url: b.url, token: enrollment.secret }).enroll({ name: 'on-b', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
  const worker = new BuildMeshClient({ url: b.url, token: enrolled.credential, timeoutMs: 40_000 });

  const admin = new pg.Client({ connectionString: set.database.url });
  admin.on('error', () => undefined); // the database is dropped (with its connections) after the test
  await admin.connect();
  t.after(() => admin.end());
  const listenerOfB = `buildmesh ${b.id} listen`;
  await waitFor(async () => (await admin.query('select 1 from pg_stat_activity where application_name = $1', [listenerOfB])).rowCount === 1, { what: "B's LISTEN connection" });

  const parked = worker.claim(20_000);
  await new Promise((r) => setTimeout(r, 200)); // let the long-poll park on B
  const cut = await admin.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1', [listenerOfB]);
  assert.equal(cut.rowCount, 1, "B's LISTEN connection was cut");
  const submittedAt = Date.now();
  const build = await a.admin.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz('lost-wakeup-behind-a-backlog')));
  const job = await parked;
  const waited = Date.now() - submittedAt;
  assert.equal(job?.build.id, build.id, `the parked claim on B got the build (it answered ${job ? job.build.id : 'nothing'} after ${waited} ms)`);
  assert.ok(waited < 10_000, `recovered by the reconnect / re-check, not by the 20 s wait running out (${waited} ms)`);
});
