/**
 * Label values are shown in the CLI's and the dashboard's lists, so they must read as what they are:
 * a C1 control or a bidirectional override or isolate in a build's or a worker's label value is refused
 * as bad input (400 VALIDATION_FAILED, nothing stored); ordinary non-ASCII text is accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, BuildMeshClient } from '@buildmesh/protocol';
import { startControllerOn } from './helpers/controller-process.js';
import { buildSpec, createTenant, streamOf, tinyTarGz } from './helpers/fixtures.js';

const MISREAD = [
  ['a C1 control (CSI)', 'x\u009b31m'],
  ['a right-to-left override', 'release\u202e1.2'],
  ['a first-strong isolate', 'a\u2068b\u2069'],
] as const;

test('label values with C1 controls or bidi overrides are refused; ordinary non-ASCII text is accepted', { timeout: 60_000 }, async (t) => {
  const controller = await startControllerOn('sqlite', t);
  const tenant = await createTenant(controller, 'acme');
  const source = await tinyTarGz();
  const enrollment = await tenant.admin.createEnrollmentToken('labels');
  const enroller = new BuildMeshClient({ url: controller.url, token: enrollment.secret });
  for (const [what, value] of MISREAD) {
    await assert.rejects(
      tenant.member.createBuild(buildSpec({ labels: { pool: value } }), streamOf(source)),
      (err: unknown) => err instanceof ApiError && err.code === 'VALIDATION_FAILED',
      `a build label with ${what}`,
    );
    await assert.rejects(
      enroller.enroll({ name: 'w', platforms: ['android'], labels: { pool: value }, concurrency: 1, version: 'test' }),
      (err: unknown) => err instanceof ApiError && err.code === 'VALIDATION_FAILED',
      `a worker label with ${what}`,
    );
  }
  assert.equal((await tenant.member.listBuilds()).builds.length, 0, 'nothing was stored');
  const ok = await tenant.member.createBuild(buildSpec({ labels: { pool: 'Zürich 東京 ✓' } }), streamOf(source));
  assert.deepEqual(ok.labels, { pool: 'Zürich 東京 ✓' });
});
