/**
 * `buildmesh migrate-store --blobs-to s3://…`: an embedded install's blobs land in
 * the bucket, verified, and a replica on PostgreSQL with that BUILDMESH_BLOB_URL
 * serves the moved artifact byte for byte; a second run copies nothing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { BuildMeshClient } from '@buildmesh/protocol';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { runCli, cleanEnv } from '../../packages/cli/test/helpers/cli.js';
import { startTestController } from '../helpers/controller.js';
import { createTestDatabase, pgSkip } from '../helpers/postgres.js';
import { startS3 } from '../helpers/s3.js';
import { bytesOf } from '../helpers/bytes.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('migrate-store copies the blobs into an S3 bucket that replicas then serve from', { skip: pgSkip, timeout: 180_000 }, async (t) => {
  const embedded = await startTestController(t);
  const admin = embedded.admin;
  const enrollment = await admin.createEnrollmentToken('mover');
  const enrolled = await admin.withToken(enrollment.secret).enroll({ name: 'mover', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
  const worker = admin.withToken(enrolled.credential);
  const build = await admin.createBuild(buildSpec({ project: 'app', platform: 'web' }), streamOf(await tinyTarGz('to-s3')));
  const job = await worker.claim(5_000);
  const artifactBytes = randomBytes(200_000);
  await worker.uploadArtifact(job!.attempt.id, { name: 'app.zip', kind: 'application-archive', size: artifactBytes.length, sha256: sha256(artifactBytes), stream: Readable.from([artifactBytes]) });
  await worker.finish(job!.attempt.id, { outcome: 'succeeded' });
  await embedded.crash();

  const s3 = await startS3();
  t.after(() => s3.close());
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const env = cleanEnv({ BUILDMESH_DATABASE_URL: database.url, ...s3.env });
  const args = ['migrate-store', '--from', embedded.dataDir, '--blobs-to', s3.blobUrl('moved'), '--json'];
  const first = await runCli(args, { env });
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.doesNotMatch(first.stderr, /NodeVersionSupportWarning/);
  const report = JSON.parse(first.stdout) as { blobs: { files: number; copied: number } };
  assert.equal(report.blobs.copied, 2, 'the source and the artifact');
  const again = await runCli(args, { env });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.equal((JSON.parse(again.stdout) as { blobs: { copied: number } }).blobs.copied, 0, 'nothing is copied twice');

  const replica = await startTestController(t, {
    env: {
      ...s3.env,
      BUILDMESH_DATABASE_URL: database.url,
      BUILDMESH_BLOB_URL: s3.blobUrl('moved'),
      BUILDMESH_ENCRYPTION_KEY_FILE: join(embedded.dataDir, 'encryption.key'),
      BUILDMESH_ADMIN_TOKEN: embedded.adminToken,
    },
  });
  const moved = new BuildMeshClient({ url: replica.url, token: embedded.adminToken, timeoutMs: 10_000 });
  const [artifact] = (await moved.listArtifacts(build.id)).artifacts;
  const download = await bytesOf(await moved.downloadArtifact(build.id, artifact!.id));
  assert.equal(sha256(download), sha256(artifactBytes), 'the artifact reads back from the bucket');
});
