/**
 * Attacker review: a worker (a hostile one of an org's own pool, or anyone holding an enrollment token)
 * that reports a NUL in its name or version got 500 INTERNAL from PostgreSQL (text cannot hold NUL) on
 * enroll and on hello; SQLite stored it. Both must answer 400 VALIDATION_FAILED and write nothing: the
 * enrollment token still enrolls a worker, and the enrolled worker keeps what it reported before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { startControllerOn } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: a worker name or version with NUL is refused (400) on enroll and hello, and nothing is written`, { skip: store === 'postgres' ? pgSkip : false, timeout: 90_000 }, async (t) => {
    const controller = await startControllerOn(store, t);
    const mallory = await createTenant(controller, 'mallory');
    const send = async (method: string, path: string, token: string, body: unknown) => {
      const r = await fetch(`${controller.url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as { error?: { code: string }; credential?: string } };
    };
    const caps = (o: Record<string, unknown> = {}) => ({ name: 'w', platforms: ['android'], labels: {}, concurrency: 1, version: '1', ...o });
    const enrollment = await mallory.admin.createEnrollmentToken('e');
    for (const bad of [{ name: 'w\u0000x' }, { version: '1\u0000' }]) {
      const answer = await send('POST', '/v1/workers/enroll', enrollment.secret, caps(bad));
      assert.equal(answer.status, 400, JSON.stringify(bad));
      assert.equal(answer.body.error?.code, 'VALIDATION_FAILED');
    }
    assert.deepEqual((await mallory.member.listWorkers()).workers, [], 'no worker was written');
    const enrolled = await send('POST', '/v1/workers/enroll', enrollment.secret, caps({ name: 'good' }));
    assert.equal(enrolled.status, 201, 'the enrollment token was not used up by the refused ones');
    for (const bad of [{ name: 'w\u0000x' }, { version: '1\u0000' }]) {
      const answer = await send('PUT', '/v1/worker', enrolled.body.credential!, caps(bad));
      assert.equal(answer.status, 400, JSON.stringify(bad));
      assert.equal(answer.body.error?.code, 'VALIDATION_FAILED');
    }
    const [worker] = (await mallory.member.listWorkers()).workers;
    assert.equal(worker?.name, 'good', 'the worker keeps what it reported before');
  });
}
