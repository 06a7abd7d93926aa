import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3BlobStore } from '../src/blobs/s3.js';
import { startS3 } from '../../../test/helpers/s3.js';
import { runBlobConformance } from './blobs/conformance.js';

runBlobConformance('S3 (s3rver)', async () => {
  const s3 = await startS3();
  const store = await S3BlobStore.open(s3.blobUrl('conformance/blobs'));
  return {
    store,
    leftovers: async () => {
      const objects = await store.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'conformance/blobs/tmp/' }));
      const uploads = await store.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket })).catch(() => ({ Uploads: [] }));
      return (objects.KeyCount ?? 0) + (uploads.Uploads?.length ?? 0);
    },
    close: async () => {
      store.client.destroy();
      await s3.close();
    },
  };
});
