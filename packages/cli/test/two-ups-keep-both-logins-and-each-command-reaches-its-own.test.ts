/**
 * Two instances started with `up` from two directories (each its own data dir and admin token):
 * the CLI keeps a login per controller URL, so neither start loses the other's token; the last one
 * is current, BUILDMESH_URL picks the other with its own saved token, `login --url` switches back
 * without asking for a token, and a bad BUILDMESH_TOKEN is named as the culprit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCli, waitForExit, waitForJsonLine } from './helpers/cli.js';
import { freePort } from './helpers/mesh.js';

interface UpReport {
  url: string;
  dataDir: string;
  token: string | null;
  loginSaved: string | null;
  workerId: string;
}
interface WhoAmI {
  url: string;
  tokenSource: string;
  token: { id: string };
}

void test('two up instances from two directories keep both logins, and each command reaches the one it names', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'buildmesh-two-ups-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const configHome = join(root, 'config');
  const env = { XDG_CONFIG_HOME: configHome, XDG_DATA_HOME: join(root, 'share') };
  const start = async (dir: string, port: number) => {
    mkdirSync(join(root, dir), { recursive: true });
    const up = spawnCli(['up', '--json', '--port', String(port), '--data-dir', 'data', '--sandbox', 'none'], { env, cwd: join(root, dir) });
    t.after(() => up.kill('SIGKILL'));
    return { up, report: await waitForJsonLine<UpReport>(up, (v) => typeof v.workerId === 'string', 90_000) };
  };
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await start('app-a', portA);
  const b = await start('app-b', portB);
  assert.ok(a.report.token && b.report.token, 'each fresh instance made its own admin token');
  assert.equal(a.report.dataDir, join(root, 'app-a', 'data'));

  const saved = JSON.parse(readFileSync(join(configHome, 'buildmesh', 'config.json'), 'utf8')) as { current: string; logins: Record<string, { token: string }> };
  assert.equal(saved.logins[a.report.url]?.token, a.report.token, 'the second up kept the first instance’s login');
  assert.equal(saved.logins[b.report.url]?.token, b.report.token);
  assert.equal(saved.current, b.report.url);

  const whoami = async (extra: NodeJS.ProcessEnv = {}) => {
    const r = await runCli(['whoami', '--json'], { env: { ...env, ...extra } });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as WhoAmI;
  };
  const onB = await whoami();
  assert.equal(onB.url, b.report.url);
  const onA = await whoami({ BUILDMESH_URL: a.report.url });
  assert.equal(onA.url, a.report.url, 'BUILDMESH_URL picks the controller, with the token saved for it');
  assert.equal(onA.tokenSource, 'config');
  assert.notEqual(onA.token.id, onB.token.id);

  // Switching back needs no token: the saved one for that URL still works.
  const switched = await runCli(['login', '--url', a.report.url], { env });
  assert.equal(switched.code, 0, switched.stderr);
  assert.match(switched.stderr + switched.stdout, /Switched to/);
  assert.equal((await whoami()).url, a.report.url);

  // A restart of B (no new token) keeps A's login, and makes B current again.
  b.up.kill('SIGTERM');
  assert.equal((await waitForExit(b.up, 30_000)).code, 0, b.up.output.stderr);
  const b2 = await start('app-b', portB);
  assert.equal(b2.report.token, null);
  assert.equal((await whoami()).url, b.report.url);
  assert.equal((await whoami({ BUILDMESH_URL: a.report.url })).token.id, onA.token.id);

  // Without --data-dir, up keeps one instance per user whatever the directory: $XDG_DATA_HOME/buildmesh/up.
  b2.up.kill('SIGTERM');
  assert.equal((await waitForExit(b2.up, 30_000)).code, 0, b2.up.output.stderr);
  mkdirSync(join(root, 'app-c'));
  const c = spawnCli(['up', '--json', '--port', String(portB), '--sandbox', 'none'], { env, cwd: join(root, 'app-c') });
  t.after(() => c.kill('SIGKILL'));
  const cReport = await waitForJsonLine<UpReport>(c, (v) => typeof v.workerId === 'string', 90_000);
  assert.equal(cReport.dataDir, join(root, 'share', 'buildmesh', 'up'));

  // An overriding variable is named, not "log in again".
  const bad = await runCli(['whoami'], { env: { ...env, BUILDMESH_TOKEN: 'bm_not_a_real_token_0123456789abcdef' } });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /BUILDMESH_TOKEN overrides the saved login/);
});
