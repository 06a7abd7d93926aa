/**
 * `buildmesh build` waiting on a build while the controller is killed (-9) and started again:
 * it says "connection lost — retrying (n)" while the controller is away, then "connection
 * restored", shows every log line once, downloads the verified artifact and exits 0, and the
 * controller holds exactly one build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { customConfigYaml } from '../../../test/helpers/builds.js';
import { runJson, spawnCli, waitForExit, waitForOutput } from './helpers/cli.js';
import { ARTIFACT_TEXT, makeFixtureProject } from './helpers/fixture-project.js';
import { startMesh } from './helpers/mesh.js';

const LINES = 50;

void test('build rides through a controller kill -9 with a retry notice, then downloads the artifact', async (t) => {
  const mesh = await startMesh(t, { worker: true });
  const project = makeFixtureProject(t, {
    'eas.json': JSON.stringify({ build: { slowart: { config: 'slowart.yml', buildArtifactPaths: ['out/app.txt'] } } }),
    '.eas/build/slowart.yml': customConfigYaml(
      [
        { name: 'count slowly', command: `i=1; while [ $i -le ${LINES} ]; do echo "line-$i"; i=$((i+1)); sleep 0.1; done` },
        { name: 'write the artifact', command: `mkdir -p out && printf '%s' '${ARTIFACT_TEXT}' > out/app.txt` },
      ],
      'slowart',
    ),
  });
  const output = join(mesh.root, 'artifacts');
  const cli = spawnCli(['build', project, '--platform', 'web', '--profile', 'slowart', '--output', output], { env: mesh.env });
  t.after(() => cli.kill('SIGKILL'));
  await waitForOutput(cli, /^line-5$/m, 60_000);

  await mesh.killController();
  await new Promise((r) => setTimeout(r, 1500));
  await mesh.startController();

  const { code } = await waitForExit(cli, 120_000);
  const said = `stdout:\n${cli.output.stdout}\nstderr:\n${cli.output.stderr}`;
  assert.equal(code, 0, said);
  assert.match(cli.output.stderr, /connection lost — retrying \(1\)/, said);
  assert.match(cli.output.stderr, /connection restored/, said);
  const lines = cli.output.stdout.split('\n').filter((l) => /^line-\d+$/.test(l));
  assert.deepEqual(lines, Array.from({ length: LINES }, (_, i) => `line-${i + 1}`));
  assert.equal(readFileSync(join(output, 'app.txt'), 'utf8'), ARTIFACT_TEXT);
  const listed = await runJson<{ builds: unknown[] }>(['list', '--json'], { env: mesh.env });
  assert.equal(listed.builds.length, 1);
});
