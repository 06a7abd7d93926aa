/**
 * Every build queued through a replica is announced to the other replicas on the wake-up channel,
 * whatever another build's labels. PgWakeups cut a payload by its length in characters (7900) while
 * PostgreSQL refuses a NOTIFY payload of 8000 bytes or more: one build with 25 labels of 128 '€'
 * (~3.5k characters, ~10k bytes of UTF-8) made its replica's pg_notify fail, and the failed batch,
 * that payload included, was put back and retried every 500 ms with every later event joined to it,
 * so the replica announced nothing any more (for every org) until restarted: the other replicas' parked
 * claims then heard only of the first 32 queued builds once a second, and `logs -f` across replicas
 * waited for the 5 s follower re-check.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { replicaSkip, startReplicaSet } from '../helpers/replicas.js';
import { waitFor } from '../helpers/wait.js';

test('an oversized wake-up never stops a replica announcing builds', { skip: replicaSkip, timeout: 120_000 }, async (t) => {
  const set = await startReplicaSet(t, { count: 1 });
  const [a] = set.replicas as [(typeof set.replicas)[0]];
  const heard: string[] = [];
  const listener = new pg.Client({ connectionString: set.database.url });
  listener.on('error', () => undefined); // the database is dropped (with its connections) after the test
  await listener.connect();
  t.after(() => listener.end());
  listener.on('notification', (n) => heard.push(n.payload ?? ''));
  await listener.query('listen buildmesh_wakeups');

  const org = await set.admin.createOrg('acme');
  const member = a.admin.withToken((await set.admin.createToken({ name: 'member', role: 'member', orgId: org.id })).secret);
  const labels = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, '€'.repeat(128)]));
  // Accepted as any build (or refused as bad input, which is fine too).
  await member.createBuild(buildSpec({ platform: 'ios', labels }), streamOf(await tinyTarGz('wide-labels'))).catch((err: { status?: number }) => {
    assert.ok(err.status !== undefined && err.status >= 400 && err.status < 500, `refused as bad input, not ${String(err)}`);
  });
  const ordinary = await member.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz('ordinary')));
  await waitFor(async () => heard.some((p) => p.includes(ordinary.id)), { timeoutMs: 10_000, what: `the announcement of ${ordinary.id} (heard ${heard.length} others)` });
  assert.doesNotMatch(a.process.output(), /payload string too long/);
});
