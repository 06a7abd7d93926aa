import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runJson, spawnCli, waitForExit, waitForOutput } from './helpers/cli.js';
import { makeFixtureProject, SLOW_LINES } from './helpers/fixture-project.js';
import { startMesh } from './helpers/mesh.js';

void test('logs -f shows every line once and in order across a controller kill -9 and restart', async (t) => {
  const mesh = await startMesh(t, { worker: true });
  const project = makeFixtureProject(t);

  const submitted = await runJson<{ builds: Array<{ build: { id: string } }> }>(
    ['build', project, '--platform', 'web', '--profile', 'slow', '--no-wait', '--json'],
    { env: mesh.env },
  );
  const id = submitted.builds[0]!.build.id;

  const follower = spawnCli(['logs', '-f', id], { env: mesh.env });
  t.after(() => follower.kill('SIGKILL'));
  await waitForOutput(follower, /^line-5$/m, 60_000);

  await mesh.killController();
  await new Promise((r) => setTimeout(r, 1000)); // the worker keeps printing lines meanwhile
  await mesh.startController();

  const { code } = await waitForExit(follower, 90_000);
  assert.equal(code, 0, `stdout:\n${follower.output.stdout}\nstderr:\n${follower.output.stderr}`);
  const lines = follower.output.stdout.split('\n').filter((l) => /^line-\d+$/.test(l));
  assert.deepEqual(lines, Array.from({ length: SLOW_LINES }, (_, i) => `line-${i + 1}`));
  assert.match(follower.output.stderr, new RegExp(`build ${id} succeeded`));
});
