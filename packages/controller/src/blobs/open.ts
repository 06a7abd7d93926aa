/**
 * Picks the blob backend: BUILDMESH_BLOB_URL (s3://…) selects S3, else the data
 * dir's blobs/. The S3 module (and the AWS SDK) loads only when it is used.
 */
import { join } from 'node:path';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs.js';

export async function openBlobStore(options: { dataDir: string; blobUrl: string | null; bodyIdleTimeoutMs: number }, shared: boolean): Promise<BlobStore> {
  // Uploads in progress on another replica keep their temp data: only what is untouched this long is a dead process's.
  const staleAfterMs = Math.max(10 * 60_000, 2 * options.bodyIdleTimeoutMs);
  if (options.blobUrl) {
    const { S3BlobStore } = await import('./s3.js');
    return S3BlobStore.open(options.blobUrl, { staleAfterMs });
  }
  return FsBlobStore.open(join(options.dataDir, 'blobs'), shared ? { sharedStaleAfterMs: staleAfterMs } : {});
}
