/**
 * Every org trusts the same public issuers (GitHub Actions by default) with the same default audience
 * (`buildmesh`). When the exchange took the oldest matching rule of *any* org, an org admin who added a
 * catch-all rule (`repository == "*"`) before a victim org added its own captured the victim's CI: the
 * victim's job got a token of the attacker's org, submitted its source there, and could download
 * artifacts built by the attacker's own workers. What must hold: an exchange names its org and only that
 * org's rules are tried, so a CI identity another org trusts is never exchanged for a token of an org that
 * did not ask for it, and the attacker's org sees nothing of it. (The loopback issuer stands in for GitHub.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startLoopbackIssuer } from '../../../test/helpers/oidc-issuer.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

test("one org's trust rule never captures another org's CI identity", { timeout: 60_000 }, async () => {
  const issuer = await startLoopbackIssuer();
  const controller = await startControllerProcess({ env: { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' } });
  try {
    const evil = await createTenant(controller, 'evil');
    const acme = await createTenant(controller, 'acme');
    const exchange = async (body: unknown) => {
      const response = await fetch(`${controller.url}/v1/oidc/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { orgId?: string; ruleId?: string; error?: { code: string } } };
    };
    const idToken = await issuer.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', ref: 'refs/heads/main', aud: 'buildmesh' });

    // The attacker's catch-all rule comes first.
    await evil.admin.createTrustRule({ name: 'catch-all', issuer: issuer.issuer, audience: 'buildmesh', condition: 'repository == "*"', role: 'member' });

    // Before acme trusts its CI, acme's job is refused: not handed a token of the org whose rule would match.
    const early = await exchange({ token: idToken, org: acme.org.id });
    assert.equal(early.status, 401);
    assert.equal(early.body.error?.code, 'OIDC_TOKEN_REFUSED');
    assert.notEqual(early.body.orgId, evil.org.id);

    const rule = await acme.admin.createTrustRule({ name: 'app-main', issuer: issuer.issuer, audience: 'buildmesh', condition: 'repository == "acme/app"', role: 'member' });
    for (const org of [acme.org.id, acme.org.name]) {
      const { status, body } = await exchange({ token: idToken, org });
      assert.equal(status, 201, `named by ${org}`);
      assert.notEqual(body.orgId, evil.org.id, "acme's CI job was given a token of the attacker's org");
      assert.equal(body.orgId, acme.org.id);
      assert.equal(body.ruleId, rule.id);
    }

    // No exchange without an org: nothing falls back to "any org's rule".
    const unnamed = await exchange({ token: idToken });
    assert.equal(unnamed.status, 400);
    assert.equal(unnamed.body.error?.code, 'VALIDATION_FAILED');

    // The attacker's org holds no trace of acme's CI; acme's holds its exchanges.
    const evilLog = (await evil.admin.audit()).entries;
    assert.ok(!evilLog.some((e) => e.action.startsWith('oidc.')), JSON.stringify(evilLog.filter((e) => e.action.startsWith('oidc.'))));
    assert.equal((await acme.admin.audit()).entries.filter((e) => e.action === 'oidc.exchange').length, 2);
  } finally {
    await controller.dispose();
    await issuer.close();
  }
});
