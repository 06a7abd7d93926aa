/**
 * An org admin must not make the controller probe its own host: without the operator's
 * BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1 a trust rule naming a loopback issuer is refused when added,
 * and a rule added while the opt-in was on is refused at connect time once it is off, before any
 * request: the live issuer counts none, and the refusal reads the same whether a port answers or not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { ApiErrors, BuildMeshClient, type CreateTrustRuleRequest } from '@buildmesh/protocol';
import { startLoopbackIssuer } from '../../../test/helpers/oidc-issuer.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';
import { refusal } from './helpers/expect.js';

const AUD = 'buildmesh-test';
const CLAIMS = { sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', aud: AUD };
const rule = (name: string, issuer: string): CreateTrustRuleRequest => ({ name, issuer, audience: AUD, condition: 'repository == "acme/app"', role: 'member' });

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('loopback OIDC issuers are refused when a rule is added and at connect time unless the operator allows them; nothing is requested', { timeout: 120_000 }, async () => {
  const issuer = await startLoopbackIssuer();
  const port = new URL(issuer.issuer).port;
  const spellings = [issuer.issuer, `http://localhost:${port}`, `http://[::1]:${port}`];
  const nobody = `http://127.0.0.1:${await closedPort()}`;
  const controller = await startControllerProcess();
  try {
    const acme = await createTenant(controller, 'acme');
    const anon = new BuildMeshClient({ url: controller.url, timeoutMs: 10_000 });

    // Add time: refused with what the operator must set; nothing stored, nothing requested.
    for (const [i, spelling] of [...spellings, nobody].entries()) {
      const err = await refusal(acme.admin.createTrustRule(rule(`local-${i}`, spelling)));
      assert.equal(err.code, 'VALIDATION_FAILED', spelling);
      assert.equal(err.status, 400, spelling);
      assert.match(err.message, /loopback address .*BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1/, spelling);
    }
    assert.deepEqual((await acme.admin.listTrustRules()).rules, [], 'nothing was stored');
    assert.equal(issuer.requests, 0, 'the add-time check sent nothing');

    // The control: with the opt-in the same issuer is added and its tokens exchange (the issuer is real and reachable).
    await controller.kill('SIGTERM');
    await controller.restart({ BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' });
    for (const [i, spelling] of [...spellings, nobody].entries()) await acme.admin.createTrustRule(rule(`local-${i}`, spelling));
    assert.equal((await anon.exchangeOidcToken(await issuer.sign(CLAIMS), acme.org.id)).orgId, acme.org.id);
    assert.ok(issuer.requests >= 2, 'discovery and keys were fetched with the opt-in');

    // Connect time: the rules are still stored, but without the opt-in no exchange reaches the issuer.
    await controller.kill('SIGTERM');
    await controller.restart({ BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '0' });
    const before = issuer.requests;
    const messages = new Map<string, string>();
    for (const spelling of [...spellings, nobody]) {
      const err = await refusal(anon.exchangeOidcToken(await issuer.sign({ ...CLAIMS, iss: spelling }), acme.org.id));
      assert.equal(err.code, 'OIDC_TOKEN_REFUSED', spelling);
      assert.equal(err.message, ApiErrors.OIDC_TOKEN_REFUSED.message, spelling);
      messages.set(spelling, err.message);
    }
    assert.equal(issuer.requests, before, 'no exchange connected to the loopback issuer');
    // Why, with the setting that would allow it, is for the operator: the controller's log.
    assert.match(controller.output(), /is a loopback address \(the controller's own host\), refused unless the operator sets BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1/);
    // A listening port and a closed one are refused alike: the answer tells nothing about the host's ports.
    assert.equal(messages.get(issuer.issuer), messages.get(nobody));
  } finally {
    await controller.dispose();
    await issuer.close();
  }
});
