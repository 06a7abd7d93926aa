/**
 * s3_upload_vs_direct: a source sent the CLI's way with an S3 blob store (presigned PUT straight to the
 * bucket, then the controller's verification read, until the blob is present) as a throughput ratio to a
 * plain @aws-sdk/lib-storage upload of the same file to the same s3rver, in the same run.
 * BENCH_S3_BYTES sets the size (default 2 GiB).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Upload } from '@aws-sdk/lib-storage';
import { parseS3Url, s3Client } from '../packages/controller/src/blobs/s3.js';
import { startS3 } from '../test/helpers/s3.js';
import { startController } from './support/processes.js';
import { patternStream } from './support/sources.js';

export async function benchS3Transfer(size = Number(process.env.BENCH_S3_BYTES ?? 2 * 1024 ** 3)): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-bench-s3-'));
  const s3 = await startS3('bench-bucket');
  const controller = await startController({ ...s3.env, BUILDMESH_BLOB_URL: s3.blobUrl('mesh'), BUILDMESH_MAX_SOURCE_BYTES: '4GiB' });
  const sdk = s3Client(parseS3Url(s3.blobUrl('direct')));
  try {
    const file = join(dir, 'source.bin');
    const hash = createHash('sha256');
    await pipeline(patternStream(size), async function* (chunks) {
      for await (const chunk of chunks as AsyncIterable<Buffer>) {
        hash.update(chunk);
        yield chunk;
      }
    }, createWriteStream(file));
    const ref = { sha256: hash.digest('hex'), size };

    let t0 = performance.now();
    await new Upload({ client: sdk, params: { Bucket: s3.bucket, Key: 'direct/source.bin', Body: createReadStream(file) }, partSize: 16 * 1024 * 1024, queueSize: 2 }).done();
    const directSeconds = (performance.now() - t0) / 1000;

    t0 = performance.now();
    await controller.admin.sendBlob(ref, () => createReadStream(file));
    const presignedSeconds = (performance.now() - t0) / 1000;
    return {
      s3_upload_vs_direct: directSeconds / presignedSeconds,
      s3_direct_mb_per_s: size / 1024 / 1024 / directSeconds,
      s3_presigned_mb_per_s: size / 1024 / 1024 / presignedSeconds,
    };
  } finally {
    sdk.destroy();
    await controller.stop();
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
