/**
 * An attempt's calls to the controller retry for as long as the controller is away, never for a
 * fixed count, and stop the moment the lease is known to be lost: a 409 LEASE_LOST, or the lease's
 * expiry passing on the worker's own clock. Driven against a real HTTP server that plays a
 * controller restarting (connections refused, then 503) for longer than the old 3-try upload budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, BuildMeshClient } from '@buildmesh/protocol';
import { uploadArtifact } from '../src/runner/artifacts.js';
import { AttemptLease, isLeaseLost, LeaseExpiredError, retryForAttempt } from '../src/retry.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

async function serve(t: { after(fn: () => unknown): void }, handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}` };
}

const replyJson = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

void test('an artifact upload rides through a controller that is away for longer than three tries, and sends the whole file again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-retry-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = Buffer.alloc(256 * 1024, 7);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(dir, 'app.bin'), bytes);

  const downUntil = Date.now() + 4_000;
  let tries = 0;
  const stored: Buffer[] = [];
  const { url } = await serve(t, (req, res, body) => {
    tries++;
    if (Date.now() < downUntil) {
      // Half the time the connection breaks, half the time a restarting controller answers 503.
      if (tries % 2) return req.socket.destroy();
      return replyJson(res, 503, { error: { code: 'SHUTTING_DOWN', message: 'restarting' } });
    }
    // The controller first says how to send the file (through it: no object store here), then takes it.
    if (req.method === 'POST' && req.url?.endsWith('/uploads')) return replyJson(res, 200, { mode: 'proxy' });
    stored.push(body);
    replyJson(res, 200, { id: 'art_1', name: 'app.bin', kind: 'application-archive', size: body.length, sha256 });
  });
  const client = new BuildMeshClient({ url, token: 'w' });
  const logged: string[] = [];
  await uploadArtifact(
    client,
    'att_0000000000000000000000',
    { kind: 'application-archive', name: 'app.bin', path: join(dir, 'app.bin'), size: bytes.length, sha256 },
    new AbortController().signal,
    (line) => logged.push(line),
  );
  assert.ok(tries > 3, `the controller was away for ${tries - 1} tries; the upload kept going`);
  assert.equal(stored.length, 1);
  assert.ok(stored[0]!.equals(bytes), 'the accepted upload carried the whole file');
  assert.ok(logged.some((l) => /retrying \(\d+\)/.test(l)), logged.join('\n'));
});

void test('LEASE_LOST ends the retries at once', async (t) => {
  let tries = 0;
  const { url } = await serve(t, (_req, res) => {
    tries++;
    replyJson(res, 409, { error: { code: 'LEASE_LOST', message: 'gone' } });
  });
  const client = new BuildMeshClient({ url, token: 'w' });
  const err = await retryForAttempt(() => client.attemptSecrets('att_0000000000000000000000'), new AbortController().signal).catch((e: unknown) => e);
  assert.ok(err instanceof ApiError && err.code === 'LEASE_LOST');
  assert.ok(isLeaseLost(err));
  assert.equal(tries, 1);
});

void test("the lease expires on the worker's own clock without an accepted heartbeat, and that stops the retries", async () => {
  const lease = new AttemptLease(600);
  // Renewed while "heartbeats" are accepted…
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 200));
    lease.renewed(Date.now());
  }
  assert.equal(lease.lost.aborted, false, 'renewals keep the lease');
  // …then the controller is away: a call retries until the lease runs out, then stops.
  const started = Date.now();
  let tries = 0;
  const err = await retryForAttempt(async () => {
    tries++;
    throw new ApiError('INTERNAL', 'down');
  }, lease.lost).catch((e: unknown) => e);
  assert.ok(lease.lost.aborted);
  assert.ok(lease.lost.reason instanceof LeaseExpiredError);
  assert.ok(isLeaseLost(lease.lost.reason));
  assert.ok(err instanceof LeaseExpiredError, 'the caller learns why it stopped');
  assert.ok(tries >= 2, `retried (${tries} tries) until the lease ran out`);
  assert.ok(Date.now() - started >= 500, 'not given up before the lease expired');
  lease.dispose();
});
