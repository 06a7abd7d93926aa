/**
 * Attacker review of the 64 MiB answer cap: it held for the Node transport's answers only. A JSON call the
 * server redirects is made again with fetch, whose answer was read whole without a bound, and so was the
 * body of a failed streaming call (a source or artifact download answering 500): a hostile server (or the
 * one a redirect names) could still fill the worker's or CLI's memory. Both must fail past the cap.
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ApiError, BuildMeshClient, NetworkError, setDefaultStreamTransport } from '../src/index.js';
import { undiciStreamTransport } from '../src/node-transport.js';

async function endlessServer(t: { after(fn: () => unknown): void }) {
  const sent = { bytes: 0 };
  const endless = (res: ServerResponse, status: number): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const more = (): void => {
      while (!res.destroyed && sent.bytes < 1024 ** 3) {
        sent.bytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
    };
    more();
  };
  const server = createServer((req, res) => {
    if (req.url === '/health') return void res.writeHead(302, { location: '/big' }).end();
    if (req.url === '/big') return endless(res, 200);
    endless(res, 500);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sent };
}

test('a redirected JSON call whose new answer never ends fails after 64 MiB', { timeout: 60_000 }, async (t) => {
  const { url, sent } = await endlessServer(t);
  await assert.rejects(new BuildMeshClient({ url }).health(), (err: unknown) => err instanceof NetworkError && /larger than 67108864 bytes/.test(err.message));
  assert.ok(sent.bytes < 256 * 1024 ** 2, `the server got to send ${sent.bytes} bytes`);
});

test('a failed download through fetch (the browser’s path) whose error body never ends fails after 64 MiB', { timeout: 60_000 }, async (t) => {
  setDefaultStreamTransport(undefined);
  t.after(() => setDefaultStreamTransport(undiciStreamTransport));
  const { url, sent } = await endlessServer(t);
  await assert.rejects(new BuildMeshClient({ url, token: 'x' }).source('att_00000000000000000000000000'), (err: unknown) => err instanceof ApiError && err.status === 500);
  assert.ok(sent.bytes < 256 * 1024 ** 2, `the server got to send ${sent.bytes} bytes`);
});

test('a failed streamed download (undici) whose error body never ends fails after 64 MiB', { timeout: 60_000 }, async (t) => {
  const { url, sent } = await endlessServer(t);
  await assert.rejects(new BuildMeshClient({ url, token: 'x' }).source('att_00000000000000000000000000'), (err: unknown) => err instanceof ApiError && err.status === 500);
  assert.ok(sent.bytes < 256 * 1024 ** 2, `the server got to send ${sent.bytes} bytes`);
});
