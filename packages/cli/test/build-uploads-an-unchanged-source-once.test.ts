/**
 * `build --platform all` packs and uploads the source once for every platform, and building the
 * unchanged project again uploads nothing: the controller counts one blob upload
 * (buildmesh_blob_uploads_total) for three builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, runJson } from './helpers/cli.js';
import { startMesh } from './helpers/mesh.js';
import { makeFixtureProject } from './helpers/fixture-project.js';

void test('build uploads an unchanged source once across platforms and resubmits', async (t) => {
  const mesh = await startMesh(t); // no worker: the builds wait in the queue
  const project = makeFixtureProject(t, {
    'app.json': JSON.stringify({ expo: { name: 'Fixture App', slug: 'fixture-app', platforms: ['web', 'android'] } }),
  });
  const uploads = async (): Promise<number> => {
    const text = await (await fetch(`${mesh.url}/metrics`, { headers: { authorization: `Bearer ${mesh.env.BUILDMESH_TOKEN}` } })).text();
    return Number(/^buildmesh_blob_uploads_total (\d+)/m.exec(text)?.[1] ?? NaN);
  };
  const first = await runCli(['build', '--platform', 'all', '--profile', 'test', '--no-wait'], { env: mesh.env, cwd: project });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(await uploads(), 1, `one upload for two platforms:\n${first.stderr}`);
  const again = await runCli(['build', '--platform', 'web', '--profile', 'test', '--no-wait'], { env: mesh.env, cwd: project });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout + again.stderr, /already on the controller, nothing to upload/);
  assert.equal(await uploads(), 1, 'the unchanged project was not uploaded again');
  const { builds } = await runJson<{ builds: Array<{ platform: string; source: { sha256: string } }> }>(['list', '--json'], { env: mesh.env });
  assert.equal(builds.length, 3);
  assert.equal(new Set(builds.map((b) => b.source.sha256)).size, 1, 'every build names the same source');
});
