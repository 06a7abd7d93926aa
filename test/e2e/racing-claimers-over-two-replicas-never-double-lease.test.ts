/**
 * 200 claimers spread over two replicas on one PostgreSQL database: 100 workers
 * (one slot each) each claim through replica A and replica B at the same moment.
 * No build is handed out twice and no worker holds more than its one slot.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BuildMeshClient, type BuildJob } from '@buildmesh/protocol';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { replicaSkip, startReplicaSet } from '../helpers/replicas.js';

const WORKERS = 100;
const BUILDS = 150;

test('200 racing claimers over two replicas never lease a build twice or a worker past its slots', { skip: replicaSkip, timeout: 180_000 }, async (t) => {
  const set = await startReplicaSet(t, { timing: { claimWaitMs: 2_000 } });
  const [a, b] = set.replicas as [(typeof set.replicas)[0], (typeof set.replicas)[0]];
  const source = await tinyTarGz('race');
  for (let i = 0; i < BUILDS; i++) await set.admin.createBuild(buildSpec({ platform: 'web' }), streamOf(source));

  const enrollment = await set.admin.createEnrollmentToken('racers');
  const credentials: string[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const enrolled = await new BuildMeshClient({ url: set.balancerUrl, token: enrollment.secret }).enroll({
      name: `racer-${i}`,
      platforms: ['web'],
      labels: {},
      concurrency: 1,
      version: 'test',
    });
    credentials.push(enrolled.credential);
  }

  const claims: Array<Promise<{ worker: number; job: BuildJob | null }>> = [];
  for (let i = 0; i < WORKERS; i++) {
    for (const replica of [a, b]) {
      const client = new BuildMeshClient({ url: replica.url, token: credentials[i]!, timeoutMs: 60_000 });
      claims.push(client.claim(0).then((job) => ({ worker: i, job })));
    }
  }
  const results = await Promise.all(claims);
  const jobs = results.filter((r) => r.job !== null);
  const buildIds = jobs.map((r) => r.job!.build.id);
  assert.equal(new Set(buildIds).size, buildIds.length, 'no build was leased twice');
  const perWorker = new Map<number, number>();
  for (const r of jobs) perWorker.set(r.worker, (perWorker.get(r.worker) ?? 0) + 1);
  assert.ok([...perWorker.values()].every((n) => n === 1), 'no worker holds more than its one slot');
  assert.equal(jobs.length, WORKERS, 'every worker got exactly one build (150 were queued)');

  const running = await set.admin.listBuilds({ status: 'running', limit: 200 });
  assert.equal(running.builds.length, WORKERS, 'the store agrees: one running build per worker');
});
