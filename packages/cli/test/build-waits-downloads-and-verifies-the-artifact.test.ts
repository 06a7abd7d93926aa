import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runJson } from './helpers/cli.js';
import { ARTIFACT_TEXT, makeFixtureProject } from './helpers/fixture-project.js';
import { startMesh } from './helpers/mesh.js';

interface BuildJson {
  ok: boolean;
  exitCode: number;
  builds: Array<{
    build: { id: string; status: string; platform: string; project: string; error: { code: string } | null };
    buildUrl: string;
    artifacts: Array<{ name: string; path: string; size: number; sha256: string; verified: boolean }>;
  }>;
}

void test('build waits for the build, downloads the artifact and verifies its sha256; a failing build exits non-zero with its code', async (t) => {
  const mesh = await startMesh(t, { worker: true });
  const project = makeFixtureProject(t);
  const output = join(mesh.root, 'artifacts');

  // A profile that does not exist is refused before anything is uploaded.
  const before = await runJson<{ builds: unknown[] }>(['list', '--json'], { env: mesh.env });
  const badProfile = await runCli(['build', project, '--platform', 'web', '--profile', 'nope'], { env: mesh.env });
  assert.notEqual(badProfile.code, 0);
  assert.match(badProfile.stderr, /error PROFILE_NOT_FOUND: .*Available profiles: test, fail, slow, long/);
  assert.equal((await runJson<{ builds: unknown[] }>(['list', '--json'], { env: mesh.env })).builds.length, before.builds.length);

  // Success: exit 0, the artifact is in --output and its sha256 matches the file the step wrote.
  const ok = await runCli(['build', project, '--platform', 'web', '--profile', 'test', '--output', output, '--json'], {
    env: mesh.env,
    timeoutMs: 120_000,
  });
  assert.equal(ok.code, 0, `stdout:\n${ok.stdout}\nstderr:\n${ok.stderr}`);
  const report = JSON.parse(ok.stdout) as BuildJson;
  assert.equal(report.ok, true);
  assert.equal(report.builds.length, 1);
  const [only] = report.builds;
  assert.equal(only!.build.status, 'succeeded');
  assert.equal(only!.build.project, 'fixture-app');
  assert.equal(only!.buildUrl, `${mesh.url}/builds/${only!.build.id}`);
  const page = await fetch(only!.buildUrl);
  assert.equal(page.status, 200, 'the build link opens the dashboard page of the build');
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  const artifact = only!.artifacts.find((a) => a.name === 'app.txt');
  assert.ok(artifact, `app.txt among ${JSON.stringify(only!.artifacts)}`);
  assert.equal(artifact.path, join(output, 'app.txt'));
  assert.equal(artifact.verified, true);
  const bytes = readFileSync(artifact.path);
  assert.equal(bytes.toString(), ARTIFACT_TEXT);
  assert.equal(artifact.sha256, createHash('sha256').update(ARTIFACT_TEXT).digest('hex'));
  assert.equal(artifact.size, bytes.length);
  assert.equal(existsSync(`${artifact.path}.part`), false);
  // The human log went to stderr under --json, with the step's output and phase headers.
  assert.match(ok.stderr, /wrote out\/app\.txt/);
  assert.match(ok.stderr, /== .*: success/);

  // Failure: non-zero exit, and the build's error code on stderr.
  const failed = await runCli(['build', project, '--platform', 'web', '--profile', 'fail'], { env: mesh.env, timeoutMs: 120_000 });
  assert.equal(failed.code, 1, `stdout:\n${failed.stdout}\nstderr:\n${failed.stderr}`);
  const id = /Build (bld_[0-9a-z]{26})/.exec(failed.stdout)?.[1];
  assert.ok(id, failed.stdout);
  assert.match(failed.stdout, /about to fail/);
  const status = await runJson<{ build: { status: string; error: { code: string } } }>(['status', id, '--json'], { env: mesh.env });
  assert.equal(status.build.status, 'failed');
  assert.ok(status.build.error.code);
  assert.match(failed.stderr, new RegExp(`error ${status.build.error.code}: build ${id} failed`));
});
