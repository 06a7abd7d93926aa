/** `buildmesh stats` against a real controller: a build finished with reported phases shows in the table and in --json. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { Stats } from '@buildmesh/protocol';
import { runCli, runJson } from './helpers/cli.js';
import { startTestController } from '../../../test/helpers/controller.js';

test('stats prints success rate, durations and phases', { timeout: 120_000 }, async (t) => {
  const controller = await startTestController(t);
  const org = await controller.admin.createOrg('acme');
  const admin = controller.admin.withToken((await controller.admin.createToken({ name: 'acme-admin', role: 'admin', orgId: org.id })).secret);
  const env = { BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: (await admin.createToken({ name: 'reader', role: 'read-only' })).secret };
  assert.match((await runCli(['stats'], { env })).stdout, /No builds ended in the last 168 h/);

  const enrolled = await admin.withToken((await admin.createEnrollmentToken('rack')).secret).enroll({ name: 'w', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
  const worker = controller.admin.withToken(enrolled.credential);
  await admin.createBuild({ project: 'app', platform: 'web', profile: { name: 'preview', env: {} } }, Readable.from([Buffer.from('not really a tarball')]));
  const job = await worker.claim(2000);
  assert.ok(job);
  await worker.finish(job.attempt.id, { outcome: 'succeeded', phases: [{ name: 'EXPORT_WEB', result: 'success', durationMs: 3000 }] });

  const stats = await runJson<Stats>(['stats', '--hours', '1', '--json'], { env });
  assert.equal(stats.groups.length, 1);
  assert.equal(stats.groups[0]!.successRate, 1);
  assert.deepEqual(stats.groups[0]!.phases, [{ name: 'EXPORT_WEB', count: 1, p50Seconds: 3, p90Seconds: 3 }]);
  const table = await runCli(['stats', '--phases'], { env });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /web\s+preview\s+1\s+100 %/);
  assert.match(table.stdout, /EXPORT_WEB\s+1\s+3\.0 s\s+3\.0 s/);
  assert.notEqual((await runCli(['stats', '--hours', '0'], { env })).code, 0);
});
