import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCli, waitForExit, waitForJsonLine } from './helpers/cli.js';
import { makeFixtureProject } from './helpers/fixture-project.js';
import { freePort } from './helpers/mesh.js';
import { bwrapSkipper } from '../../../test/helpers/bwrap.js';

interface UpReport {
  url: string;
  dataDir: string;
  workerId: string;
  executor: 'bwrap' | 'none';
  token: string | null;
  loginSaved: string | null;
  next: string;
}

void test('up starts a controller and a worker, logs the CLI in, and a build just works; a restart keeps both', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'buildmesh-up-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const configHome = join(root, 'config');
  mkdirSync(configHome);
  const env = { XDG_CONFIG_HOME: configHome };
  const port = await freePort();
  const upArgs = ['up', '--json', '--port', String(port), '--data-dir', join(root, 'data'), '--sandbox', 'none'];

  const up = spawnCli(upArgs, { env, cwd: root });
  t.after(() => up.kill('SIGKILL'));
  const first = await waitForJsonLine<UpReport>(up, (v) => typeof v.workerId === 'string', 90_000);
  assert.equal(first.url, `http://127.0.0.1:${port}`);
  assert.match(first.token ?? '', /\S{24,}/, 'the first start prints the admin token');
  assert.equal(first.loginSaved, join(configHome, 'buildmesh', 'config.json'));
  assert.equal(statSync(first.loginSaved).mode & 0o777, 0o600);
  // Run outside the checkout (cwd is a temp dir): the next step names this CLI's path, never a bare `npx buildmesh`.
  assert.match(first.next, /^node \/\S+\/bin\/buildmesh\.js build \/path\/to\/your-expo-app --platform web$/);

  // The saved login works with nothing in the environment: workers, then a real build.
  const workers = await runCli(['workers', '--json'], { env });
  assert.equal(workers.code, 0, workers.stderr);
  const listed = (JSON.parse(workers.stdout) as { workers: Array<{ id: string; state: string; pool: string; platforms: string[] }> }).workers;
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.id, first.workerId);
  assert.equal(first.executor, 'none');
  assert.equal(listed[0]!.pool, 'org', 'an unsandboxed local worker serves only the admin’s org, never the shared pool');
  assert.equal(listed[0]!.state, 'online');
  assert.ok(listed[0]!.platforms.includes('web'));

  const project = makeFixtureProject(t);
  const build = await runCli(['build', '--platform', 'web', '--profile', 'test', '--output', join(root, 'out'), '--json'], { env, cwd: project, timeoutMs: 120_000 });
  assert.equal(build.code, 0, `stdout:\n${build.stdout}\nstderr:\n${build.stderr}`);
  assert.equal((JSON.parse(build.stdout) as { builds: Array<{ build: { status: string } }> }).builds[0]!.build.status, 'succeeded');

  up.kill('SIGTERM');
  assert.equal((await waitForExit(up, 30_000)).code, 0, up.output.stderr);

  // Second start: no new token (it was shown once), the login is still there, the worker keeps its identity.
  const again = spawnCli(upArgs, { env, cwd: root });
  t.after(() => again.kill('SIGKILL'));
  const second = await waitForJsonLine<UpReport>(again, (v) => typeof v.workerId === 'string', 90_000);
  assert.equal(second.token, null);
  assert.equal(second.loginSaved, first.loginSaved);
  assert.equal(second.workerId, first.workerId);
  again.kill('SIGTERM');
  assert.equal((await waitForExit(again, 30_000)).code, 0, again.output.stderr);
});

// The quick start is often run as root (containers, CI). The data dir is 0700, and a sandboxed step
// runs as the unprivileged build user: up must put its workspaces where that user can reach them,
// or every build would fall back to running unconfined.
void test('up with bubblewrap runs its worker sandboxed, even as root, and a build succeeds in it', async (t) => {
  const bwrap = await bwrapSkipper();
  if (bwrap.skip()) return t.skip('bubblewrap unusable here');
  const root = mkdtempSync(join(tmpdir(), 'buildmesh-up-bwrap-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const configHome = join(root, 'config');
  mkdirSync(configHome);
  const env = { XDG_CONFIG_HOME: configHome };
  const up = spawnCli(['up', '--json', '--port', String(await freePort()), '--data-dir', join(root, 'data'), '--sandbox', 'auto'], { env, cwd: root });
  t.after(() => up.kill('SIGKILL'));
  const report = await waitForJsonLine<UpReport>(up, (v) => typeof v.workerId === 'string', 90_000);
  assert.equal(report.executor, 'bwrap', up.output.stderr);

  const project = makeFixtureProject(t);
  const build = await runCli(['build', '--platform', 'web', '--profile', 'test', '--output', join(root, 'out'), '--json'], { env, cwd: project, timeoutMs: 120_000 });
  assert.equal(build.code, 0, `stdout:\n${build.stdout}\nstderr:\n${build.stderr}`);
  up.kill('SIGTERM');
  assert.equal((await waitForExit(up, 30_000)).code, 0, up.output.stderr);
});
