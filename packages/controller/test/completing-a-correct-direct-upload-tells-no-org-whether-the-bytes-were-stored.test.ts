/**
 * Attacker review (follow-up of completing-a-direct-upload-tells-no-org-whether-a-blob-is-stored): the
 * threat named there is "does anyone here build exactly this source" for a KNOWN tarball. Whoever knows
 * the tarball has its bytes, so the refused-upload fix does not close it: beta uploads the right bytes and
 * S3BlobStore.adoptUpload publishes them (CopyObject onto sha256/<hash>) only when no org stored them yet;
 * when alpha did, that server-side copy of the whole blob is skipped. Beta times its own completion (or an
 * observer counts the store's requests) and learns whether another org holds those exact bytes.
 * What must hold: a VERIFIED completion does the same store work whether or not another org stored the sha256.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startS3 } from '../../../test/helpers/s3.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('completing a correct direct upload does the same work whether or not another org stored the bytes', { timeout: 120_000 }, async (t) => {
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
  // The "known tarball": alpha builds it; beta has a copy (a public project at a given commit, say).
  const known = randomBytes(size);
  await alpha.member.sendBlob({ sha256: sha(known), size }, async function* () {
    yield known;
  });

  const probe = async (bytes: Buffer) => {
    const ticket = await beta.member.startBlobUpload({ sha256: sha(bytes), size });
    if (ticket.mode !== 'direct') throw new Error('expected a direct upload');
    const put = await fetch(ticket.url, { method: 'PUT', body: bytes, headers: { 'content-length': String(size) } });
    assert.equal(put.status, 200);
    recording = [];
    const started = performance.now();
    await beta.member.completeBlobUpload(ticket.uploadId, size);
    const ms = performance.now() - started;
    const requests = recording;
    recording = undefined;
    return { requests, ms };
  };
  const storedByAlpha = await probe(known);
  const storedByNobody = await probe(randomBytes(size));
  console.log(`verified completion: alpha's bytes ${storedByAlpha.ms.toFixed(0)} ms [${storedByAlpha.requests.join(', ')}]; new bytes ${storedByNobody.ms.toFixed(0)} ms [${storedByNobody.requests.join(', ')}]`);
  assert.deepEqual(storedByAlpha.requests, storedByNobody.requests, 'the object store sees the same requests whether or not another org stored the bytes');
});
