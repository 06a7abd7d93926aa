/**
 * One org cannot tie up the controller with live streams: past BUILDMESH_ORG_MAX_STREAMS open
 * follows (logs and build-list events alike) the next answers 429 TOO_MANY_STREAMS, a closed
 * stream frees its place, and another org's streams are not counted against it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant, buildSpec, streamOf, tinyTarGz } from './helpers/fixtures.js';

test('live streams per org stop at the cap with 429, free up on close, and are counted per org', async () => {
  const controller = await startControllerProcess({ env: { BUILDMESH_ORG_MAX_STREAMS: '2' } });
  const opened: AbortController[] = [];
  try {
    const acme = await createTenant(controller, 'acme');
    const other = await createTenant(controller, 'other');
    const build = await acme.member.createBuild(buildSpec(), streamOf(await tinyTarGz('streams')));
    const open = async (token: string, path: string): Promise<number> => {
      const abort = new AbortController();
      const res = await fetch(`${controller.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: abort.signal });
      if (res.status === 200) opened.push(abort);
      else await res.body?.cancel();
      return res.status;
    };
    assert.equal(await open(acme.tokens.member, `/v1/builds/${build.id}/logs?follow=true`), 200);
    assert.equal(await open(acme.tokens.reader, '/v1/builds/events'), 200);
    const refused = await fetch(`${controller.url}/v1/builds/${build.id}/logs?follow=true`, { headers: { authorization: `Bearer ${acme.tokens.admin}`, accept: 'text/event-stream' } });
    assert.equal(refused.status, 429);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'TOO_MANY_STREAMS');
    // Another org has its own allowance.
    assert.equal(await open(other.tokens.member, '/v1/builds/events'), 200);
    // A plain (non-following) read is not a stream and is never refused.
    assert.equal((await fetch(`${controller.url}/v1/builds/${build.id}/logs`, { headers: { authorization: `Bearer ${acme.tokens.member}` } })).status, 200);
    // Closing one of acme's streams frees its place.
    opened.shift()!.abort();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await open(acme.tokens.member, `/v1/builds/${build.id}/logs?follow=true`);
    }
    assert.equal(status, 200, 'a closed stream gave its place back');
  } finally {
    for (const abort of opened) abort.abort();
    await controller.dispose();
  }
});
