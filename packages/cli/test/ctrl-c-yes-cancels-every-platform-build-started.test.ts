/**
 * At a real terminal (a pty through util-linux `script`): `build` without --platform asks for one;
 * with "all" it submits one build per platform the project targets, and Ctrl-C then "y" cancels every
 * build it started, not only the one being followed. Skips without `script` (fails under CI).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { BIN, cleanEnv, runJson } from './helpers/cli.js';
import { startMesh } from './helpers/mesh.js';
import { makeFixtureProject } from './helpers/fixture-project.js';
import { skipUnless } from '../../../test/helpers/system-services.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
const skip = skipUnless(hasScript, 'util-linux `script` (a pty) is not installed');

void test('Ctrl-C then "y" cancels every platform build that --platform all started', { skip }, async (t) => {
  const mesh = await startMesh(t); // no worker: both builds wait in the queue
  const project = makeFixtureProject(t, {
    'app.json': JSON.stringify({ expo: { name: 'Fixture App', slug: 'fixture-app', platforms: ['web', 'android'] } }),
  });
  const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  // `exec`: script runs the command through $SHELL -c; dash (a CI's /bin/sh) would stay the pty's
  // foreground parent, die of the Ctrl-C itself and make script report 130 whatever the CLI exits with.
  const command = `exec ${[process.execPath, BIN, 'build', '--profile', 'long'].map(shellQuote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: project, env: cleanEnv({ ...mesh.env, NO_COLOR: '1', COLUMNS: '200' }), stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const waitFor = async (pattern: RegExp, what: string) => {
    for (let i = 0; i < 600 && !pattern.test(screen); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(screen, pattern, `waiting for ${what}; the terminal showed:\n${screen}`);
  };

  await waitFor(/Platform \(android, web, all\) \[android\]: /, 'the platform question');
  child.stdin.write('all\r');
  await waitFor(/Build bld_\w+ \(web\) queued/, 'both builds submitted');
  await waitFor(/⏳|queued|waiting/i, 'the queue line');
  await new Promise((r) => setTimeout(r, 500));
  child.stdin.write('\x03');
  await waitFor(/Cancel all 2 builds this command started \(android bld_\w+, web bld_\w+\)/, 'the cancel-all question');
  child.stdin.write('y');
  const code = await exited;
  assert.equal(code, 3, `exit status 3 (canceled); the terminal showed:\n${screen}`);

  const { builds } = await runJson<{ builds: Array<{ platform: string; status: string }> }>(['list', '--json'], { env: mesh.env });
  assert.deepEqual(builds.map((b) => `${b.platform}:${b.status}`).sort(), ['android:canceled', 'web:canceled']);
});
