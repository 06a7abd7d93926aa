/**
 * A project secret reaches the build's environment and is masked in the stored log: printed as
 * is, base64-encoded (whole, after a prefix, and wrapped over lines by `base64`), and in the
 * worker's own output it never appears at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';

const MASK = '********';

void test('secrets of the job are masked in the stored log, also when printed base64-encoded', async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);

  const apiKey = `sk_live_${Math.random().toString(36).slice(2)}Zq9`;
  const longToken = `ghp_${'Xy7'.repeat(40)}`;
  await controller.admin.createProject('fixture');
  await controller.admin.setSecret('fixture', 'API_KEY', apiKey);
  await controller.admin.setSecret('fixture', 'LONG_TOKEN', longToken);

  const project = makeFixtureProject(t, [
    {
      id: 'leak',
      name: 'Try to leak',
      command: [
        'echo "key=$API_KEY"',
        'printf %s "$API_KEY" | base64',
        'printf "prefix:%s" "$API_KEY" | base64',
        'printf %s "$LONG_TOKEN" | base64',
        'echo "plain=$PLAIN"',
        'echo "length=${#API_KEY}"',
      ].join('\n'),
    },
  ]);
  const build = await submitBuild(controller.admin, project, { env: { PLAIN: 'not-a-secret-value' } });
  const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed']);
  assert.equal(ended.status, 'succeeded', JSON.stringify(ended));

  const entries = await readAllLogs(controller.admin, build.id);
  const stored = JSON.stringify(entries);
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const forbidden = [apiKey, b64(apiKey), b64(apiKey).replace(/=+$/, ''), longToken, b64(longToken).slice(0, 76), b64(longToken).slice(76, 152)];
  for (const value of forbidden) assert.ok(!stored.includes(value), `the stored log contains ${value}`);

  const lines = outputLines(entries);
  // The secret really was in the environment (its length printed), and each print was masked.
  assert.ok(lines.includes(`length=${apiKey.length}`), lines.join('\n'));
  assert.ok(lines.includes(`key=${MASK}`), lines.join('\n'));
  assert.ok(lines.filter((l) => l.includes(MASK)).length >= 4, lines.join('\n'));
  // Ordinary env is not a secret and stays readable.
  assert.ok(lines.includes('plain=not-a-secret-value'));
  // The worker's own log (stdout) never carries the values either.
  assert.ok(!worker.output().includes(apiKey) && !worker.output().includes(longToken));
});
