import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliRunOptions } from './helpers/cli.js';
import { makeFixtureProject } from './helpers/fixture-project.js';
import { startMesh } from './helpers/mesh.js';

type Json = Record<string, unknown>;

/** Asserts `value` has every key (a documented field), returning it for chaining. */
function hasKeys(value: unknown, keys: string[], what: string): Json {
  assert.ok(value && typeof value === 'object', `${what}: not an object`);
  for (const key of keys) assert.ok(key in (value as Json), `${what}: missing "${key}" in ${JSON.stringify(value).slice(0, 300)}`);
  return value as Json;
}

void test('--json output of each command parses and carries the documented fields', async (t) => {
  const mesh = await startMesh(t, { worker: true });
  const project = makeFixtureProject(t, {
    // credentials.json with a (fake) keystore: the controller stores it; no build uses it.
    'release.keystore': 'not really a keystore',
    'credentials.json': JSON.stringify({
      android: { keystore: { keystorePath: 'release.keystore', keystorePassword: 'store-pass-123', keyAlias: 'upload', keyPassword: 'key-pass-123' } },
    }),
  });
  const secretValue = 'super-secret-value-never-printed';
  const outputs: string[] = [];
  const json = async <T = Json>(args: string[], options: CliRunOptions = {}): Promise<T> => {
    const result = await runCli([...args, '--json'], { env: mesh.env, timeoutMs: 120_000, ...options });
    outputs.push(result.stdout, result.stderr);
    assert.equal(result.code, 0, `buildmesh ${args.join(' ')} --json exited ${result.code}\n${result.stdout}\n${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };

  // Identity.
  const me = await json(['whoami']);
  hasKeys(me, ['url', 'urlSource', 'tokenSource', 'org', 'token'], 'whoami');
  hasKeys(me.token, ['id', 'name', 'role', 'instanceAdmin'], 'whoami.token');

  // build (waits, downloads), status, list, logs, download.
  const built = await json<{ ok: boolean; exitCode: number; builds: Json[] }>(['build', project, '--platform', 'web', '--profile', 'test', '--output', join(mesh.root, 'a')]);
  hasKeys(built, ['ok', 'exitCode', 'builds'], 'build');
  const first = hasKeys(built.builds[0], ['build', 'buildUrl', 'artifacts'], 'build.builds[0]');
  const buildId = (first.build as Json).id as string;
  hasKeys((first.artifacts as Json[])[0], ['id', 'name', 'path', 'size', 'sha256', 'verified'], 'build artifact');

  const status = await json(['status', buildId]);
  hasKeys(status, ['build', 'artifacts', 'buildUrl'], 'status');
  hasKeys(status.build, ['id', 'project', 'platform', 'profileName', 'status', 'attempts', 'error', 'createdAt'], 'status.build');

  const list = await json<{ builds: Json[]; nextCursor: unknown }>(['list', '--limit', '5', '--status', 'succeeded']);
  hasKeys(list, ['builds', 'nextCursor'], 'list');
  assert.ok(list.builds.some((b) => b.id === buildId));

  const logs = await runCli(['logs', buildId, '--json'], { env: mesh.env });
  assert.equal(logs.code, 0, logs.stderr);
  const entries = logs.stdout.trim().split('\n').map((l) => JSON.parse(l) as Json);
  assert.ok(entries.length > 0);
  for (const e of entries) hasKeys(e, ['t', 'stream', 'text', 'attempt'], 'log entry');

  const downloaded = await json(['download', buildId, '--output', join(mesh.root, 'b')]);
  hasKeys(downloaded, ['buildId', 'outputDir', 'artifacts'], 'download');
  hasKeys((downloaded.artifacts as Json[])[0], ['path', 'sha256', 'verified', 'alreadyPresent'], 'download artifact');

  // retry (no wait); build --no-wait, then cancel that one.
  const retried = await json(['retry', buildId]);
  hasKeys(retried, ['build', 'buildUrl', 'artifacts'], 'retry');
  assert.equal((retried.build as Json).retryOf, buildId);
  const noWait = await json<{ builds: Json[] }>(['build', project, '--platform', 'web', '--profile', 'long', '--no-wait']);
  hasKeys(noWait.builds[0], ['build', 'buildUrl', 'artifacts'], 'build --no-wait');
  const canceled = await json(['cancel', (noWait.builds[0]!.build as Json).id as string]);
  hasKeys(canceled, ['build'], 'cancel');
  assert.ok((canceled.build as Json).status === 'canceled' || (canceled.build as Json).cancelRequested === true);

  const workers = await json<{ workers: Json[] }>(['workers']);
  hasKeys(workers.workers[0], ['id', 'name', 'platforms', 'labels', 'state', 'currentBuilds', 'lastSeenAt'], 'workers');

  const doctor = await json<{ ok: boolean; checks: Json[] }>(['doctor', project, '--profile', 'test']);
  hasKeys(doctor, ['ok', 'checks'], 'doctor');
  assert.equal(doctor.ok, true, JSON.stringify(doctor.checks, null, 2));
  assert.deepEqual(doctor.checks.map((c) => c.id), ['controller', 'token', 'project', 'eas-json', 'git', 'pack', 'workers']);

  // Administration.
  const org = await json(['admin', 'org', 'create', 'json-test-org']);
  const orgId = (hasKeys(org.org, ['id', 'name', 'createdAt'], 'org create') as Json).id as string;
  hasKeys(await json(['admin', 'org', 'list']), ['orgs'], 'org list');
  const token = await json(['admin', 'token', 'create', 'ci', '--role', 'member']);
  hasKeys(token, ['token', 'secret'], 'token create');
  hasKeys(await json(['admin', 'token', 'create', 'other-admin', '--role', 'admin', '--org', orgId]), ['token', 'secret'], 'token create --org');
  hasKeys(await json(['admin', 'token', 'list']), ['tokens'], 'token list');
  hasKeys(await json(['admin', 'token', 'revoke', (token.token as Json).id as string]), ['token'], 'token revoke');
  const enroll = await json(['admin', 'enroll-token', 'create', 'json-test', '--shared']);
  hasKeys(enroll, ['enrollmentToken', 'secret'], 'enroll-token create');
  hasKeys(await json(['admin', 'enroll-token', 'list']), ['enrollmentTokens'], 'enroll-token list');
  hasKeys(await json(['admin', 'enroll-token', 'revoke', (enroll.enrollmentToken as Json).id as string]), ['enrollmentToken', 'revokedWorkers'], 'enroll-token revoke');

  // Credentials and secrets (values never printed).
  const creds = await json(['credentials', 'upload', project]);
  hasKeys(creds, ['project', 'credentials'], 'credentials upload');
  assert.deepEqual((creds.credentials as Json).android, { keyAlias: 'upload' });
  hasKeys(await json(['credentials', 'show', project]), ['project', 'credentials'], 'credentials show');
  const secret = await json(['secrets', 'set', 'API_KEY'], { cwd: project, input: secretValue + '\n' });
  hasKeys(secret, ['project', 'secret'], 'secrets set');
  const secrets = await json<{ secrets: Json[] }>(['secrets', 'list'], { cwd: project });
  assert.deepEqual(secrets.secrets.map((s) => s.name), ['API_KEY']);
  assert.deepEqual(await json(['secrets', 'delete', 'API_KEY'], { cwd: project }), { project: 'fixture-app', name: 'API_KEY', deleted: true });

  // login / logout with a private config dir.
  const loginEnv = { XDG_CONFIG_HOME: join(mesh.root, 'login-config') };
  hasKeys(await json(['login', '--url', mesh.url, '--token-stdin'], { env: loginEnv, input: mesh.adminToken }), ['url', 'org', 'token', 'configPath'], 'login');
  hasKeys(await json(['logout'], { env: loginEnv }), ['configPath', 'removed'], 'logout');

  // Errors under --json: one JSON object with the code, and a non-zero exit.
  const missing = await runCli(['status', 'bld_00000000000000000000000000', '--json'], { env: mesh.env });
  assert.notEqual(missing.code, 0);
  assert.equal((JSON.parse(missing.stdout) as { error: { code: string } }).error.code, 'NOT_FOUND');

  for (const text of outputs) {
    assert.ok(!text.includes(secretValue), 'a secret value was printed');
    assert.ok(!text.includes('store-pass-123') && !text.includes('key-pass-123'), 'a keystore password was printed');
  }
  assert.ok(!readFileSync(join(project, 'credentials.json'), 'utf8').includes('never'), 'fixture sanity');
});
