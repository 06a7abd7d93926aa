/**
 * Attacker review: the 30-a-minute cap on refused exchanges in an org's
 * audit log counts the minute's entries, then writes one, in two statements. Anyone with a genuine ID token
 * of an issuer the org trusts (any CI job of a public issuer) sends the refusals at once: every request
 * counts fewer than 30 before any writes. Measured on PostgreSQL: 200 concurrent refusals put 74 entries in
 * the org's log, 1000 put 495 (SQLite's single writer held the cap at 30). What must hold on both stores:
 * however the refusals are timed, the org's log takes at most 30 of them a minute.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLoopbackIssuer } from '../../../test/helpers/oidc-issuer.js';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { startControllerOn } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(
    `${store}: 200 concurrent refused exchanges put at most 30 entries in the org's audit log`,
    { skip: store === 'postgres' ? pgSkip : false, timeout: 90_000 },
    async (t) => {
      const issuer = await startLoopbackIssuer();
      t.after(() => issuer.close());
      const controller = await startControllerOn(store, t, { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' });
      const acme = await createTenant(controller, 'acme');
      await acme.admin.createTrustRule({ name: 'main', issuer: issuer.issuer, audience: 'buildmesh', condition: 'ref == "refs/heads/main"', role: 'member' });
      const outsider = await issuer.sign({ sub: 'repo:someone/else:ref:refs/heads/x', ref: 'refs/heads/x', aud: 'buildmesh' });
      const exchange = async (): Promise<number> =>
        (await fetch(`${controller.url}/v1/oidc/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: outsider, org: acme.org.id }) })).status;
      assert.equal(await exchange(), 401); // the issuer's keys are read once
      const statuses = await Promise.all(Array.from({ length: 200 }, exchange));
      assert.deepEqual([...new Set(statuses)], [401]);
      const audited = (await acme.admin.audit({ limit: 1000 })).entries.filter((e) => e.action === 'oidc.exchange_refused');
      assert.ok(audited.length <= 30, `${audited.length} refusals in the org's audit log within a minute`);
      assert.ok(audited.length >= 1);
    },
  );
}
