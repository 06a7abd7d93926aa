/**
 * Direct transfers with an S3 blob store: the source goes to the bucket through
 * a presigned PUT for one new key (signed for that key, that length and 15
 * minutes: proven by re-signing with the SDK, since s3rver does not bind a
 * signature to its key), becomes present only after the controller read it back
 * (a tampered upload is refused and leaves nothing), the worker's source and the
 * artifact download answer 302 to presigned GETs, the worker uploads its
 * artifact straight to the bucket (verified the same way), the controller's RSS stays
 * flat, and BUILDMESH_BLOB_PROXY=1 keeps every byte on the controller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { parseS3Url, s3Client, S3BlobStore } from '../src/blobs/s3.js';
import { startS3 } from '../../../test/helpers/s3.js';
import { startControllerProcess, type ControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, keepLeased } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';
import { bytesOf } from '../../../test/helpers/bytes.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MiB = 1024 * 1024;
const rssMiB = (c: ControllerProcess): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${c.process.pid}/status`, 'utf8'))![1]) / 1024;
const chunks = (b: Buffer) => Readable.from((function* () { for (let i = 0; i < b.length; i += MiB) yield b.subarray(i, i + MiB); })());

test('with S3, sources and artifacts travel straight between clients and the bucket, verified by the controller', async () => {
  const s3 = await startS3();
  // Configured as the controller's own client is, so that a re-signed URL can be compared with the one it issued.
  const sdk = s3Client(parseS3Url(s3.blobUrl('mesh')));
  const keys = async (prefix: string) => ((await sdk.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
  const controller = await startControllerProcess({ env: { ...s3.env, BUILDMESH_BLOB_URL: s3.blobUrl('mesh') } });
  try {
    const alpha = await createTenant(controller, 'alpha');
    const beta = await createTenant(controller, 'beta');
    const source = randomBytes(64 * MiB);
    const ref = { sha256: sha(source), size: source.length };

    // The URL the controller issues: one new incoming key, PUT, 15 minutes, the length signed.
    const ticket = await alpha.member.startBlobUpload(ref);
    assert.equal(ticket.mode, 'direct');
    if (ticket.mode !== 'direct') return;
    const url = new URL(ticket.url);
    assert.equal(url.origin, s3.endpoint);
    assert.match(url.pathname, /^\/buildmesh-test\/mesh\/incoming\/[0-9a-f]{32}$/);
    assert.equal(url.searchParams.get('X-Amz-Expires'), '900');
    assert.deepEqual(url.searchParams.get('X-Amz-SignedHeaders')?.split(';').sort(), ['content-length', 'host']);
    const key = decodeURIComponent(url.pathname.slice(`/${s3.bucket}/`.length));
    const amzDate = url.searchParams.get('X-Amz-Date')!;
    const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    const resign = async (k: string, length: number) =>
      new URL(
        await getSignedUrl(sdk, new PutObjectCommand({ Bucket: s3.bucket, Key: k, ContentLength: length }), {
          expiresIn: 900,
          signableHeaders: new Set(['content-length']),
          signingDate,
        }),
      ).searchParams.get('X-Amz-Signature');
    assert.equal(await resign(key, ref.size), url.searchParams.get('X-Amz-Signature'), 'the signature is the one for this key and length');
    assert.notEqual(await resign(`${key}x`, ref.size), url.searchParams.get('X-Amz-Signature'), 'it is worth nothing for another key');
    assert.notEqual(await resign(key, ref.size + 1), url.searchParams.get('X-Amz-Signature'), 'or another length');

    // Tampered: the right length, the wrong bytes. Refused at completion; nothing is present or left over.
    const wrong = Buffer.from(source);
    wrong.writeUInt8(wrong.readUInt8(12345) ^ 1, 12345);
    const put = await fetch(ticket.url, { method: 'PUT', body: wrong, headers: { 'content-length': String(wrong.length) } });
    assert.equal(put.status, 200);
    await rejectsWith(alpha.member.completeBlobUpload(ticket.uploadId), 'CHECKSUM_MISMATCH');
    assert.deepEqual(await alpha.member.blobPresence([ref]), { present: [] });
    assert.deepEqual(await keys('mesh/'), [], 'the tampered upload is gone and nothing took its name');
    // Another org cannot complete (or learn about) alpha's upload.
    const ticket2 = await alpha.member.startBlobUpload(ref);
    if (ticket2.mode !== 'direct') return;
    await rejectsWith(beta.member.completeBlobUpload(ticket2.uploadId), 'NOT_FOUND');
    await rejectsWith(alpha.member.completeBlobUpload('not-an-upload-id'), 'NOT_FOUND');

    // The real upload, straight to the bucket: the controller's memory stays flat.
    const rssBefore = rssMiB(controller);
    assert.deepEqual(await alpha.member.sendBlob(ref, () => chunks(source)), ref);
    const rssAfter = rssMiB(controller);
    assert.ok(rssAfter - rssBefore < 40, `controller RSS grew ${(rssAfter - rssBefore).toFixed(1)} MiB for a 64 MiB source`);
    assert.deepEqual(await alpha.member.blobPresence([ref]), { present: [ref.sha256] });
    assert.deepEqual(await beta.member.blobPresence([ref]), { present: [] });
    const build = await alpha.member.createBuildFromBlob({ spec: buildSpec({ platform: 'android' }), source: ref });

    // The worker's source: 302 to a presigned GET of that one object.
    const worker = await enrollWorker(alpha.admin, { platforms: ['android'] });
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, build.id);
    const attemptId = job!.attempt.id;
    const stop = keepLeased(worker, attemptId);
    const redirect = await fetch(`${controller.url}/v1/attempts/${attemptId}/source`, { headers: { authorization: `Bearer ${worker.credential}` }, redirect: 'manual' });
    assert.equal(redirect.status, 302);
    const location = new URL(redirect.headers.get('location')!);
    assert.equal(location.origin, s3.endpoint);
    assert.equal(location.pathname, `/${s3.bucket}/mesh/sha256/${ref.sha256.slice(0, 2)}/${ref.sha256}`);
    assert.equal(location.searchParams.get('X-Amz-Expires'), '300');
    assert.equal(sha(await bytesOf(await worker.client.source(attemptId))), ref.sha256);

    // An artifact goes up straight to the bucket too (then verified), and comes back the same way, whole and by range.
    const data = randomBytes(3 * MiB);
    const artifactTicket = await fetch(`${controller.url}/v1/attempts/${attemptId}/artifacts/app.apk/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${worker.credential}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sha256: sha(data), size: data.length }),
    });
    const artifactUrl = ((await artifactTicket.json()) as { mode: string; url: string });
    assert.equal(artifactUrl.mode, 'direct');
    assert.equal(new URL(artifactUrl.url).origin, s3.endpoint);
    await rejectsWith(
      worker.client.uploadArtifact(attemptId, { name: 'bad.apk', kind: 'other', size: data.length, sha256: sha(randomBytes(3)), stream: Readable.from([data]) }),
      'CHECKSUM_MISMATCH',
    );
    const artifact = await worker.client.uploadArtifact(attemptId, { name: 'app.apk', kind: 'application-archive', size: data.length, sha256: sha(data), stream: Readable.from([data]) });
    await worker.client.finish(attemptId, { outcome: 'succeeded' });
    stop();
    const download = await fetch(`${controller.url}/v1/builds/${build.id}/artifacts/${artifact.id}`, { headers: { authorization: `Bearer ${alpha.tokens.reader}` }, redirect: 'manual' });
    assert.equal(download.status, 302);
    assert.equal(new URL(download.headers.get('location')!).origin, s3.endpoint);
    // The client follows the redirect by hand (undici), keeping the range: whole and by range.
    assert.ok((await bytesOf(await alpha.reader.downloadArtifact(build.id, artifact.id))).equals(data));
    const part = await alpha.reader.downloadArtifact(build.id, artifact.id, { range: 'bytes=100-199' });
    assert.equal(part.status, 206);
    assert.ok((await bytesOf(part)).equals(data.subarray(100, 200)));
    assert.doesNotMatch(controller.output(), /NodeVersionSupportWarning/);

    // Proxy mode: the same bucket, every byte through the controller.
    await controller.kill('SIGTERM');
    await controller.restart({ BUILDMESH_BLOB_PROXY: '1' });
    assert.deepEqual(await alpha.member.startBlobUpload(ref), { mode: 'proxy' });
    const proxied = await fetch(`${controller.url}/v1/builds/${build.id}/artifacts/${artifact.id}`, { headers: { authorization: `Bearer ${alpha.tokens.reader}` }, redirect: 'manual' });
    assert.equal(proxied.status, 200);
    assert.ok(Buffer.from(await proxied.arrayBuffer()).equals(data));
  } finally {
    await controller.dispose();
    sdk.destroy();
    await s3.close();
  }
});

test('a presigned upload URL expires', async () => {
  const s3 = await startS3();
  const store = await S3BlobStore.open(s3.blobUrl('expiry'));
  try {
    const body = randomBytes(1000);
    const { url } = await store.presignUpload(body.length, 1);
    await new Promise((r) => setTimeout(r, 2500));
    const late = await fetch(url, { method: 'PUT', body, headers: { 'content-length': String(body.length) } });
    assert.equal(late.status, 403);
    const fresh = await store.presignUpload(body.length, 60);
    assert.equal((await fetch(fresh.url, { method: 'PUT', body, headers: { 'content-length': String(body.length) } })).status, 200);
  } finally {
    store.client.destroy();
    await s3.close();
  }
});
