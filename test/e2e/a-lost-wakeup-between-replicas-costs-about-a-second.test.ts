/**
 * LISTEN/NOTIFY wake-ups are hints: when replica B's LISTEN connection is cut
 * (PostgreSQL terminates it) right before a build is submitted through replica
 * A, B misses that notification; it reconnects, looks again, and its parked
 * claim still gets the build long before the claim's 20 s wait would run out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { parkClaimAndCutListener } from '../helpers/lost-wakeup.js';
import { replicaSkip, startReplicaSet } from '../helpers/replicas.js';

test('a wake-up lost with a cut LISTEN connection is recovered within seconds', { skip: replicaSkip, timeout: 120_000 }, async (t) => {
  const set = await startReplicaSet(t, { timing: { claimWaitMs: 20_000 } });
  const [a, b] = set.replicas as [(typeof set.replicas)[0], (typeof set.replicas)[0]];
  const { parked, listeningAgain } = await parkClaimAndCutListener(t, set, b);
  const submittedAt = Date.now();
  const build = await a.admin.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz('lost-wakeup')));
  const job = await parked;
  assert.equal(job?.build.id, build.id, 'the parked claim on B got the build');
  assert.ok(Date.now() - submittedAt < 10_000, 'recovered by the reconnect / re-check, not by the 20 s wait running out');
  await listeningAgain(); // B listens again: the next build reaches it by notification
});
