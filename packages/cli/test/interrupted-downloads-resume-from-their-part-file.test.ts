/**
 * `buildmesh download` (and `build`'s downloads) resume a cut-off transfer: the bytes of the `.part` file
 * are hashed and only the rest is asked for, with a range, from the real controller; a `.part` that was
 * not this artifact's ends in one whole download, never in a wrong file. The partial file is hidden
 * (`.<name>.part`): an artifact named `<name>.part` is neither taken for it nor removed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BuildMeshClient, type Artifact, type StreamedAnswer } from '@buildmesh/protocol';
import { downloadArtifact, downloadBuildArtifacts } from '../src/download.js';
import { startTestController } from '../../../test/helpers/controller.js';
import { makeFixtureProject, submitBuild } from '../../../test/helpers/builds.js';

/** The real client, noting the range of each download it makes. */
class NotingClient extends BuildMeshClient {
  readonly ranges: Array<string | undefined> = [];
  override downloadArtifact(buildId: string, artifactId: string, options: { range?: string; signal?: AbortSignal } = {}): Promise<StreamedAnswer> {
    this.ranges.push(options.range);
    return super.downloadArtifact(buildId, artifactId, options);
  }
}

test('a download resumes from its .part file with a range, and a foreign .part ends in one whole download', { timeout: 120_000 }, async (t) => {
  const controller = await startTestController(t);
  const project = makeFixtureProject(t, ['true']);
  const build = await submitBuild(controller.admin, project);
  const { secret } = await controller.admin.createEnrollmentToken('resume');
  const enrolled = await controller.admin.withToken(secret).enroll({ name: 'w', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
  const worker = controller.admin.withToken(enrolled.credential);
  const job = await worker.claim(5000);
  assert.equal(job?.build.id, build.id);
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const uploaded = await worker.uploadArtifact(job!.attempt.id, { name: 'app.bin', kind: 'other', size: data.length, sha256, stream: Readable.from([data]) });
  await worker.finish(job!.attempt.id, { outcome: 'succeeded' });
  const artifact = { ...uploaded, buildId: build.id } as Artifact;

  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-resume-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const client = new NotingClient({ url: controller.url, token: controller.adminToken });
  const file = join(dir, 'app.bin');
  const part = join(dir, '.app.bin.part');

  // Cut off after 1 MiB + 5 bytes: only the rest is asked for.
  const cut = 1024 * 1024 + 5;
  writeFileSync(part, data.subarray(0, cut));
  const resumed = await downloadArtifact(client, artifact, dir);
  assert.deepEqual(client.ranges, [`bytes=${cut}-`]);
  assert.equal(resumed.verified, true);
  assert.ok(readFileSync(file).equals(data));
  assert.equal(existsSync(part), false);

  // A .part of other bytes: the resumed file fails its sha256, is removed, and the artifact comes whole.
  rmSync(file);
  client.ranges.length = 0;
  writeFileSync(part, randomBytes(cut));
  await downloadArtifact(client, artifact, dir);
  assert.deepEqual(client.ranges, [`bytes=${cut}-`, undefined]);
  assert.ok(readFileSync(file).equals(data));
  assert.equal(existsSync(part), false);
});

test('an artifact named like another one’s partial file is neither resumed from nor removed', { timeout: 120_000 }, async (t) => {
  const controller = await startTestController(t);
  const build = await submitBuild(controller.admin, makeFixtureProject(t, ['true']));
  const { secret } = await controller.admin.createEnrollmentToken('collide');
  const enrolled = await controller.admin.withToken(secret).enroll({ name: 'w', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
  const worker = controller.admin.withToken(enrolled.credential);
  const job = await worker.claim(5000);
  const files = { 'app.bin.part': randomBytes(1000), 'app.bin': randomBytes(5000) };
  for (const [name, bytes] of Object.entries(files)) {
    await worker.uploadArtifact(job!.attempt.id, { name, kind: 'other', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), stream: Readable.from([bytes]) });
  }
  await worker.finish(job!.attempt.id, { outcome: 'succeeded' });
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-collide-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // `app.bin.part` first: once on disk, it is an artifact, not app.bin's partial file.
  const { artifacts } = await controller.admin.listArtifacts(build.id);
  for (const name of ['app.bin.part', 'app.bin']) await downloadArtifact(controller.admin, { ...artifacts.find((a) => a.name === name)!, buildId: build.id }, dir);
  for (const [name, bytes] of Object.entries(files)) assert.ok(readFileSync(join(dir, name)).equals(bytes), name);
  // …and a whole build's download takes both.
  const again = await downloadBuildArtifacts(controller.admin, build.id, dir);
  assert.deepEqual(again.map((d) => [d.name, d.alreadyPresent]).sort(), [['app.bin', true], ['app.bin.part', true]]);
});
