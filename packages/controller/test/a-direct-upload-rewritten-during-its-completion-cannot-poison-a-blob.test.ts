/**
 * A presigned upload URL stays writable until it expires. Completing a direct upload reads the object
 * back to verify it, then copies it under its sha256; if the uploader writes the URL again between the
 * two, the copy must not take the new bytes: a blob's bytes always hash to its name (blobs are shared
 * by content across orgs, so a poisoned one would be served to whoever stores that content next).
 * A proxy in front of s3rver writes the URL again just before the first copy that follows the read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3BlobStore } from '../src/blobs/s3.js';
import { startS3 } from '../../../test/helpers/s3.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('an upload URL written again while its completion runs cannot change the bytes stored under the sha256', async () => {
  const s3 = await startS3();
  const real = new URL(s3.endpoint);
  const good = randomBytes(256 * 1024);
  const evil = randomBytes(good.length);
  let uploadUrl = '';
  let adopting = false;
  let readSeen = false;
  let rewritten = false;
  const proxy = http.createServer((req, res) => {
    void (async () => {
      // The verification read (of whichever key), then the copy that follows it.
      if (adopting && req.method === 'GET' && req.url?.includes('/poison/')) readSeen = true;
      if (req.method === 'PUT' && req.headers['x-amz-copy-source'] && readSeen && !rewritten) {
        rewritten = true;
        const direct = new URL(uploadUrl);
        direct.host = real.host;
        const put = await fetch(direct, { method: 'PUT', body: evil, headers: { 'content-length': String(evil.length) } });
        assert.equal(put.status, 200);
      }
      const upstream = http.request({ host: real.hostname, port: real.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    })();
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  try {
    const store = await S3BlobStore.open(`s3://${s3.bucket}/poison?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=1`);
    const { url, key } = await store.presignUpload(good.length, 900);
    uploadUrl = url;
    const put = await fetch(url, { method: 'PUT', body: good, headers: { 'content-length': String(good.length) } });
    assert.equal(put.status, 200);
    adopting = true;
    await store.adoptUpload(key, { sha256: sha(good), size: good.length });
    assert.ok(rewritten, 'the URL was written again between the verification read and the copy');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(sha(good))) chunks.push(chunk as Buffer);
    assert.equal(sha(Buffer.concat(chunks)), sha(good), 'the blob holds the verified bytes');
  } finally {
    proxy.closeAllConnections();
    proxy.close();
    await s3.close();
  }
});
