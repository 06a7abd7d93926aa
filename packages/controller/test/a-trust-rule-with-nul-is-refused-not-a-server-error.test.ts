/**
 * Attacker review: an org admin's trust rule whose audience or condition carries a NUL answered 500
 * INTERNAL on PostgreSQL (text cannot hold NUL). Both stores must answer 400 VALIDATION_FAILED and store
 * no rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { orgTrustingALoopbackIssuer } from './helpers/oidc-org.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: a trust rule with NUL in its audience or condition is refused (400) and not stored`, { skip: store === 'postgres' ? pgSkip : false, timeout: 90_000 }, async (t) => {
    const { issuer, acme, controller } = await orgTrustingALoopbackIssuer(store, t);
    const before = await acme.admin.listTrustRules();
    for (const bad of [{ audience: 'buildmesh\u0000' }, { condition: 'ref == "\u0000"' }]) {
      const r = await fetch(`${controller.url}/v1/trust-rules`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${acme.tokens.admin}` },
        body: JSON.stringify({ name: 'nul', issuer: issuer.issuer, audience: 'buildmesh', condition: 'ref == "x"', role: 'member', ...bad }),
      });
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'VALIDATION_FAILED');
    }
    assert.deepEqual(await acme.admin.listTrustRules(), before, 'no rule was stored');
  });
}
