/**
 * A real S3 API for tests: s3rver on loopback with one bucket, its files in a
 * temp dir. s3rver accepts the access key S3RVER / S3RVER; the env it returns
 * (also applied to this process) lets the AWS credential chain find them.
 * Known gaps (see /work/shared/design/test-services.md): it does not check that a
 * signature belongs to the key it is used on, and HEAD returns no checksum.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** BUILDMESH_BLOB_URL for this bucket under `prefix`. */
  blobUrl(prefix?: string): string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export const S3_TEST_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export async function startS3(bucket = 'buildmesh-test'): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'bm-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  Object.assign(process.env, S3_TEST_ENV);
  return {
    endpoint,
    bucket,
    blobUrl: (prefix = 'blobs') => `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=1`,
    env: { ...S3_TEST_ENV },
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
