/**
 * A machine without this repository: the CLI installed with npm from the tarball a running
 * controller serves (/cli/buildmesh.tgz, its sha256 beside it), run from a directory outside the
 * checkout with a clean PATH and HOME, logs in and builds (a real worker builds it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startMesh } from './helpers/mesh.js';
import { makeFixtureProject, ARTIFACT_TEXT } from './helpers/fixture-project.js';

function run(cmd: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

void test('the CLI installs from the controller URL and logs in and builds from outside the checkout', async (t) => {
  const mesh = await startMesh(t, { worker: true });
  const machine = mkdtempSync(join(tmpdir(), 'buildmesh-elsewhere-'));
  t.after(() => rmSync(machine, { recursive: true, force: true }));

  // The package and its published checksum agree.
  const tgz = Buffer.from(await (await fetch(`${mesh.url}/cli/buildmesh.tgz`)).arrayBuffer());
  const sumLine = await (await fetch(`${mesh.url}/cli/buildmesh.tgz.sha256`)).text();
  const [sum, name] = sumLine.trim().split(/\s+/);
  assert.equal(createHash('sha256').update(tgz).digest('hex'), sum);
  assert.match(name ?? '', /^buildmesh-\d+\.\d+\.\d+.*\.tgz$/);
  const versioned = await fetch(`${mesh.url}/cli/${name}`);
  assert.equal(versioned.status, 200);
  await versioned.arrayBuffer();
  assert.equal((await fetch(`${mesh.url}/cli/buildmesh-0.0.0-nope.tgz`)).status, 404);

  // A PATH with only node and npm on it (no checkout's node_modules/.bin), a HOME of its own.
  const home = join(machine, 'home');
  const pathDir = join(machine, 'path');
  mkdirSync(home, { recursive: true });
  mkdirSync(pathDir);
  const nodeDir = dirname(process.execPath);
  const env: NodeJS.ProcessEnv = {
    PATH: `${join(machine, 'prefix', 'node_modules', '.bin')}:${nodeDir}:/usr/bin:/bin`,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    npm_config_cache: join(machine, 'npm-cache'),
    npm_config_update_notifier: 'false',
  };
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefix', join(machine, 'prefix'), `${mesh.url}/cli/buildmesh.tgz`], { cwd: machine, env, timeoutMs: 180_000 });
  assert.equal(install.code, 0, install.stderr);
  const installed = join(machine, 'prefix', 'node_modules', 'buildmesh');
  assert.ok(!readFileSync(join(installed, 'package.json'), 'utf8').includes('"@buildmesh/'), 'no workspace dependency in the package');

  const app = join(machine, 'my-app');
  cpSync(makeFixtureProject(t), app, { recursive: true });

  const login = await run('buildmesh', ['login', '--url', mesh.url, '--token-stdin'], { cwd: app, env, input: mesh.adminToken });
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stderr + login.stdout, /Logged in to/);

  const build = await run('buildmesh', ['build', '--platform', 'web', '--profile', 'test', '--output', join(machine, 'out'), '--json'], { cwd: app, env, timeoutMs: 180_000 });
  assert.equal(build.code, 0, `stdout:\n${build.stdout}\nstderr:\n${build.stderr}`);
  const result = JSON.parse(build.stdout) as { builds: Array<{ build: { status: string }; artifacts: Array<{ name: string; path: string; verified: boolean }> }> };
  assert.equal(result.builds[0]!.build.status, 'succeeded');
  const artifact = result.builds[0]!.artifacts.find((a) => a.name === 'app.txt');
  assert.ok(artifact?.verified, JSON.stringify(result.builds[0]!.artifacts));
  assert.equal(readFileSync(artifact.path, 'utf8'), ARTIFACT_TEXT);

  // The next steps it prints are runnable here: the installed name, never `npx buildmesh`.
  const workers = await run('buildmesh', ['list'], { cwd: app, env });
  assert.equal(workers.code, 0, workers.stderr);
  assert.doesNotMatch(build.stderr + login.stderr, /npx buildmesh/);
});
