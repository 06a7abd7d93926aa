/**
 * Attacker review: the OIDC exchange takes `org` as an id when it is id-shaped
 * (`org_` and 26 base-32 characters), else as a name. Org names allow that shape, so an org can be
 * created whose NAME is another org's ID. Its CI, configured with `--org <its name>` as the docs allow,
 * is then exchanged against the other org's rules: with that org's catch-all rule it gets a token of the
 * other org (its source goes there; measured here), without one its refusals and claims land in the other
 * org's audit log. What must hold: a name shaped like an org id is refused when an org is created (400
 * VALIDATION_FAILED), so a name never reads as an id.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '@buildmesh/protocol';
import { startLoopbackIssuer } from '../../../test/helpers/oidc-issuer.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';

test('an org cannot be named like an org id, so an exchange by name never reaches another org', { timeout: 60_000 }, async (t) => {
  const issuer = await startLoopbackIssuer();
  t.after(() => issuer.close());
  const controller = await startControllerProcess({ env: { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' } });
  t.after(() => controller.dispose());
  const acme = await createTenant(controller, 'acme');
  await acme.admin.createTrustRule({ name: 'catch-all', issuer: issuer.issuer, audience: 'buildmesh', condition: 'repository == "*"', role: 'member' });

  let created: Awaited<ReturnType<typeof createTenant>> | undefined;
  try {
    created = await createTenant(controller, acme.org.id);
  } catch (err) {
    assert.ok(err instanceof ApiError && err.status === 400 && err.code === 'VALIDATION_FAILED', String(err));
  }
  if (created) {
    // What the refusal prevents: the org named like acme's id, exchanging by its own name, gets acme's token.
    await created.admin.createTrustRule({ name: 'ci', issuer: issuer.issuer, audience: 'buildmesh', condition: 'repository == "victim/app"', role: 'member' });
    const token = await issuer.sign({ sub: 'repo:victim/app', repository: 'victim/app', aud: 'buildmesh' });
    const response = await fetch(`${controller.url}/v1/oidc/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, org: created.org.name }) });
    const body = (await response.json()) as { orgId?: string };
    assert.notEqual(body.orgId, acme.org.id, 'an exchange naming an org by its name got a token of the org whose id that name is');
    assert.fail(`an org named like an org id was created (${created.org.name})`);
  }
});
