/**
 * /metrics answers only to a valid API token (anonymous scrapers get 401) and
 * reports what the store holds: builds by status, queue depth by platform,
 * workers online, and a claim-latency observation per claim.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';

test('metrics need a token and count builds, queue depth, workers and claims', async () => {
  const controller = await startControllerProcess();
  try {
    const anonymous = await fetch(`${controller.url}/metrics`);
    assert.equal(anonymous.status, 401);

    const tenant = await createTenant(controller, 'metrics');
    const worker = await enrollWorker(tenant.admin, { platforms: ['web'] });
    await tenant.member.createBuild(buildSpec({ platform: 'android' }), streamOf(await tinyTarGz()));
    await tenant.member.createBuild(buildSpec({ platform: 'web' }), streamOf(await tinyTarGz()));
    const job = await worker.client.claim(2000);
    assert.ok(job);

    const scrape = async () => {
      const response = await fetch(`${controller.url}/metrics`, { headers: { authorization: `Bearer ${tenant.tokens.reader}` } });
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
      return response.text();
    };
    const text = await scrape();
    assert.match(text, /^buildmesh_builds\{status="queued"\} 1$/m);
    assert.match(text, /^buildmesh_builds\{status="running"\} 1$/m);
    assert.match(text, /^buildmesh_queue_depth\{platform="android"\} 1$/m);
    assert.match(text, /^buildmesh_workers_online 1$/m);
    assert.match(text, /^buildmesh_claim_latency_seconds_count 1$/m);
  } finally {
    await controller.dispose();
  }
});
