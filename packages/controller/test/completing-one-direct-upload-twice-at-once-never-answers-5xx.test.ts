/**
 * Attacker review: S3BlobStore.adoptUpload stats the incoming key, then copies it to a snapshot; a
 * completion of the same upload id that finished in between has deleted the key (its finally), so the
 * CopyObject fails with NoSuchKey and the controller answers 500 INTERNAL (a client mistake, or a client
 * retrying a completion whose answer it lost, must get 201 or a 4xx). Both the stored and the new-blob
 * paths are affected. What must hold: concurrent completions of one upload id answer 201 or 4xx, never 5xx.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ApiError } from '@buildmesh/protocol';
import { startS3 } from '../../../test/helpers/s3.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('completing one direct upload many times at once answers 201 or 4xx, never 5xx', { timeout: 120_000 }, async (t) => {
  const s3 = await startS3();
  t.after(() => s3.close());
  const controller = await startControllerProcess({ env: { ...s3.env, BUILDMESH_BLOB_URL: s3.blobUrl('twice'), BUILDMESH_LOG_LEVEL: 'fatal' } });
  t.after(() => controller.dispose());
  const beta = await createTenant(controller, 'beta');
  const size = 2 * 1024 * 1024;
  const statuses: number[] = [];
  for (let round = 0; round < 2; round++) {
    const bytes = randomBytes(size);
    const ticket = await beta.member.startBlobUpload({ sha256: sha(bytes), size });
    if (ticket.mode !== 'direct') throw new Error('expected a direct upload');
    const put = await fetch(ticket.url, { method: 'PUT', body: bytes, headers: { 'content-length': String(size) } });
    assert.equal(put.status, 200);
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 3));
        return beta.member.completeBlobUpload(ticket.uploadId, size).then(
          () => 201,
          (err: unknown) => (err instanceof ApiError ? err.status : 0),
        );
      }),
    );
    statuses.push(...outcomes);
  }
  assert.ok(statuses.includes(201), 'some completion succeeds');
  assert.deepEqual(statuses.filter((s) => s >= 500 || s === 0), [], 'no completion answers 5xx');
});
