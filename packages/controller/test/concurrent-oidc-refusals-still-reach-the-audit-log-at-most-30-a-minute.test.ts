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
import { pgSkip } from '../../../test/helpers/postgres.js';
import { orgTrustingALoopbackIssuer } from './helpers/oidc-org.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(
    `${store}: 200 concurrent refused exchanges put at most 30 entries in the org's audit log`,
    { skip: store === 'postgres' ? pgSkip : false, timeout: 90_000 },
    async (t) => {
      const { issuer, acme, exchange: exchangeOf } = await orgTrustingALoopbackIssuer(store, t);
      const outsider = await issuer.sign({ sub: 'repo:someone/else:ref:refs/heads/x', ref: 'refs/heads/x', aud: 'buildmesh' });
      const exchange = () => exchangeOf(outsider);
      assert.equal(await exchange(), 401); // the issuer's keys are read once
      const statuses = await Promise.all(Array.from({ length: 200 }, exchange));
      assert.deepEqual([...new Set(statuses)], [401]);
      const audited = (await acme.admin.audit({ limit: 1000 })).entries.filter((e) => e.action === 'oidc.exchange_refused');
      assert.ok(audited.length <= 30, `${audited.length} refusals in the org's audit log within a minute`);
      assert.ok(audited.length >= 1);
    },
  );
}
