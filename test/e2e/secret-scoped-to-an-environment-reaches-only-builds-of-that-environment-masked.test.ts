/**
 * eas.json `environment`: a secret set with `--environment production` reaches a build whose
 * profile says `environment: production` (masked in its log, and winning over an unscoped secret
 * of the same name), and not a `preview` build, which gets the unscoped value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../packages/cli/test/helpers/cli.js';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';

test('a secret scoped to an environment reaches only builds of that environment, masked', { timeout: 3 * 60_000 }, async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  const env = { BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: controller.adminToken, HOME: worker.configDir };
  const prodKey = 'prod-only-secret-4b1e7d';
  const urlAll = 'url-for-all-0c9d';
  const urlProd = 'url-for-production-5e2a8f17';

  const set = async (args: string[], input: string) => {
    const r = await runCli(['secrets', 'set', ...args, '--project', 'envs'], { env, input });
    assert.equal(r.code, 0, r.stderr);
  };
  await set(['PROD_KEY', '--environment', 'production'], prodKey);
  await set(['API_URL'], urlAll);
  await set(['API_URL', '--environment', 'production'], urlProd);
  const list = await runCli(['secrets', 'list', '--project', 'envs', '--json'], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    (JSON.parse(list.stdout) as { secrets: Array<{ name: string; environment?: string }> }).secrets.map((s) => [s.name, s.environment ?? null]),
    [['API_URL', null], ['API_URL', 'production'], ['PROD_KEY', 'production']],
  );
  const bad = await runCli(['secrets', 'set', 'X', '--environment', 'no good', '--project', 'envs'], { env, input: 'x' });
  assert.notEqual(bad.code, 0);

  await waitForWorkerOnline(controller.admin, worker);
  const project = makeFixtureProject(t, [{
    name: 'Show the secrets',
    command: 'echo "key=${PROD_KEY:-unset}"; echo "key_length=${#PROD_KEY}"; echo "url=$API_URL"; echo "url_length=${#API_URL}"',
  }]);
  const run = async (environment: string) => {
    const build = await submitBuild(controller.admin, project, { project: 'envs', profile: { name: environment, environment } });
    const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 60_000);
    const output = outputLines(await readAllLogs(controller.admin, build.id));
    assert.equal(ended.status, 'succeeded', output.join('\n'));
    return output;
  };

  const production = await run('production');
  assert.ok(production.includes(`key_length=${prodKey.length}`), `the production build saw its scoped secret: ${production.join('\n')}`);
  assert.ok(production.includes(`url_length=${urlProd.length}`), 'the scoped value wins over the unscoped one');
  assert.ok(production.some((l) => /^key=\*+$/.test(l)) && production.some((l) => /^url=\*+$/.test(l)), `masked: ${production.join('\n')}`);
  assert.ok(!production.some((l) => l.includes(prodKey) || l.includes(urlProd)));

  const preview = await run('preview');
  assert.ok(preview.includes('key=unset') && preview.includes('key_length=0'), `the preview build did not get it: ${preview.join('\n')}`);
  assert.ok(preview.includes(`url_length=${urlAll.length}`), 'the preview build got the unscoped value');
  assert.ok(!preview.some((l) => l.includes(urlAll)), 'masked');

  const removed = await runCli(['secrets', 'delete', 'API_URL', '--environment', 'production', '--project', 'envs', '--json'], { env });
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(JSON.parse(removed.stdout), { project: 'envs', name: 'API_URL', environment: 'production', deleted: true });
});
