/**
 * Attacker review: blobs are shared by content across orgs, and presence is per org (org_blobs), so no org
 * may learn whether another org stored some bytes. Completing a direct (presigned, S3) upload that does
 * not hash to its declared sha256 is refused either way, but S3BlobStore.adoptUpload does different work
 * depending on whether ANY org already stored that sha256: if one did, it only reads the upload back;
 * if none did, it first copies the upload to a private snapshot (CopyObject + HEAD) and reads that. The
 * difference is the time of a server-side copy of the whole upload (up to the source limit), which org
 * beta measures from outside: a confirmation oracle for "does anyone here build exactly this source"
 * (a known tarball's sha256 and size are all it needs). What must hold: a refused completion does the
 * same store work whether or not the sha256 is stored (here: the same S3 requests, counted by a proxy in
 * front of s3rver), and answers the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError } from '@buildmesh/protocol';
import { startS3 } from '../../../test/helpers/s3.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('completing a wrong direct upload does the same work and answers the same whether or not another org stored the sha256', { timeout: 120_000 }, async (t) => {
  const s3 = await startS3();
  t.after(() => s3.close());
  const real = new URL(s3.endpoint);
  let recording: string[] | undefined;
  const proxy = http.createServer((req, res) => {
    if (recording) recording.push(`${req.method} ${req.headers['x-amz-copy-source'] ? 'copy' : ''}`.trim());
    const upstream = http.request({ host: real.hostname, port: real.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    proxy.closeAllConnections();
    proxy.close();
  });
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const blobUrl = `s3://${s3.bucket}/oracle?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=1`;
  const controller = await startControllerProcess({ env: { ...s3.env, BUILDMESH_BLOB_URL: blobUrl, BUILDMESH_LOG_LEVEL: 'warn' } });
  t.after(() => controller.dispose());

  const alpha = await createTenant(controller, 'alpha');
  const beta = await createTenant(controller, 'beta');
  const size = 4 * 1024 * 1024;
  const alphaSource = randomBytes(size);
  await alpha.member.sendBlob({ sha256: sha(alphaSource), size }, async function* () {
    yield alphaSource;
  });

  // Beta declares a sha256 and sends other bytes of that size, once for alpha's blob and once for bytes nobody stored.
  const probe = async (sha256: string) => {
    const ticket = await beta.member.startBlobUpload({ sha256, size });
    assert.equal(ticket.mode, 'direct');
    if (ticket.mode !== 'direct') throw new Error('unreachable');
    const put = await fetch(ticket.url, { method: 'PUT', body: randomBytes(size), headers: { 'content-length': String(size) } });
    assert.equal(put.status, 200);
    recording = [];
    const started = performance.now();
    const code = await beta.member.completeBlobUpload(ticket.uploadId, size).then(
      () => 'stored',
      (err: unknown) => (err instanceof ApiError ? err.code : String(err)),
    );
    const ms = performance.now() - started;
    const requests = recording;
    recording = undefined;
    return { code, requests, ms };
  };
  const stored = await probe(sha(alphaSource));
  const unknown = await probe(sha(randomBytes(size)));
  console.log(`refused completion: alpha's sha256 ${stored.ms.toFixed(0)} ms [${stored.requests.join(', ')}]; unknown sha256 ${unknown.ms.toFixed(0)} ms [${unknown.requests.join(', ')}]`);
  assert.equal(stored.code, unknown.code, 'the same refusal');
  assert.deepEqual(stored.requests, unknown.requests, "the object store sees the same requests whether or not another org stored the sha256 (else the completion's time tells)");
});
