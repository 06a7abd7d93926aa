/**
 * A live stream whose client hung up before the stream opened (during authentication or the
 * build lookup) must not keep its place in the org's BUILDMESH_ORG_MAX_STREAMS allowance:
 * otherwise a member locks the whole org out of logs and the dashboard for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant, buildSpec, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';

function hangUpAfterSending(url: string, path: string, token: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${token}\r\naccept: text/event-stream\r\n\r\n`, () => socket.resetAndDestroy());
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

// PostgreSQL: the build lookup waits on the network, so the hang-up lands before the stream opens.
test('streams whose clients left before they opened give their places back', { skip: pgSkip }, async () => {
  const db = await createTestDatabase();
  const controller = await startControllerProcess({
    env: { BUILDMESH_ORG_MAX_STREAMS: '2', BUILDMESH_DATABASE_URL: db.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
  });
  try {
    const acme = await createTenant(controller, 'acme');
    const build = await acme.member.createBuild(buildSpec(), streamOf(await tinyTarGz('left-early')));
    // Many at once: the controller reaches most of them only after their clients are gone.
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          i % 2 === 0
            ? hangUpAfterSending(controller.url, `/v1/builds/${build.id}/logs?follow=true`, acme.tokens.member)
            : hangUpAfterSending(controller.url, '/v1/builds/events', acme.tokens.reader),
        ),
      );
    }
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const abort = new AbortController();
      const res = await fetch(`${controller.url}/v1/builds/events`, { headers: { authorization: `Bearer ${acme.tokens.member}`, accept: 'text/event-stream' }, signal: abort.signal });
      status = res.status;
      abort.abort();
    }
    assert.equal(status, 200, 'the org can still open a stream');
  } finally {
    await controller.dispose();
    await db.drop();
  }
});
