import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';

test('SIGTERM answers parked claims with 204, ends log follows, exits 0, and keeps every build', async () => {
  const controller = await startControllerProcess({ env: { BUILDMESH_CLAIM_WAIT_MS: '30000' } });
  try {
    const tenant = await createTenant(controller, 'acme');
    const iosWorker = await enrollWorker(tenant.admin, { platforms: ['ios'] });
    const build = await tenant.member.createBuild(buildSpec({ platform: 'android' }), streamOf(await tinyTarGz()));

    // A claim parked for 30 s (nothing matches ios) and a live log follow.
    const parked = iosWorker.client.claim(30_000);
    const follow = await fetch(`${controller.url}/v1/builds/${build.id}/logs?follow=true`, {
      headers: { authorization: `Bearer ${tenant.tokens.reader}`, accept: 'text/event-stream' },
    });
    const followDone = follow.arrayBuffer();
    await new Promise((r) => setTimeout(r, 300));

    const started = Date.now();
    const exitCode = await controller.kill('SIGTERM');
    assert.equal(exitCode, 0, 'a clean exit');
    assert.equal(await parked, null, 'the parked claim was answered 204');
    await followDone; // the SSE stream ended instead of hanging
    assert.ok(Date.now() - started < 10_000, `shutdown took ${Date.now() - started} ms`);

    await controller.restart();
    const again = await tenant.reader.getBuild(build.id);
    assert.equal(again.status, 'queued', 'the build survived the restart');
  } finally {
    await controller.dispose();
  }
});
