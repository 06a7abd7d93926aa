/**
 * Two controller replicas on one PostgreSQL database, behind nginx running the
 * documented config: any replica serves the same queue. A worker pinned to
 * replica B gets a build submitted on replica A; `logs -f` on A streams lines the
 * worker posts through B (and resumes from its cursor); a cancel on A reaches the
 * worker's next heartbeat on B; everything also works through the balancer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BuildMeshClient, type Capabilities, type LogEntry } from '@buildmesh/protocol';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { replicaSkip, startReplicaSet } from '../helpers/replicas.js';
import { waitFor } from '../helpers/wait.js';
import { bytesOf } from '../helpers/bytes.js';

const capabilities: Capabilities = { name: 'pinned-to-b', platforms: ['android', 'web'], labels: {}, concurrency: 2, version: 'test' };

test('replicas behind nginx share one queue, log stream and cancel', { skip: replicaSkip, timeout: 180_000 }, async (t) => {
  const set = await startReplicaSet(t, { timing: { claimWaitMs: 20_000 } });
  const [a, b] = set.replicas as [(typeof set.replicas)[0], (typeof set.replicas)[0]];

  // Enrolled through the balancer, then pinned to replica B.
  const enrollment = await set.admin.createEnrollmentToken('replicas');
  const enrolled = await new BuildMeshClient({ url: set.balancerUrl, token: enrollment.secret }).enroll(capabilities);
  const worker = new BuildMeshClient({ url: b.url, token: enrolled.credential, timeoutMs: 30_000 });

  // A long-poll parked on B is answered by a build submitted on A (well before its 20 s wait runs out).
  const parked = worker.claim(20_000);
  await waitFor(async () => (await b.admin.health()).status === 'ok', { what: 'B healthy' });
  const build = await a.admin.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz('cross-replica')));
  const startedAt = Date.now();
  const job = await parked;
  assert.ok(job, 'the worker long-polling B received the build submitted on A');
  assert.equal(job.build.id, build.id);
  assert.ok(Date.now() - startedAt < 15_000, 'answered by the wake-up, not by the long-poll running out');
  const attemptId = job.attempt.id;
  const source = await worker.source(attemptId);
  assert.equal(source.status, 200, 'B serves the source A stored');
  await bytesOf(source);

  // logs -f on A while the worker writes through B.
  const seen: LogEntry[] = [];
  const abort = new AbortController();
  let finalStatus: string | undefined;
  const following = (async () => {
    const iterator = a.admin.followLogs(build.id, { signal: abort.signal });
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        finalStatus = next.value;
        return;
      }
      seen.push(next.value);
    }
  })();
  for (let seq = 1; seq <= 3; seq++) {
    await worker.sendLogs(attemptId, { seq, lines: [{ t: Date.now(), stream: 'stdout', text: `line ${seq} via B` }] });
    await waitFor(() => seen.some((e) => e.text === `line ${seq} via B`), { timeoutMs: 10_000, what: `line ${seq} to reach the follower on A` });
  }
  assert.deepEqual(
    seen.map((e) => e.text),
    ['line 1 via B', 'line 2 via B', 'line 3 via B'],
    'each line once, in order',
  );

  // A reader through the balancer pages the same log and resumes after a cursor.
  const page = await set.admin.readLogs(build.id, { limit: 2 });
  assert.deepEqual(page.entries.map((e) => e.text), ['line 1 via B', 'line 2 via B']);
  const rest = await set.admin.readLogs(build.id, { cursor: page.nextCursor });
  assert.deepEqual(rest.entries.map((e) => e.text), ['line 3 via B']);

  // Cancel on A: the worker's next heartbeat, through B, says stop.
  const beforeCancel = await worker.heartbeat(attemptId);
  assert.equal(beforeCancel.cancel, false);
  await a.admin.cancelBuild(build.id);
  const afterCancel = await worker.heartbeat(attemptId);
  assert.equal(afterCancel.cancel, true, 'a cancel through A reaches the heartbeat through B');
  assert.equal(afterCancel.reason, 'canceled');
  await worker.finish(attemptId, { outcome: 'canceled' });
  await following;
  assert.equal(finalStatus, 'canceled', 'the follower on A saw the build end');

  // Through the balancer: submit, claim, finish.
  const viaLb = new BuildMeshClient({ url: set.balancerUrl, token: enrolled.credential, timeoutMs: 30_000 });
  const second = await set.admin.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz('through-nginx')));
  const job2 = await viaLb.claim(5_000);
  assert.equal(job2?.build.id, second.id);
  await viaLb.finish(job2!.attempt.id, { outcome: 'succeeded' });
  assert.equal((await set.admin.getBuild(second.id)).status, 'succeeded');

  // Each replica names itself and the shared store in /health, and reports its own figures in /metrics.
  let sweepers = 0;
  for (const r of set.replicas) {
    const health = await r.admin.health();
    assert.equal(health.status, 'ok');
    assert.equal(health.store, 'postgres');
    assert.equal(health.replica, r.id);
    const metrics = await (await fetch(`${r.url}/metrics`, { headers: { authorization: `Bearer ${set.adminToken}` } })).text();
    const figure = (name: string) => Number(new RegExp(`^${name}\\{replica="${r.id}"\\} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.ok(figure('buildmesh_wakeups_received') > 0, `${r.id} received wake-ups from the other replica`);
    assert.match(metrics, new RegExp(`buildmesh_db_pool_connections\\{replica="${r.id}",state="total"\\} \\d+`));
    sweepers += figure('buildmesh_runs_sweeper');
  }
  assert.equal(sweepers, 1, 'exactly one replica runs the sweeper');
});
