/**
 * Anyone holding a genuine ID token of an issuer an org trusts (any CI job of that issuer) can ask for an
 * exchange again and again: each refusal whose signature held is the org's business and goes to its audit
 * log, but at most 30 a minute; the rest go to the controller's log only, so nobody can flood an org's log.
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
    const audited = (await tenant.admin.audit()).entries.filter((e) => e.action === 'oidc.exchange_refused');
    assert.equal(audited.length, 30);
    assert.equal(controller.output().split('OIDC token exchange refused').length - 1, 10, 'the other 10 are in the controller log');
  } finally {
    await controller.dispose();
    await issuer.close();
  }
});
