/**
 * Whatever label value a submit accepts, the org's workers keep claiming on PostgreSQL. The one-statement
 * org claim (claim-org-pg.ts) casts every queue lane's labels of the worker's org and platform to
 * jsonb, and jsonb refuses the escapes JSON.stringify writes for U+0000 (22P05) and for a lone
 * surrogate (22P02): a member who submitted one build with such a label value (the Labels schema took
 * any string) made every claim of every org worker on that platform fail for as long as the lane existed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '@buildmesh/protocol';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { startControllerOn } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';

for (const [what, value] of [['U+0000', 'x\u0000'], ['a lone surrogate', 'x\ud800']] as const) {
  test(`a label value with ${what} never stops the org’s claims on PostgreSQL`, { skip: pgSkip, timeout: 120_000 }, async (t) => {
    const controller = await startControllerOn('postgres', t);
    const tenant = await createTenant(controller, 'acme');
    const worker = await enrollWorker(tenant.admin, { platforms: ['android'] });
    const ordinary = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('ordinary')));

    // Either the submit is refused as bad input (a 4xx with a code), or it is queued and harms nothing.
    try {
      await tenant.member.createBuild(buildSpec({ labels: { pool: value } }), streamOf(await tinyTarGz(what)));
    } catch (err) {
      assert.ok(err instanceof ApiError && err.status >= 400 && err.status < 500, `refused as bad input, not ${String(err)}`);
    }
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, ordinary.id, `the worker still gets the ordinary build; controller said:\n${controller.output().slice(-1500)}`);
  });
}
