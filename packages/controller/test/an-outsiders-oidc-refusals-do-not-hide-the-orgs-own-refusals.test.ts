/**
 * Attacker review: refused exchanges reach an org's audit log at most 30 a minute, counted
 * per org and action. Anyone can mint a genuine ID token of a public issuer the org trusts (any CI job of
 * theirs), so an outsider spends the minute's 30 with refusals of their own subject, and the refusals of the
 * org's own CI identities (e.g. someone probing from a branch of the org's repository) then reach only the
 * controller's log. Measured on both stores: after 200 outsider refusals, 30 entries, none of the org's own.
 * What must hold: one subject's refusals cannot use up the entries another subject's refusals get.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pgSkip } from '../../../test/helpers/postgres.js';
import { orgTrustingALoopbackIssuer } from './helpers/oidc-org.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(
    `${store}: an outsider's refused exchanges do not keep the org's own refused exchange out of its audit log`,
    { skip: store === 'postgres' ? pgSkip : false, timeout: 90_000 },
    async (t) => {
      const { issuer, acme, exchange } = await orgTrustingALoopbackIssuer(store, t);
      const outsider = await issuer.sign({ sub: 'repo:someone/else:ref:refs/heads/x', ref: 'refs/heads/x', aud: 'buildmesh' });
      assert.equal(await exchange(outsider), 401);
      const statuses = await Promise.all(Array.from({ length: 200 }, () => exchange(outsider)));
      assert.deepEqual([...new Set(statuses)], [401]);
      const own = await issuer.sign({ sub: 'repo:acme/app:ref:refs/heads/feature', ref: 'refs/heads/feature', aud: 'buildmesh' });
      assert.equal(await exchange(own), 401);
      const refused = (await acme.admin.audit({ limit: 1000 })).entries.filter((e) => e.action === 'oidc.exchange_refused');
      assert.ok(
        refused.some((e) => JSON.stringify(e).includes('repo:acme/app')),
        `the org's own refusal is missing from its audit log (${refused.length} outsider refusals there)`,
      );
    },
  );
}
