/**
 * `up --port 0` picks a free port each time. Stopped and started again on the same data dir, it
 * is the same instance: the same local worker (its identity is not tied to the old port), the
 * saved login follows the new URL, and builds run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCli, waitForExit, waitForJsonLine } from './helpers/cli.js';

interface UpReport {
  url: string;
  workerId: string;
  token: string | null;
}

void test('up --port 0, stop, up --port 0 again: same worker, the login follows, builds run', { timeout: 4 * 60_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'buildmesh-up-port0-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_DATA_HOME: join(root, 'share') };
  const start = async () => {
    const up = spawnCli(['up', '--json', '--port', '0', '--data-dir', join(root, 'data'), '--sandbox', 'none'], { env, cwd: root });
    t.after(() => up.kill('SIGKILL'));
    return { up, report: await waitForJsonLine<UpReport>(up, (v) => typeof v.workerId === 'string', 90_000) };
  };
  const first = await start();
  first.up.kill('SIGTERM');
  assert.equal((await waitForExit(first.up, 30_000)).code, 0, first.up.output.stderr);

  const second = await start();
  assert.equal(second.report.workerId, first.report.workerId, `the same worker: ${second.up.output.stderr}`);
  assert.equal(second.report.token, null, 'the same instance: no new admin token');

  const app = join(root, 'app');
  mkdirSync(join(app, '.eas', 'build'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'port0-app', version: '1.0.0', private: true }));
  writeFileSync(join(app, 'eas.json'), JSON.stringify({ build: { ci: { config: 'ci.yml' } } }));
  writeFileSync(join(app, '.eas', 'build', 'ci.yml'), 'build:\n  steps:\n    - run: echo "built on the restarted instance"\n');
  const build = await runCli(['build', app, '--platform', 'web', '--profile', 'ci', '--no-download'], { env, timeoutMs: 120_000 });
  assert.equal(build.code, 0, `${build.stdout}\n${build.stderr}`);
  assert.match(build.stdout + build.stderr, /built on the restarted instance/);
  second.up.kill('SIGTERM');
  await waitForExit(second.up, 30_000);
});
