/**
 * Streamed uploads (a source, an artifact, a presigned PUT) go through undici's request in Node. Against
 * a hostile or broken server the upload must end and stop reading its source: an answer before the body
 * is sent (413, say), a redirect (never followed: the stream cannot be sent twice), the caller's abort,
 * and a server that stops reading. Each case offers a 2 GiB source made as it is read, so what the
 * client read (and would have held) is measured, never buffered whole.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, BuildMeshClient, NetworkError } from '../src/index.js';
import { serve } from './helpers/http.js';

const CHUNK = 64 * 1024;
const TWO_GIB = 2 * 1024 ** 3;
/** Far below 2 GiB: socket buffers and undici's queue, nothing more. */
const READ_BOUND = 64 * 1024 ** 2;

function source(): { body: AsyncIterable<Uint8Array>; read: () => number; closed: () => boolean } {
  let read = 0;
  let closed = false;
  async function* generate() {
    try {
      const chunk = new Uint8Array(CHUNK);
      for (let sent = 0; sent < TWO_GIB; sent += CHUNK) {
        read += CHUNK;
        yield chunk;
      }
    } finally {
      closed = true;
    }
  }
  return { body: generate(), read: () => read, closed: () => closed };
}

const blob = { sha256: 'a'.repeat(64), size: TWO_GIB };
const settled = async (closed: () => boolean) => {
  for (let i = 0; i < 100 && !closed(); i++) await new Promise((r) => setTimeout(r, 20));
};

test('an answer before the body is sent ends the upload with its code and stops reading the source', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'too big' } }));
  });
  const src = source();
  await assert.rejects(new BuildMeshClient({ url, token: 't' }).uploadBlob(blob, src.body), (err: unknown) => err instanceof ApiError && err.code === 'PAYLOAD_TOO_LARGE');
  await settled(src.closed);
  assert.ok(src.closed(), 'the source is closed');
  assert.ok(src.read() < READ_BOUND, `read ${src.read()} bytes`);
});

test('a redirect answering a streamed upload is an error and is not followed', async (t) => {
  let followed = 0;
  const target = await serve(t, (req, res) => {
    followed++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(blob));
  });
  const url = await serve(t, (_req, res) => res.writeHead(307, { location: `${target}/v1/blobs/${blob.sha256}` }).end());
  const src = source();
  await assert.rejects(new BuildMeshClient({ url, token: 't' }).uploadBlob(blob, src.body));
  await settled(src.closed);
  assert.equal(followed, 0, 'the redirect target got nothing');
  assert.ok(src.closed(), 'the source is closed');
  assert.ok(src.read() < READ_BOUND, `read ${src.read()} bytes`);
});

test('the caller’s abort ends an upload the server is not reading', async (t) => {
  const url = await serve(t, (req) => req.pause());
  const src = source();
  const abort = new AbortController();
  const upload = new BuildMeshClient({ url, token: 't' }).uploadBlob(blob, src.body, { signal: abort.signal });
  setTimeout(() => abort.abort(new Error('stopped by the caller')), 300);
  await assert.rejects(upload, /stopped by the caller/);
  await settled(src.closed);
  assert.ok(src.closed(), 'the source is closed');
  assert.ok(src.read() < READ_BOUND, `read ${src.read()} bytes while the server read nothing`);
});

test(
  'an upload the server stops reading fails after an idle time, without a caller signal',
  {
    timeout: 30_000,
  },
  async (t) => {
    const url = await serve(t, (req) => req.pause());
    const src = source();
    const safety = new AbortController();
    const timer = setTimeout(() => safety.abort(new Error('still waiting after 5 s')), 5_000);
    t.after(() => clearTimeout(timer));
    const client = new BuildMeshClient({ url, token: 't', uploadIdleTimeoutMs: 1000 });
    await assert.rejects(client.uploadBlob(blob, src.body, { signal: safety.signal }), (err: unknown) => err instanceof NetworkError && /took no bytes/.test(err.message));
    await settled(src.closed);
    assert.ok(src.closed(), 'the source is closed');
    assert.ok(src.read() < READ_BOUND);
  },
);

test('a slow upload that keeps moving is not cut by the idle time, however long it takes', { timeout: 30_000 }, async (t) => {
  const size = 16 * 1024 ** 2;
  // The receiver takes 64 KiB every 20 ms (~3 MB/s): about 5 s in all, against an idle time of 3 s. (The
  // sender refills the socket only when about half its buffer has drained: a few MB, here under 1 s.)
  const url = await serve(t, (req, res) => {
    let got = 0;
    req.on('data', (chunk: Buffer) => {
      got += chunk.length;
      req.pause();
      setTimeout(() => req.resume(), 20);
    });
    req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sha256: blob.sha256, size: got })));
  });
  async function* slow() {
    for (let sent = 0; sent < size; sent += CHUNK) yield new Uint8Array(CHUNK);
  }
  const started = Date.now();
  const client = new BuildMeshClient({ url, token: 't', uploadIdleTimeoutMs: 3000 });
  assert.deepEqual(await client.uploadBlob({ sha256: blob.sha256, size }, slow()), { sha256: blob.sha256, size });
  assert.ok(Date.now() - started > 3000, 'it took longer than the idle time');
});
