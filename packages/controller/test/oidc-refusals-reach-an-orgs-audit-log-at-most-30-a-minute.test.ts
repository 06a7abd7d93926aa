/**
 * Anyone holding a genuine ID token of an issuer an org trusts (any CI job of that issuer) can ask for an
 * exchange again and again: each refusal whose signature held is the org's business and goes to its audit
 * log, but at most 30 a minute; the rest go to the controller's log only, so nobody can flood an org's log.
 * That more were dropped is itself in the org's log, once a minute (oidc.exchange_refusals_dropped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildMeshClient } from '@buildmesh/protocol';
import { startLoopbackIssuer } from '../../../test/helpers/oidc-issuer.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';
import { refusal } from './helpers/expect.js';

test('refused OIDC exchanges reach the org’s audit log at most 30 a minute, the rest the controller’s log', { timeout: 60_000 }, async () => {
  const issuer = await startLoopbackIssuer();
  const controller = await startControllerProcess({ env: { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' } });
  try {
    const tenant = await createTenant(controller, 'acme');
    await tenant.admin.createTrustRule({ name: 'main', issuer: issuer.issuer, audience: 'buildmesh', condition: 'ref == "refs/heads/main"', role: 'member' });
    const anon = new BuildMeshClient({ url: controller.url, timeoutMs: 10_000 });
    const outsider = await issuer.sign({ sub: 'repo:someone/else:ref:refs/heads/x', ref: 'refs/heads/x', aud: 'buildmesh' });
    for (let i = 0; i < 40; i++) assert.equal((await refusal(anon.exchangeOidcToken(outsider, tenant.org.id))).code, 'OIDC_TOKEN_REFUSED');
    const entries = (await tenant.admin.audit()).entries;
    assert.equal(entries.filter((e) => e.action === 'oidc.exchange_refused').length, 30);
    const dropped = entries.filter((e) => e.action === 'oidc.exchange_refusals_dropped');
    assert.equal(dropped.length, 1, 'one notice that refusals were dropped this minute, however many were');
    assert.equal(dropped[0]!.actorId, 'repo:someone/else:ref:refs/heads/x');
    assert.equal(controller.output().split('OIDC token exchange refused').length - 1, 10, 'the other 10 are in the controller log');
  } finally {
    await controller.dispose();
    await issuer.close();
  }
});
