/**
 * Downloads (the CLI's artifacts, the worker's source) keep what fetch guaranteed before they went through
 * undici's request, each checked against fetch as the control (an attacker's review found both lost):
 * - a download whose server stops sending, or never answers, fails by itself: the dispatcher's idle
 *   timeouts (300 s by default; lowered here through the global dispatcher so the test runs quickly) stay
 *   on, since the CLI passes no signal of its own;
 * - once a redirect has left the controller's origin, the token stays dropped: a hostile store cannot
 *   bounce the client back to a controller path of its choosing with the token.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { Agent, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { BuildMeshClient, isTransient, setDefaultStreamTransport, type StreamTransport } from '../src/index.js';
import { undiciStreamTransport } from '../src/node-transport.js';
import { readAll, serve } from './helpers/http.js';

/** Settles with what `work` did, or 'still waiting' after `ms` (never rejects). */
async function within(ms: number, work: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still waiting'), ms)));
  const done = work().then(
    () => 'completed',
    (err: unknown) => `failed: ${(err as Error).message}`,
  );
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The dispatcher's idle timeouts (300 s by default, as every fetch had them) made short to test, and `transport` in use. */
function withShortIdleTimeouts(t: { after(fn: () => unknown): void }, transport: StreamTransport | undefined): void {
  const previous = getGlobalDispatcher();
  const agent = new Agent({ headersTimeout: 500, bodyTimeout: 500 });
  setGlobalDispatcher(agent);
  setDefaultStreamTransport(transport);
  t.after(async () => {
    setGlobalDispatcher(previous);
    setDefaultStreamTransport(undiciStreamTransport);
    await agent.destroy().catch(() => undefined);
  });
}

const transports = [
  ['fetch (the browser’s path)', undefined],
  ['undici stream transport', undiciStreamTransport],
] as const;

for (const [name, transport] of transports) {
  test(`a download whose server stops sending fails by itself, as with fetch: ${name}`, async (t) => {
    withShortIdleTimeouts(t, transport);
    // A half-sent artifact, then silence (a dead link, a hostile store): no close, no more bytes.
    const controller = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
      res.write(Buffer.alloc(100));
    });
    const client = new BuildMeshClient({ url: controller, token: 'secret-token' });
    // As the CLI's download does it: no signal of its own.
    let failure: unknown;
    const outcome = await within(10_000, () => (async () => readAll((await client.downloadArtifact('bld_1', 'art_1')).body))().catch((err: unknown) => Promise.reject((failure = err))));
    assert.match(outcome, /^failed: /, `the stalled download is ${outcome}`);
    // …as a transient failure, which `buildmesh download` retries (resuming from its .part).
    assert.ok(isTransient(failure), `not retried: ${String(failure)}`);
  });

  test(`a download whose server never answers fails by itself, as with fetch: ${name}`, async (t) => {
    withShortIdleTimeouts(t, transport);
    const controller = await serve(t, () => {
      // takes the request, never answers
    });
    const client = new BuildMeshClient({ url: controller, token: 'secret-token' });
    let failure: unknown;
    const outcome = await within(10_000, () => (async () => readAll((await client.source('att_1')).body))().catch((err: unknown) => Promise.reject((failure = err))));
    assert.match(outcome, /^failed: /, `the unanswered download is ${outcome}`);
    assert.ok(isTransient(failure), `not retried: ${String(failure)}`);
  });

  test(`a redirect back from another origin does not bring the token back, as with fetch: ${name}`, async (t) => {
    setDefaultStreamTransport(transport);
    t.after(() => setDefaultStreamTransport(undiciStreamTransport));
    const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
    let controller = '';
    // The object store a presigned GET names, hostile: it sends the client back to a controller path it picks.
    const store = await serve(t, (req, res) => {
      seen.push({ path: `store ${req.url}`, headers: req.headers });
      res.writeHead(302, { location: `${controller}/v1/attempts/att_other/secrets` }).end();
    });
    controller = await serve(t, (req, res) => {
      seen.push({ path: `controller ${req.url}`, headers: req.headers });
      if (req.url === '/v1/builds/bld_1/artifacts/art_1') return void res.writeHead(302, { location: `${store}/bucket/key?X-Amz-Signature=abc` }).end();
      res.writeHead(200).end('whatever the path gives');
    });
    await readAll((await new BuildMeshClient({ url: controller, token: 'secret-token' }).downloadArtifact('bld_1', 'art_1')).body).catch(() => undefined);
    assert.deepEqual(
      seen.map((s) => s.path),
      ['controller /v1/builds/bld_1/artifacts/art_1', 'store /bucket/key?X-Amz-Signature=abc', 'controller /v1/attempts/att_other/secrets'],
    );
    assert.equal(seen[0]!.headers.authorization, 'Bearer secret-token');
    assert.equal(seen[1]!.headers.authorization, undefined, 'the token went to the object store');
    assert.equal(seen[2]!.headers.authorization, undefined, 'the store made the client send an authenticated GET of its choosing');
  });
}
