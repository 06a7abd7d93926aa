/**
 * Secret names and build env names follow the environment-variable grammar and refuse the names
 * that change how a process starts (LD_*, DYLD_*, BASH_ENV, GCONV_PATH…), BuildMesh's own
 * (BUILDMESH_*) and object-prototype keys; secrets also refuse what the worker sets (PATH, HOME,
 * NODE_OPTIONS…). Values with NUL are refused. All 400, nothing stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envNameProblem } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

const REFUSED_EVERYWHERE = ['__proto__', 'constructor', 'prototype', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'BASH_ENV', 'ENV', 'GCONV_PATH', 'BUILDMESH_ADMIN_TOKEN', 'BUILDMESH_X'];
const REFUSED_AS_SECRET = ['PATH', 'HOME', 'TMPDIR', 'SHELL', 'USER', 'NODE_OPTIONS'];
const NOT_A_NAME = ['1ABC', 'A-B', 'A B', 'Ä', '', 'A'.repeat(129), 'A=B', 'A\u0000'];

test('the one rule: grammar, dangerous names everywhere, reserved names for secrets', () => {
  for (const name of [...REFUSED_EVERYWHERE, ...NOT_A_NAME]) {
    assert.ok(envNameProblem(name, 'env'), `env ${JSON.stringify(name)} is refused`);
    assert.ok(envNameProblem(name, 'secret'), `secret ${JSON.stringify(name)} is refused`);
  }
  for (const name of REFUSED_AS_SECRET) {
    assert.ok(envNameProblem(name, 'secret'), `secret ${name} is refused`);
    assert.equal(envNameProblem(name, 'env'), undefined, `env ${name} is allowed (EAS projects set it)`);
  }
  for (const name of ['API_KEY', '_X', 'NODE_ENV', 'EXPO_PUBLIC_URL', 'LD', 'PATHS', 'MY_LD_PRELOAD', 'ENVIRONMENT']) {
    assert.equal(envNameProblem(name, 'secret'), undefined, `secret ${name} is fine`);
    assert.equal(envNameProblem(name, 'env'), undefined, `env ${name} is fine`);
  }
});

test('the controller refuses reserved names and NUL values for secrets and build env', async () => {
  const controller = await startControllerProcess();
  try {
    const tenant = await createTenant(controller, 'acme');
    await tenant.member.createProject('app');
    for (const name of [...REFUSED_EVERYWHERE, ...REFUSED_AS_SECRET, ...NOT_A_NAME.filter((n) => n !== '')]) {
      await rejectsWith(tenant.member.setSecret('app', name, 'v'), 'VALIDATION_FAILED', `secret ${JSON.stringify(name)}`);
    }
    await rejectsWith(tenant.member.setSecret('app', 'API_KEY', 'before\u0000after'), 'VALIDATION_FAILED', 'a NUL in a secret value');
    await tenant.member.setSecret('app', 'API_KEY', 'fine value ✓');
    assert.deepEqual((await tenant.reader.listSecrets('app')).secrets.map((s) => s.name), ['API_KEY'], 'only the valid secret is stored');

    const source = await tinyTarGz('names');
    const refusedSpecs = [
      buildSpec({ env: { LD_PRELOAD: './lib.so' } }),
      buildSpec({ env: { GOOD: 'a\u0000b' } }),
      buildSpec({ profile: { name: 'production', env: { BASH_ENV: './x.sh' } } }),
      buildSpec({ profile: { name: 'production', env: { BUILDMESH_ADMIN_TOKEN: 'x' } } }),
      buildSpec({ profile: { name: 'production', env: { DYLD_INSERT_LIBRARIES: 'x' } } }),
    ];
    for (const spec of refusedSpecs) {
      await rejectsWith(tenant.member.createBuild(spec, streamOf(source)), 'VALIDATION_FAILED', JSON.stringify({ env: spec.env, profile: spec.profile }));
    }
    assert.deepEqual((await tenant.reader.listBuilds()).builds, [], 'no refused build was stored');

    // What EAS projects really set stays allowed.
    const ok = await tenant.member.createBuild(
      buildSpec({ env: { NODE_ENV: 'production' }, profile: { name: 'production', env: { NODE_OPTIONS: '--max-old-space-size=4096', PATH_EXTRA: '/opt/bin' } } }),
      streamOf(source),
    );
    assert.equal(ok.status, 'queued');
  } finally {
    await controller.dispose();
  }
});
