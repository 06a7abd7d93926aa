/**
 * Attacker review: a member's submit whose message (or profile text) carries a NUL answered 500 INTERNAL on
 * PostgreSQL (text cannot hold NUL), while SQLite stored it. Both stores must answer 400 VALIDATION_FAILED
 * and queue nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '@buildmesh/protocol';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { startControllerOn } from './helpers/controller-process.js';
import { buildSpec, createTenant, streamOf, tinyTarGz } from './helpers/fixtures.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: a submit with NUL in its message or profile is refused (400) and queues nothing`, { skip: store === 'postgres' ? pgSkip : false, timeout: 90_000 }, async (t) => {
    const controller = await startControllerOn(store, t);
    const mallory = await createTenant(controller, 'mallory');
    const specs = [
      buildSpec({ message: 'fix\u0000' }),
      buildSpec({ profile: { name: 'prod\u0000', env: {} } }),
      buildSpec({ profile: { name: 'production', env: {}, channel: 'main\u0000' } }),
    ];
    for (const spec of specs) {
      await assert.rejects(
        mallory.member.createBuild(spec, streamOf(await tinyTarGz())),
        (err) => err instanceof ApiError && err.code === 'VALIDATION_FAILED',
        JSON.stringify(spec),
      );
    }
    assert.deepEqual((await mallory.member.listBuilds({})).builds, [], 'nothing was queued');
    const ok = await mallory.member.createBuild(buildSpec({ message: 'fix \u202e ok' }), streamOf(await tinyTarGz()));
    assert.equal(ok.message, 'fix \u202e ok', 'other text is kept as sent (the CLI sanitises what it prints)');
  });
}
