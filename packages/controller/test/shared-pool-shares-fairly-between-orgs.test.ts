import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApiError } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';

for (const store of ['sqlite', 'postgres'] as const) {
  const skip = store === 'postgres' ? pgSkip : false;
  const start = async (env: Record<string, string> = {}) => {
    const db = store === 'postgres' ? await createTestDatabase() : undefined;
    const pg: Record<string, string> = db ? { BUILDMESH_DATABASE_URL: db.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') } : {};
    const controller = await startControllerProcess({ env: { ...pg, ...env } });
    return { controller, drop: async () => db?.drop() };
  };

  test(`${store}: org A floods 200 builds into a shared pool of 2 workers; org B's one build starts at the next free slot`, { timeout: 120_000, skip }, async () => {
    const { controller, drop } = await start();
    try {
      const a = await createTenant(controller, 'alpha');
      const b = await createTenant(controller, 'beta');
      const w1 = await enrollWorker(controller.admin, { pool: 'shared', platforms: ['android'] });
      const w2 = await enrollWorker(controller.admin, { pool: 'shared', platforms: ['android'] });
      const source = await tinyTarGz();
      const flood: string[] = [];
      for (let i = 0; i < 200; i++) flood.push((await a.member.createBuild(buildSpec({ message: `a${i}` }), streamOf(source))).id);
      const first = await w1.client.claim(2000);
      const second = await w2.client.claim(2000);
      assert.deepEqual([first?.build.id, second?.build.id], [flood[0], flood[1]], 'age order within one org');

      const theirs = await b.member.createBuild(buildSpec({ message: 'b' }), streamOf(source));
      await w1.client.finish(first!.attempt.id, { outcome: 'succeeded' });
      const next = await w1.client.claim(2000);
      assert.equal(next?.build.id, theirs.id, "B's build takes the first slot that frees (B runs 0, A runs 1)");

      // Then A's queue continues in order; a higher priority still comes first.
      await w2.client.finish(second!.attempt.id, { outcome: 'succeeded' });
      assert.equal((await w2.client.claim(2000))?.build.id, flood[2]);
      const urgent = await b.member.createBuild(buildSpec({ priority: 5 }), streamOf(source));
      const urgentA = await a.member.createBuild(buildSpec({ priority: 9 }), streamOf(source));
      await w1.client.finish(next!.attempt.id, { outcome: 'succeeded' });
      assert.equal((await w1.client.claim(2000))?.build.id, urgentA.id, 'priority before fairness');
      void urgent;
    } finally {
      await controller.dispose();
      await drop();
    }
  });

  test(`${store}: per-org limits: queued builds (ORG_QUEUE_FULL) and running builds in the shared pool`, { timeout: 120_000, skip }, async () => {
    const { controller, drop } = await start({ BUILDMESH_ORG_MAX_QUEUED: '3', BUILDMESH_ORG_MAX_SHARED_RUNNING: '1' });
    try {
      const a = await createTenant(controller, 'alpha');
      const b = await createTenant(controller, 'beta');
      const source = await tinyTarGz();
      const queued = [];
      for (let i = 0; i < 3; i++) queued.push(await a.member.createBuild(buildSpec({ message: `a${i}` }), streamOf(source)));
      await assert.rejects(a.member.createBuild(buildSpec(), streamOf(source)), (e: unknown) => e instanceof ApiError && e.code === 'ORG_QUEUE_FULL' && e.status === 429);
      assert.equal((await a.member.listBuilds()).builds.length, 3, 'the refused submit stored nothing');

      const w1 = await enrollWorker(controller.admin, { pool: 'shared', platforms: ['android'] });
      const w2 = await enrollWorker(controller.admin, { pool: 'shared', platforms: ['android'] });
      const first = await w1.client.claim(2000);
      assert.equal(first?.build.id, queued[0]!.id);
      assert.equal(await w2.client.claim(300), null, 'A is at its shared-pool limit of 1 running');
      // A slot freed in A's queue: it may queue again.
      await a.member.createBuild(buildSpec(), streamOf(source));
      const theirs = await b.member.createBuild(buildSpec(), streamOf(source));
      assert.equal((await w2.client.claim(2000))?.build.id, theirs.id);
      // An org-pool worker of A is not limited.
      const own = await enrollWorker(a.admin, { platforms: ['android'] });
      assert.equal((await own.client.claim(2000))?.build.id, queued[1]!.id);
    } finally {
      await controller.dispose();
      await drop();
    }
  });
}
