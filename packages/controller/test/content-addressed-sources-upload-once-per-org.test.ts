/**
 * Content-addressed uploads, on the filesystem and on S3: a source uploaded once
 * serves builds for two platforms and a resubmit (the server counts one upload);
 * a blob whose bytes do not match its declared sha256 or size is refused and
 * never becomes present; another org asking about the hash learns "not present"
 * and cannot build from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buildSpec, createTenant, enrollWorker, tinyTarGz } from './helpers/fixtures.js';
import { startControllerProcess, type ControllerProcess } from './helpers/controller-process.js';
import { rejectsWith } from './helpers/expect.js';
import { startS3, type TestS3 } from '../../../test/helpers/s3.js';
import { bytesOf } from '../../../test/helpers/bytes.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function uploads(controller: ControllerProcess, token: string): Promise<number> {
  const text = await (await fetch(`${controller.url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Number(/^buildmesh_blob_uploads_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

for (const backend of ['filesystem', 's3'] as const) {
  test(`a source is uploaded once for two platforms and a resubmit, per org (${backend})`, async () => {
    let s3: TestS3 | undefined;
    if (backend === 's3') s3 = await startS3();
    const controller = await startControllerProcess({ env: s3 ? { ...s3.env, BUILDMESH_BLOB_URL: s3.blobUrl('ca') } : {} });
    try {
      const alpha = await createTenant(controller, 'alpha');
      const beta = await createTenant(controller, 'beta');
      const source = await tinyTarGz('content-addressed');
      const ref = { sha256: sha(source), size: source.length };

      assert.deepEqual(await alpha.member.blobPresence([ref]), { present: [] });
      await rejectsWith(alpha.member.createBuildFromBlob({ spec: buildSpec({ platform: 'android' }), source: ref }), 'SOURCE_NOT_UPLOADED');

      // Tampered uploads: the wrong hash, or fewer bytes than declared. Nothing becomes present.
      const other = Buffer.concat([source, Buffer.from('x')]);
      await rejectsWith(alpha.member.uploadBlob({ sha256: ref.sha256, size: other.length }, Readable.from([other])), 'CHECKSUM_MISMATCH');
      const short = await fetch(`${controller.url}/v1/blobs/${ref.sha256}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${alpha.tokens.member}`, 'content-type': 'application/octet-stream', 'content-length': String(source.length) },
        body: Readable.toWeb(Readable.from([source.subarray(0, 10)])) as ReadableStream,
        duplex: 'half',
      } as RequestInit).catch((err: Error) => err);
      assert.ok(short instanceof Error || short.status >= 400, 'a body shorter than its Content-Length is refused');
      assert.deepEqual(await alpha.member.blobPresence([ref]), { present: [] });
      assert.equal(await uploads(controller, alpha.tokens.reader), 0);

      // One upload, then builds for two platforms and a resubmit reference it.
      assert.deepEqual(await alpha.member.uploadBlob(ref, Readable.from([source])), ref);
      assert.deepEqual(await alpha.member.blobPresence([ref, { sha256: ref.sha256, size: ref.size + 1 }]), { present: [ref.sha256] });
      const android = await alpha.member.createBuildFromBlob({ spec: buildSpec({ platform: 'android' }), source: ref });
      const ios = await alpha.member.createBuildFromBlob({ spec: buildSpec({ platform: 'ios' }), source: ref });
      const again = await alpha.member.createBuildFromBlob({ spec: buildSpec({ platform: 'android' }), source: ref }, { idempotencyKey: 'submit-0123456789-1' });
      const repeat = await alpha.member.createBuildFromBlob({ spec: buildSpec({ platform: 'android' }), source: ref }, { idempotencyKey: 'submit-0123456789-1' });
      assert.equal(repeat.id, again.id, 'a repeated idempotency key answers the first build');
      for (const b of [android, ios, again]) assert.deepEqual(b.source, ref);
      assert.equal(new Set([android.id, ios.id, again.id]).size, 3);
      assert.equal(await uploads(controller, alpha.tokens.reader), 1, 'the server received the source once');

      // Another org learns nothing and cannot build from alpha's blob.
      assert.deepEqual(await beta.member.blobPresence([ref]), { present: [] });
      await rejectsWith(beta.member.createBuildFromBlob({ spec: buildSpec({ platform: 'android' }), source: ref }), 'SOURCE_NOT_UPLOADED');
      // A read-only token may not upload.
      await rejectsWith(alpha.reader.uploadBlob(ref, Readable.from([source])), 'FORBIDDEN');

      // The worker gets the bytes.
      const worker = await enrollWorker(alpha.admin, { platforms: ['android'] });
      const job = await worker.client.claim(2000);
      assert.ok(job);
      const got = await bytesOf(await worker.client.source(job.attempt.id));
      assert.equal(sha(got), ref.sha256);
    } finally {
      await controller.dispose();
      await s3?.close();
    }
  });
}
