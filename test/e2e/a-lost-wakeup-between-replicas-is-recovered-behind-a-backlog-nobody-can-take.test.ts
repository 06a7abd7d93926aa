/**
 * As a-lost-wakeup-between-replicas-costs-about-a-second, but with a backlog: another org has 40
 * iOS builds queued and no Mac online. Replica B misses the notification of a web build (its LISTEN
 * connection is cut), reconnects and re-checks; the re-check offered only the instance's first 32
 * queued builds (queuedHints(32), by priority then age), all of them the backlog's, so the parked
 * web worker waited out its whole long-poll (25 s by default) although its build was queued.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { parkClaimAndCutListener } from '../helpers/lost-wakeup.js';
import { replicaSkip, startReplicaSet } from '../helpers/replicas.js';

const BACKLOG = 40;

test('a wake-up lost with a cut LISTEN connection is recovered within seconds behind a backlog nobody can take', { skip: replicaSkip, timeout: 120_000 }, async (t) => {
  const set = await startReplicaSet(t, { timing: { claimWaitMs: 20_000 } });
  const [a, b] = set.replicas as [(typeof set.replicas)[0], (typeof set.replicas)[0]];
  const macs = await set.admin.createOrg('ios-shop');
  const iosMember = a.admin.withToken((await set.admin.createToken({ name: 'ios-member', role: 'member', orgId: macs.id })).secret);
  for (let i = 0; i < BACKLOG; i++) await iosMember.createBuild(buildSpec({ platform: 'ios' }), streamOf(await tinyTarGz(`backlog-${i}`)));

  const { parked } = await parkClaimAndCutListener(t, set, b);
  const submittedAt = Date.now();
  const build = await a.admin.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz('lost-wakeup-behind-a-backlog')));
  const job = await parked;
  const waited = Date.now() - submittedAt;
  assert.equal(job?.build.id, build.id, `the parked claim on B got the build (it answered ${job ? job.build.id : 'nothing'} after ${waited} ms)`);
  assert.ok(waited < 10_000, `recovered by the reconnect / re-check, not by the 20 s wait running out (${waited} ms)`);
});
