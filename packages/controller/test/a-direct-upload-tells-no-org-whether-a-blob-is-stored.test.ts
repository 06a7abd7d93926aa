/**
 * Attacker review: blobs are shared by content across orgs, and presence is per org (org_blobs), so no org
 * may learn whether another org stored some bytes ("does anyone here build exactly this source", for a
 * known tarball). S3BlobStore.adoptUpload did different work depending on whether ANY org had stored the
 * sha256: for a wrong upload it skipped the private snapshot (CopyObject + HEAD), for a right one the copy
 * onto sha256/<hash>; the time of a server-side copy of the whole upload is what org beta measures from
 * outside. What must hold: a completion, refused or verified, does the same store work whether or not
 * another org stored the sha256 (here: the same S3 requests, counted by a proxy in front of s3rver), and
 * answers the same.
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
const SIZE = 4 * 1024 * 1024;

/**
 * A controller on s3rver behind a proxy that records the S3 requests, org alpha with a stored "known
 * tarball", and `complete(sha256, bytes)`: org beta's direct upload of those bytes declared as that sha256,
 * its completion's outcome, time and the S3 requests the completion made.
 */
async function alphaStoredAKnownTarball(t: { after(fn: () => unknown): void }) {
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
  const known = randomBytes(SIZE);
  await alpha.member.sendBlob({ sha256: sha(known), size: SIZE }, async function* () {
    yield known;
  });
  const complete = async (sha256: string, bytes: Buffer) => {
    const ticket = await beta.member.startBlobUpload({ sha256, size: SIZE });
    if (ticket.mode !== 'direct') throw new Error('expected a direct upload');
    const put = await fetch(ticket.url, { method: 'PUT', body: bytes, headers: { 'content-length': String(SIZE) } });
    assert.equal(put.status, 200);
    recording = [];
    const started = performance.now();
    const code = await beta.member.completeBlobUpload(ticket.uploadId, SIZE).then(
      () => 'stored',
      (err: unknown) => (err instanceof ApiError ? err.code : String(err)),
    );
    const ms = performance.now() - started;
    const requests = recording;
    recording = undefined;
    return { code, requests, ms };
  };
  return { known, complete };
}

test('completing a wrong direct upload does the same work and answers the same whether or not another org stored the sha256', { timeout: 120_000 }, async (t) => {
  const { known, complete } = await alphaStoredAKnownTarball(t);
  // Beta declares a sha256 and sends other bytes of that size, once for alpha's blob and once for bytes nobody stored.
  const stored = await complete(sha(known), randomBytes(SIZE));
  const unknown = await complete(sha(randomBytes(SIZE)), randomBytes(SIZE));
  console.log(`refused completion: alpha's sha256 ${stored.ms.toFixed(0)} ms [${stored.requests.join(', ')}]; unknown sha256 ${unknown.ms.toFixed(0)} ms [${unknown.requests.join(', ')}]`);
  assert.equal(stored.code, unknown.code, 'the same refusal');
  assert.deepEqual(stored.requests, unknown.requests, "the object store sees the same requests whether or not another org stored the sha256 (else the completion's time tells)");
});

test('completing a correct direct upload does the same work whether or not another org stored the bytes', { timeout: 120_000 }, async (t) => {
  const { known, complete } = await alphaStoredAKnownTarball(t);
  // Beta has a copy of the known tarball (a public project at a given commit, say), and bytes nobody stored.
  const storedByAlpha = await complete(sha(known), known);
  const fresh = randomBytes(SIZE);
  const storedByNobody = await complete(sha(fresh), fresh);
  console.log(`verified completion: alpha's bytes ${storedByAlpha.ms.toFixed(0)} ms [${storedByAlpha.requests.join(', ')}]; new bytes ${storedByNobody.ms.toFixed(0)} ms [${storedByNobody.requests.join(', ')}]`);
  assert.equal(storedByAlpha.code, 'stored');
  assert.equal(storedByNobody.code, 'stored');
  assert.deepEqual(storedByAlpha.requests, storedByNobody.requests, 'the object store sees the same requests whether or not another org stored the bytes');
});
