/**
 * Downloads (artifacts, sources) go through undici's request under Node, which follows no redirect by
 * itself: the client follows them (an S3 presigned GET is one), keeps the range, and never sends the
 * controller's token (nor a header the client was configured with) to another origin. Error answers become ApiError with the server's code.
 * A redirect the client will not follow is a RedirectRefused, never retried: the CLI retried it for ever as
 * "connection lost" while it was a NetworkError (attacker review).
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { ApiError, BuildMeshClient, isTransient, RedirectRefused } from '../src/index.js';
import { readAll, serve } from './helpers/http.js';

test('a redirected download reaches the other origin with its range and without the token or configured headers', async (t) => {
  const seen: IncomingHttpHeaders[] = [];
  const store = await serve(t, (req, res) => {
    seen.push(req.headers);
    res.writeHead(206, { 'content-type': 'application/octet-stream', 'x-object': 'yes' }).end('bytes 5-9');
  });
  const controller = await serve(t, (req, res) => {
    assert.equal(req.headers.authorization, 'Bearer secret-token');
    res.writeHead(302, { location: `${store}/bucket/key?X-Amz-Signature=abc` }).end('moved');
  });
  const answer = await new BuildMeshClient({ url: controller, token: 'secret-token', headers: { 'x-proxy-secret': 'for the controller only' } }).downloadArtifact('bld_1', 'art_1', { range: 'bytes=5-9' });
  assert.equal(answer.status, 206);
  assert.equal(answer.header('X-Object'), 'yes');
  assert.equal((await readAll(answer.body)).toString(), 'bytes 5-9');
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.authorization, undefined, 'the token went to the object store');
  assert.equal(seen[0]!.range, 'bytes=5-9');
  assert.equal(seen[0]!['x-proxy-secret'], undefined, 'a configured header went to the object store');
});

test('a redirect within the controller keeps the token', async (t) => {
  let authorized = 0;
  const controller = await serve(t, (req, res) => {
    if (req.headers.authorization === 'Bearer secret-token') authorized++;
    if (req.url!.startsWith('/v1/')) return void res.writeHead(307, { location: '/moved/source' }).end();
    res.writeHead(200).end('tarball');
  });
  const answer = await new BuildMeshClient({ url: controller, token: 'secret-token' }).source('att_1');
  assert.equal((await readAll(answer.body)).toString(), 'tarball');
  assert.equal(authorized, 2);
});

test('a download refused by the controller is an ApiError with its code', async (t) => {
  const controller = await serve(t, (_req, res) => {
    res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'LEASE_LOST', message: 'the lease is gone' } }));
  });
  await assert.rejects(new BuildMeshClient({ url: controller, token: 'x' }).source('att_1'), (err: unknown) => err instanceof ApiError && err.status === 409 && err.code === 'LEASE_LOST');
});

test('a download that keeps redirecting stops after five hops', async (t) => {
  let hops = 0;
  const controller = await serve(t, (_req, res) => {
    hops++;
    res.writeHead(302, { location: `/again/${hops}` }).end();
  });
  await assert.rejects(new BuildMeshClient({ url: controller, token: 'x' }).source('att_1'), (err: unknown) => err instanceof RedirectRefused && !isTransient(err) && /more than 5 redirects/.test(err.message));
  assert.equal(hops, 6);
});

test('only redirect statuses are followed, and only to http or https', async (t) => {
  const controller = await serve(t, (req, res) => {
    if (req.url!.endsWith('/source')) return void res.writeHead(300, { location: '/elsewhere' }).end();
    res.writeHead(302, { location: `blob:${'http://127.0.0.1:1'}/x` }).end();
  });
  const client = new BuildMeshClient({ url: controller, token: 'x' });
  await assert.rejects(client.source('att_1'), (err: unknown) => err instanceof ApiError);
  await assert.rejects(client.downloadArtifact('bld_1', 'art_1'), (err: unknown) => err instanceof RedirectRefused && !isTransient(err) && /redirect to blob: is not followed/.test(err.message));
});

test('a redirect to something that is no URL fails with RedirectRefused, not retried', async (t) => {
  const controller = await serve(t, (_req, res) => void res.writeHead(302, { location: 'http://[not a host/' }).end());
  await assert.rejects(
    new BuildMeshClient({ url: controller, token: 'x' }).downloadArtifact('bld_1', 'art_1'),
    (err: unknown) => err instanceof RedirectRefused && !isTransient(err) && /invalid URL/.test(err.message),
  );
});
