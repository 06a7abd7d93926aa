/**
 * `buildmesh backup` on a running controller, `buildmesh restore` into an empty
 * dir, and a controller started on the restored dir: the build, its artifact
 * (same sha256) and the project's encrypted secret are all there, and the secret
 * still decrypts for a leasing worker (the key came along). A restore into a
 * dir that already holds a database is refused and changes nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { BuildMeshClient } from '@buildmesh/protocol';
import { startTestController } from '../../../test/helpers/controller.js';
import { runCli } from './helpers/cli.js';
import { bytesOf } from '../../../test/helpers/bytes.js';

const tinySource = () => Readable.from([Buffer.from('1f8b0800000000000003030000000000000000', 'hex')]);

test('a backup taken while the controller runs restores builds, artifacts and secrets', { timeout: 120_000 }, async (t) => {
  const first = await startTestController(t);
  const admin = first.admin;
  await admin.createProject('app');
  await admin.setSecret('app', 'API_KEY', 'sk-live-4c1d9e');
  const build = await admin.createBuild({ project: 'app', platform: 'web', profile: { name: 'p', env: {} } }, tinySource());
  const enroll = new BuildMeshClient({ url: first.url, token: await first.enrollmentToken() });
  const { credential } = await enroll.enroll({ name: 'w', platforms: ['web'], labels: {}, concurrency: 1, version: 't' });
  const worker = new BuildMeshClient({ url: first.url, token: credential });
  const job = await worker.claim(1000);
  assert.equal(job?.build.id, build.id);
  const content = Buffer.from('the app bytes\n');
  const sha256 = createHash('sha256').update(content).digest('hex');
  await worker.uploadArtifact(job.attempt.id, { name: 'app.tar.gz', kind: 'application-archive', size: content.length, sha256, stream: Readable.from([content]) });
  await worker.finish(job.attempt.id, { outcome: 'succeeded' });

  const work = mkdtempSync(join(tmpdir(), 'buildmesh-backup-test-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const archive = join(work, 'backup.tar.gz');
  const backup = await runCli(['backup', '--data-dir', first.dataDir, '--output', archive, '--json']);
  assert.equal(backup.code, 0, backup.stderr);
  const summary = JSON.parse(backup.stdout) as { blobs: number; includesKey: boolean };
  assert.equal(summary.includesKey, true);
  assert.ok(summary.blobs >= 2, 'source and artifact blobs');

  // Refused: the running controller's own dir already holds a database.
  const refused = await runCli(['restore', archive, '--data-dir', first.dataDir, '--json']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout, /RESTORE_FAILED/);

  const restoredDir = join(work, 'restored');
  const restore = await runCli(['restore', archive, '--data-dir', restoredDir, '--json']);
  assert.equal(restore.code, 0, restore.stderr);
  assert.deepEqual(readdirSync(restoredDir).sort(), ['blobs', 'controller.db', 'encryption.key']);

  // The same BUILDMESH_ADMIN_TOKEN as the first: a new one would replace (revoke) the restored instance admin token.
  const second = await startTestController(t, { env: { BUILDMESH_DATA_DIR: restoredDir, BUILDMESH_ADMIN_TOKEN: first.adminToken } });
  // The first controller's admin token is in the restored database.
  const restoredAdmin = new BuildMeshClient({ url: second.url, token: first.adminToken });
  const got = await restoredAdmin.getBuild(build.id);
  assert.equal(got.status, 'succeeded');
  const [artifact] = (await restoredAdmin.listArtifacts(build.id)).artifacts;
  const bytes = await bytesOf(await restoredAdmin.downloadArtifact(build.id, artifact!.id));
  assert.equal(createHash('sha256').update(bytes).digest('hex'), sha256);
  assert.deepEqual((await restoredAdmin.listSecrets('app')).secrets.map((s) => s.name), ['API_KEY']);

  // The restored key opens the restored secret for the worker that leases the next build.
  await restoredAdmin.createBuild({ project: 'app', platform: 'web', profile: { name: 'p', env: {} } }, tinySource());
  const worker2 = new BuildMeshClient({ url: second.url, token: credential });
  const job2 = await worker2.claim(2000);
  assert.ok(job2, 'the restored worker identity claims the new build');
  assert.equal((await worker2.attemptSecrets(job2.attempt.id)).secrets.API_KEY, 'sk-live-4c1d9e');
  assert.equal(existsSync(join(first.dataDir, 'backup-snapshot')), false, 'no snapshot left behind in the live data dir');
});
