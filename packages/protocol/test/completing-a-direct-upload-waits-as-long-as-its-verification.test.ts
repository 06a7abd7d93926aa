/**
 * Completing a direct upload makes the controller read the whole object back to check it, so the
 * client waits in proportion to the size instead of its usual per-call timeout (a fixed 30 s cut
 * a 2 GiB source's completion short). An HTTP server that answers late plays the slow verification.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { BuildMeshClient, NetworkError, verificationTimeoutMs } from '../src/index.js';

test('a large upload’s completion outlives the per-call timeout; other calls do not', async (t) => {
  const server = createServer((req, res) => {
    req.resume();
    // 1.5 s: past the client's 500 ms per-call timeout.
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sha256: 'a'.repeat(64), size: 1 })), 1500);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const client = new BuildMeshClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't', timeoutMs: 500 });

  await assert.rejects(client.whoami(), NetworkError, 'an ordinary call still gives up after its timeout');
  assert.deepEqual(await client.completeBlobUpload('upload-1', 2 * 1024 ** 3), { sha256: 'a'.repeat(64), size: 1 });
  assert.ok(verificationTimeoutMs(2 * 1024 ** 3) > 5 * 60_000, 'a 2 GiB verification may take minutes');
});
