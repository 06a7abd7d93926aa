/**
 * A controller started with BUILDMESH_BLOB_URL=s3://… keeps every source and
 * artifact in the bucket (none in its data dir), serves them back whole and by
 * Range, refuses a tampered artifact with nothing stored, and prints no AWS SDK
 * warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3 } from '../../../test/helpers/s3.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { keepLeased, leasedBuild } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';
import { bytesOf } from '../../../test/helpers/bytes.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('with an s3:// blob URL, sources and artifacts live in the bucket and read back whole and by range', async () => {
  const s3 = await startS3();
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true });
  const keys = async (): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'mesh/' }))).Contents ?? []).map((o) => o.Key!).sort();
  const controller = await startControllerProcess({ env: { ...s3.env, BUILDMESH_BLOB_URL: s3.blobUrl('mesh') } });
  try {
    const { tenant, worker, build, attemptId } = await leasedBuild(controller);
    const stopHeartbeats = keepLeased(worker, attemptId);
    assert.deepEqual(await keys(), [`mesh/sha256/${build.source.sha256.slice(0, 2)}/${build.source.sha256}`], 'the source is in the bucket');
    const source = await bytesOf(await worker.client.source(attemptId));
    assert.equal(sha(source), build.source.sha256);

    const data = randomBytes(3 * 1024 * 1024 + 17);
    await rejectsWith(
      worker.client.uploadArtifact(attemptId, { name: 'app.apk', kind: 'application-archive', size: data.length, sha256: sha(randomBytes(4)), stream: Readable.from([data]) }),
      'CHECKSUM_MISMATCH',
    );
    assert.equal((await keys()).length, 1, 'a refused upload leaves nothing in the bucket');
    const artifact = await worker.client.uploadArtifact(attemptId, { name: 'app.apk', kind: 'application-archive', size: data.length, sha256: sha(data), stream: Readable.from([data]) });
    await worker.client.finish(attemptId, { outcome: 'succeeded' });
    stopHeartbeats();
    assert.ok((await keys()).includes(`mesh/sha256/${sha(data).slice(0, 2)}/${sha(data)}`));

    const full = await tenant.reader.downloadArtifact(build.id, artifact.id);
    assert.ok((await bytesOf(full)).equals(data));
    const part = await tenant.reader.downloadArtifact(build.id, artifact.id, { range: 'bytes=1000-1999' });
    assert.equal(part.status, 206);
    assert.ok((await bytesOf(part)).equals(data.subarray(1000, 2000)));

    const blobDir = join(controller.dataDir, 'blobs', 'sha256');
    assert.ok(!existsSync(blobDir) || readdirSync(blobDir).length === 0, 'nothing in the data dir');
    assert.doesNotMatch(controller.output(), /NodeVersionSupportWarning|AWS SDK/);
  } finally {
    await controller.dispose();
    client.destroy();
    await s3.close();
  }
});
