/**
 * A worker's finish report carries text a build can shape (custom configs name phases; tool output
 * becomes the error message). Text PostgreSQL cannot store (NUL) and durations past its integer
 * column answered 500 and left the attempt unreported; the wire contract refuses them with a 400,
 * the report that follows is taken, and the worker makes its own reports storable (run-attempt.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '@buildmesh/protocol';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { startControllerOn } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: a finish with NUL in its text or an impossible phase duration is refused 400, and a storable one is taken`, { skip: store === 'postgres' ? pgSkip : false, timeout: 60_000 }, async (t) => {
    const controller = await startControllerOn(store, t);
    const tenant = await createTenant(controller, 'acme');
    const worker = await enrollWorker(tenant.admin, { platforms: ['android'] });
    const build = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz()));
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, build.id);
    const phase = { name: 'BUILD', result: 'failed', durationMs: 12 };
    const refusals = [
      { outcome: 'failed' as const, phases: [{ ...phase, name: 'BU\u0000ILD' }] },
      { outcome: 'failed' as const, phases: [{ ...phase, durationMs: 3e9 }] },
      { outcome: 'failed' as const, phases: [{ ...phase, durationMs: -1 }] },
      { outcome: 'failed' as const, error: { code: 'BUILD_FAILED', message: 'tool said \u0000' }, phases: [phase] },
    ];
    for (const report of refusals) {
      await assert.rejects(worker.client.finish(job!.attempt.id, report), (e: unknown) => e instanceof ApiError && e.status === 400 && e.code === 'VALIDATION_FAILED', JSON.stringify(report));
    }
    await worker.client.finish(job!.attempt.id, { outcome: 'failed', error: { code: 'BUILD_FAILED', message: 'tool said \ufffd' }, phases: [phase] });
    const after = await tenant.member.getBuild(build.id);
    assert.equal(after.status, 'failed');
  });
}
