/**
 * JSON answers are read whole, so their size is bounded: a broken or hostile server streaming an endless
 * answer to a small call gets a NetworkError after 64 MiB, not the client's memory.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { BuildMeshClient, NetworkError } from '../src/index.js';

test('an endless answer to a JSON call fails after 64 MiB instead of filling memory', { timeout: 60_000 }, async (t) => {
  let sent = 0;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const more = (): void => {
      while (!res.destroyed && sent < 1024 ** 3) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
    };
    res.on('close', () => undefined);
    more();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = new BuildMeshClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  await assert.rejects(client.health(), (err: unknown) => err instanceof NetworkError && /larger than 67108864 bytes/.test(err.message));
  assert.ok(sent < 256 * 1024 ** 2, `the server got to send ${sent} bytes`);
});
