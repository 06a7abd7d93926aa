/**
 * kill -9 of one replica in the middle of a run: every build still completes
 * exactly once (one succeeded attempt), the survivor takes over the sweeper (a
 * lease abandoned at the kill is requeued by it), and the workers and a `logs -f`
 * follower keep going through the balancer without being told anything.
 *
 * 24 builds rather than the 100: the property is the same and CI time is not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { BuildMeshClient } from '@buildmesh/protocol';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { replicaSkip, startReplicaSet } from '../helpers/replicas.js';
import { waitFor } from '../helpers/wait.js';

const BUILDS = 24;
const WORKERS = 3;

/** application_name of the connection holding the sweeper's advisory lock. */
async function sweeperHolder(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ application_name: string }>(
      "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted and a.datname = current_database()",
    );
    return r.rows[0]?.application_name;
  } finally {
    await client.end();
  }
}

test('a replica killed mid-run: every build completes once and the survivor sweeps', { skip: replicaSkip, timeout: 240_000 }, async (t) => {
  const set = await startReplicaSet(t, { timing: { claimWaitMs: 2_000, leaseTtlMs: 2_500, heartbeatIntervalMs: 300, sweepIntervalMs: 200 } });
  const holder = await waitFor(() => sweeperHolder(set.database.url), { what: 'a replica to take the sweeper lock' });
  const victim = set.replicas.find((r) => holder.includes(r.id))!;
  const survivor = set.replicas.find((r) => r !== victim)!;

  const enrollment = await set.admin.createEnrollmentToken('kill9');
  const workers: BuildMeshClient[] = [];
  for (let i = 0; i < WORKERS + 1; i++) {
    const enrolled = await new BuildMeshClient({ url: set.balancerUrl, token: enrollment.secret }).enroll({ name: `w${i}`, platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
    workers.push(new BuildMeshClient({ url: set.balancerUrl, token: enrolled.credential, timeoutMs: 10_000 }));
  }
  const source = await tinyTarGz('kill9');
  const ids: string[] = [];
  for (let i = 0; i < BUILDS; i++) ids.push((await set.admin.createBuild(buildSpec({ platform: 'web' }), streamOf(source))).id);

  // One worker holds a build until the kill, then dies with it: only the survivor's sweeper can requeue it.
  const abandoned = await workers[WORKERS]!.claim(2_000);
  assert.ok(abandoned);
  const keepAlive = setInterval(() => void workers[WORKERS]!.heartbeat(abandoned.attempt.id).catch(() => undefined), 300);
  // `logs -f` through the balancer on that build: it rides through the kill (reconnecting from its cursor).
  await workers[WORKERS]!.sendLogs(abandoned.attempt.id, { seq: 1, lines: [{ t: Date.now(), stream: 'stdout', text: 'before the kill' }] });
  const followed: string[] = [];
  const follow = (async () => {
    const iterator = set.admin.followLogs(abandoned.build.id);
    for (;;) {
      const next = await iterator.next();
      if (next.done) return next.value;
      followed.push(next.value.text);
    }
  })();
  await waitFor(() => followed.length === 1, { what: 'the follower to see the first line' });

  let finished = 0;
  let errors = 0;
  let stop = false;
  const run = async (w: BuildMeshClient) => {
    while (!stop) {
      try {
        const job = await w.claim(1_000);
        if (!job) continue;
        await w.heartbeat(job.attempt.id);
        await w.sendLogs(job.attempt.id, { seq: 1, lines: [{ t: Date.now(), stream: 'stdout', text: `built ${job.build.id}` }] });
        await w.finish(job.attempt.id, { outcome: 'succeeded' });
        finished++;
      } catch {
        errors++; // the replica behind this request died: go on through the balancer, as a worker does
      }
    }
  };
  const loops = workers.slice(0, WORKERS).map(run);

  await waitFor(() => finished >= 6, { timeoutMs: 60_000, what: 'a few builds to finish' });
  await victim.crash();
  clearInterval(keepAlive);

  const done = await waitFor(
    async () => {
      const list = await set.admin.listBuilds({ limit: 100 });
      const ours = list.builds.filter((b) => ids.includes(b.id));
      return ours.length === BUILDS && ours.every((b) => b.status === 'succeeded') ? ours : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250, what: `all ${BUILDS} builds to succeed after the kill` },
  );
  stop = true;
  await Promise.all(loops);
  assert.equal(done.length, BUILDS);

  for (const id of ids) {
    const build = await set.admin.getBuild(id);
    const succeeded = (build.attempts ?? []).filter((a) => a.status === 'succeeded');
    assert.equal(succeeded.length, 1, `build ${id} completed exactly once (attempts: ${JSON.stringify(build.attempts?.map((a) => a.status))})`);
  }
  const requeued = await set.admin.getBuild(abandoned.build.id);
  assert.equal(requeued.attempts?.[0]?.status, 'lost', 'the lease abandoned at the kill was ended by the surviving sweeper');

  assert.equal(await follow, 'succeeded', 'the follower saw the build end');
  assert.deepEqual(followed, ['before the kill', `built ${abandoned.build.id}`], 'every line once, in order, across the kill');

  // PostgreSQL may list the killed replica's session for a moment after the kill: wait until it is gone.
  const newHolder = await waitFor(
    async () => {
      const h = await sweeperHolder(set.database.url);
      return h && !h.includes(victim.id) ? h : undefined;
    },
    { what: 'the killed replica to lose the sweeper lock' },
  );
  assert.ok(newHolder.includes(survivor.id), `the survivor took over the sweeper (holder: ${newHolder})`);
  t.diagnostic(`workers saw ${errors} failed requests around the kill and carried on through nginx`);
});
