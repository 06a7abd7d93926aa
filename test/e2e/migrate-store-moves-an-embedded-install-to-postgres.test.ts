/**
 * `buildmesh migrate-store` round trip: an embedded install with a build, its log,
 * an artifact and a project secret moves to PostgreSQL (and its blobs to a new
 * directory); a replica on the copy serves everything identically — the same
 * log lines, the artifact's sha256, the secret's value delivered to a new build,
 * the same admin token and worker credential. A second run resumes (copies
 * nothing twice); a target that holds other data is refused.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import pg from 'pg';
import { BuildMeshClient } from '@buildmesh/protocol';
import { buildSpec, streamOf, tinyTarGz } from '../../packages/controller/test/helpers/fixtures.js';
import { runCli, cleanEnv } from '../../packages/cli/test/helpers/cli.js';
import { startTestController } from '../helpers/controller.js';
import { createTestDatabase, pgSkip } from '../helpers/postgres.js';
import { readAllLogs } from '../helpers/builds.js';
import { bytesOf } from '../helpers/bytes.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('migrate-store moves builds, logs, artifacts and secrets to PostgreSQL, verified and resumable', { skip: pgSkip, timeout: 180_000 }, async (t) => {
  // ── an embedded install with history ──
  const embedded = await startTestController(t);
  const admin = embedded.admin;
  await admin.createProject('app');
  await admin.setSecret('app', 'API_KEY', 'secret-value-Ω-42');
  const enrollment = await admin.createEnrollmentToken('mover');
  const enrolled = await admin.withToken(enrollment.secret).enroll({ name: 'mover', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
  const worker = admin.withToken(enrolled.credential);
  const build = await admin.createBuild(buildSpec({ project: 'app', platform: 'web' }), streamOf(await tinyTarGz('moved')));
  const job = await worker.claim(5_000);
  assert.equal(job?.build.id, build.id);
  const attemptId = job!.attempt.id;
  assert.equal((await worker.attemptSecrets(attemptId)).secrets.API_KEY, 'secret-value-Ω-42');
  await worker.sendLogs(attemptId, { seq: 1, lines: [{ t: 1, stream: 'stdout', text: 'first line' }, { t: 2, stream: 'stderr', text: 'ünïcödé line' }] });
  await worker.sendLogs(attemptId, { seq: 2, lines: [{ t: 3, stream: 'stdout', text: 'last line' }] });
  const artifactBytes = randomBytes(300_000);
  await worker.uploadArtifact(attemptId, { name: 'app.zip', kind: 'application-archive', size: artifactBytes.length, sha256: sha256(artifactBytes), stream: Readable.from([artifactBytes]) });
  await worker.finish(attemptId, { outcome: 'succeeded' });
  const logsBefore = (await readAllLogs(admin, build.id)).map((e) => `${e.attempt}:${e.stream}:${e.text}`);
  await embedded.crash(); // the embedded controller is stopped (hard) before the move

  // ── the move ──
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const scaleOut = mkdtempSync(join(tmpdir(), 'buildmesh-moved-'));
  t.after(() => rmSync(scaleOut, { recursive: true, force: true }));
  const env = cleanEnv({ BUILDMESH_DATABASE_URL: database.url });
  const args = ['migrate-store', '--from', embedded.dataDir, '--blobs-to', join(scaleOut, 'blobs'), '--json'];
  const first = await runCli(args, { env });
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const report = JSON.parse(first.stdout) as { resumed: boolean; tables: Array<{ table: string; rows: number }>; blobs: { files: number; copied: number } };
  assert.equal(report.resumed, false);
  const rows = Object.fromEntries(report.tables.map((x) => [x.table, x.rows]));
  assert.equal(rows.builds, 1);
  assert.equal(rows.log_batches, 2);
  assert.equal(rows.secrets, 1);
  assert.equal(rows.artifacts, 1);
  assert.ok(report.blobs.copied >= 2, 'the source and the artifact blobs');

  const again = await runCli(args, { env });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const second = JSON.parse(again.stdout) as { resumed: boolean; blobs: { copied: number } };
  assert.equal(second.resumed, true, 'a second run continues its own copy');
  assert.equal(second.blobs.copied, 0, 'nothing is copied twice');

  // A target holding something else is refused.
  const other = await createTestDatabase();
  t.after(() => other.drop());
  const otherEnv = cleanEnv({ BUILDMESH_DATABASE_URL: other.url });
  assert.equal((await runCli(['migrate', '--json'], { env: otherEnv })).code, 0);
  const c = new pg.Client({ connectionString: other.url });
  await c.connect();
  await c.query(`insert into orgs (id, name, created_at) values ('org_other', 'someone-else', '2026-01-01T00:00:00.000Z')`);
  await c.end();
  const refused = await runCli(['migrate-store', '--from', embedded.dataDir, '--json'], { env: otherEnv });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout + refused.stderr, /not empty/);

  // ── a replica on the copy serves the same history ──
  const replica = await startTestController(t, {
    env: {
      BUILDMESH_DATABASE_URL: database.url,
      BUILDMESH_ENCRYPTION_KEY_FILE: join(embedded.dataDir, 'encryption.key'),
      BUILDMESH_DATA_DIR: scaleOut,
      BUILDMESH_ADMIN_TOKEN: embedded.adminToken,
    },
  });
  const moved = new BuildMeshClient({ url: replica.url, token: embedded.adminToken, timeoutMs: 10_000 });
  assert.equal((await moved.health()).store, 'postgres');
  const got = await moved.getBuild(build.id);
  assert.equal(got.status, 'succeeded');
  assert.deepEqual((await readAllLogs(moved, build.id)).map((e) => `${e.attempt}:${e.stream}:${e.text}`), logsBefore, 'the same log lines');
  const [artifact] = (await moved.listArtifacts(build.id)).artifacts;
  const download = await bytesOf(await moved.downloadArtifact(build.id, artifact!.id));
  assert.equal(sha256(download), sha256(artifactBytes), 'the artifact reads back byte for byte');

  // The same worker credential claims a new build there, and gets the same secret value.
  const movedWorker = new BuildMeshClient({ url: replica.url, token: enrolled.credential, timeoutMs: 10_000 });
  const next = await moved.createBuild(buildSpec({ project: 'app', platform: 'web' }), streamOf(await tinyTarGz('after-move')));
  const nextJob = await movedWorker.claim(5_000);
  assert.equal(nextJob?.build.id, next.id);
  assert.equal((await movedWorker.attemptSecrets(nextJob!.attempt.id)).secrets.API_KEY, 'secret-value-Ω-42', 'the secret decrypts with the moved key');
});
