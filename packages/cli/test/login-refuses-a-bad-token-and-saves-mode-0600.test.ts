import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { startMesh } from './helpers/mesh.js';

void test('login refuses a bad token and never writes it; a good one is saved with mode 0600', async (t) => {
  const mesh = await startMesh(t);
  // No BUILDMESH_URL/TOKEN: only what login saves counts.
  const env = { XDG_CONFIG_HOME: mesh.configHome };
  const configDir = join(mesh.configHome, 'buildmesh');
  const configFile = join(configDir, 'config.json');
  const badToken = 'bmt_this-token-was-never-issued-0123456789';

  const refused = await runCli(['login', '--url', mesh.url, '--token-stdin'], { env, input: badToken + '\n' });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /error TOKEN_REJECTED: .*nothing was saved/);
  assert.equal(existsSync(configFile), false, 'a refused token must not be written');

  // The token is never accepted in argv.
  const inArgv = await runCli(['login', '--url', mesh.url, '--token', mesh.adminToken], { env });
  assert.equal(inArgv.code, 2);
  assert.match(inArgv.stderr, /error USAGE: unknown option '--token'/);
  assert.equal(existsSync(configFile), false);

  const accepted = await runCli(['login', '--url', mesh.url, '--token-stdin', '--json'], { env, input: mesh.adminToken + '\n' });
  assert.equal(accepted.code, 0, accepted.stderr);
  const report = JSON.parse(accepted.stdout) as { url: string; configPath: string; token: { role: string } };
  assert.equal(report.url, mesh.url);
  assert.equal(report.configPath, configFile);
  assert.equal(report.token.role, 'admin');
  assert.equal(statSync(configFile).mode & 0o777, 0o600);
  assert.equal(statSync(configDir).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(configDir), ['config.json'], 'no temp file is left behind');
  const saved = JSON.parse(readFileSync(configFile, 'utf8')) as { current: string; logins: Record<string, { token: string }> };
  assert.equal(saved.current, mesh.url);
  assert.equal(saved.logins[mesh.url]?.token, mesh.adminToken);
  assert.ok(!accepted.stdout.includes(mesh.adminToken) && !accepted.stderr.includes(mesh.adminToken), 'login never prints the token');

  // Later commands use the saved login.
  const whoami = await runCli(['whoami', '--json'], { env });
  assert.equal(whoami.code, 0, whoami.stderr);
  assert.equal((JSON.parse(whoami.stdout) as { tokenSource: string }).tokenSource, 'config');

  // A bad token after a good login leaves the good one in place.
  const refusedAgain = await runCli(['login', '--url', mesh.url, '--token-stdin'], { env, input: badToken });
  assert.notEqual(refusedAgain.code, 0);
  assert.equal((JSON.parse(readFileSync(configFile, 'utf8')) as { logins: Record<string, { token: string }> }).logins[mesh.url]?.token, mesh.adminToken);
  assert.ok(!readFileSync(configFile, 'utf8').includes(badToken));

  const logout = await runCli(['logout', '--json'], { env });
  assert.equal(logout.code, 0, logout.stderr);
  assert.deepEqual(JSON.parse(logout.stdout), { configPath: configFile, removed: true, urls: [mesh.url] });
  assert.equal(existsSync(configFile), false);

  const afterLogout = await runCli(['whoami'], { env });
  assert.notEqual(afterLogout.code, 0);
  assert.match(afterLogout.stderr, /error NOT_LOGGED_IN: .* — run `(npx buildmesh|node \S+buildmesh\.js) login --url /);
});
