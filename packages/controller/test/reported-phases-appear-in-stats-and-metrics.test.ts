import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';

const metric = (text: string, line: string): number => {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  assert.ok(found, `/metrics has ${line}`);
  return Number(found.split(' ').pop());
};

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: phases a worker reports at finish appear in /v1/stats and the /metrics histograms`, { timeout: 60_000, skip: store === 'postgres' ? pgSkip : false }, async () => {
    const db = store === 'postgres' ? await createTestDatabase() : undefined;
    const controller = await startControllerProcess({ env: db ? { BUILDMESH_DATABASE_URL: db.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') } : {} });
    try {
      const tenant = await createTenant(controller, 'acme');
      const other = await createTenant(controller, 'globex');
      const worker = await enrollWorker(tenant.admin, { platforms: ['web'] });
      const runs: Array<{ outcome: 'succeeded' | 'failed'; install: number; exportMs: number }> = [
        { outcome: 'succeeded', install: 1500, exportMs: 4000 },
        { outcome: 'succeeded', install: 2500, exportMs: 6000 },
        { outcome: 'failed', install: 800, exportMs: 200 },
      ];
      for (const run of runs) {
        await tenant.member.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz(String(Math.random()))));
        const job = await worker.client.claim(2000);
        assert.ok(job);
        await worker.client.finish(job.attempt.id, {
          outcome: run.outcome,
          ...(run.outcome === 'failed' ? { error: { code: 'WEB_EXPORT_FAILED', message: 'export failed', phase: 'EXPORT_WEB' } } : {}),
          phases: [
            { name: 'INSTALL_DEPENDENCIES', result: 'success', durationMs: run.install },
            { name: 'EXPORT_WEB', result: run.outcome === 'failed' ? 'fail' : 'success', durationMs: run.exportMs },
            // A name no built-in pipeline uses (attacker input) is kept in /v1/stats but counted as OTHER in /metrics.
            { name: 'x"} 1\nevil', result: 'success', durationMs: 10 },
          ],
        });
      }

      const stats = await tenant.reader.stats();
      assert.equal(stats.groups.length, 1);
      const g = stats.groups[0]!;
      assert.deepEqual([g.platform, g.profile, g.total, g.succeeded, g.failed], ['web', 'production', 3, 2, 1]);
      assert.ok(Math.abs(g.successRate! - 2 / 3) < 1e-9);
      assert.ok(g.duration.p50Seconds !== null && g.duration.p90Seconds! >= g.duration.p50Seconds);
      const exportPhase = g.phases.find((p) => p.name === 'EXPORT_WEB')!;
      assert.deepEqual(exportPhase, { name: 'EXPORT_WEB', count: 3, p50Seconds: 4, p90Seconds: 6 });
      assert.deepEqual(g.phases.find((p) => p.name === 'INSTALL_DEPENDENCIES'), { name: 'INSTALL_DEPENDENCIES', count: 3, p50Seconds: 1.5, p90Seconds: 2.5 });
      assert.deepEqual((await other.reader.stats()).groups, [], "another org's builds are not counted");

      const text = await (await fetch(`${controller.url}/metrics`, { headers: { authorization: `Bearer ${tenant.tokens.reader}` } })).text();
      assert.equal(metric(text, 'buildmesh_phase_duration_seconds_bucket{platform="web",phase="EXPORT_WEB",le="1"}'), 1);
      assert.equal(metric(text, 'buildmesh_phase_duration_seconds_bucket{platform="web",phase="EXPORT_WEB",le="5"}'), 2);
      assert.equal(metric(text, 'buildmesh_phase_duration_seconds_count{platform="web",phase="EXPORT_WEB"}'), 3);
      assert.equal(metric(text, 'buildmesh_phase_duration_seconds_sum{platform="web",phase="EXPORT_WEB"}'), 10.2);
      assert.equal(metric(text, 'buildmesh_phase_duration_seconds_count{platform="web",phase="OTHER"}'), 3);
      assert.ok(!text.includes('evil'), 'a reported phase name never reaches a label');
      assert.equal(metric(text, 'buildmesh_build_duration_seconds_count{platform="web"}'), 3);
      assert.equal(metric(text, 'buildmesh_queue_wait_seconds_count{platform="web"}'), 3);
      assert.equal(metric(text, 'buildmesh_build_duration_seconds_count{platform="ios"}'), 0);

      // The store holds them: a restarted controller (or another replica) renders the same counts.
      await controller.kill('SIGKILL');
      await controller.restart();
      const again = await (await fetch(`${controller.url}/metrics`, { headers: { authorization: `Bearer ${tenant.tokens.reader}` } })).text();
      assert.equal(metric(again, 'buildmesh_phase_duration_seconds_count{platform="web",phase="EXPORT_WEB"}'), 3);
    } finally {
      await controller.dispose();
      await db?.drop();
    }
  });
}
