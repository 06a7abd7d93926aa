/**
 * Every org trusts the same public issuers (GitHub Actions by default) with the same default audience
 * (`buildmesh`), and the exchange takes the oldest matching rule of *any* org. So an org admin who adds a
 * catch-all rule (`repository == "*"`) before a victim org adds its own captures the victim's CI: the
 * victim's job gets a token of the attacker's org, submits its source there, and may download artifacts
 * built by the attacker's own workers. What must hold: a CI identity another org trusts is never exchanged
 * for a token of an org that did not ask for it. (The loopback issuer stands in for GitHub here.)
 * TODO (security, found by review): fails today; the fix is the lead's (e.g. the exchange names its org,
 * or a rule's audience must identify its org).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLoopbackIssuer } from '../../../test/helpers/oidc-issuer.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

test("one org's trust rule never captures another org's CI identity", { todo: 'cross-tenant capture of CI identities: not fixed yet', timeout: 60_000 }, async () => {
  const issuer = await startLoopbackIssuer();
  const controller = await startControllerProcess({ env: { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' } });
  try {
    const evil = await createTenant(controller, 'evil');
    const acme = await createTenant(controller, 'acme');
    // The attacker's catch-all rule comes first (it may be refused: then nothing is captured).
    await evil.admin.createTrustRule({ name: 'catch-all', issuer: issuer.issuer, audience: 'buildmesh', condition: 'repository == "*"', role: 'member' }).catch(() => undefined);
    await acme.admin.createTrustRule({ name: 'app-main', issuer: issuer.issuer, audience: 'buildmesh', condition: 'repository == "acme/app"', role: 'member' });

    const idToken = await issuer.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', aud: 'buildmesh' });
    const response = await fetch(`${controller.url}/v1/oidc/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: idToken }) });
    const body = (await response.json()) as { orgId?: string };
    assert.notEqual(body.orgId, evil.org.id, "acme's CI job was given a token of the attacker's org");
  } finally {
    await controller.dispose();
    await issuer.close();
  }
});
