/**
 * An org admin names an OIDC issuer, and the controller then fetches from it: an issuer (or the key
 * set its discovery document names) on a private, link-local or CGNAT address is refused unless the
 * operator allows it (BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS=1), so a trust rule is no way into the
 * controller's network (cloud metadata, internal services). Loopback issuers (the controller's own
 * host) are refused too unless the operator allows them (BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1, or
 * the private allowance, which includes loopback); even then a public name resolving to loopback is not one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issuerAddressRefused } from '../src/auth/oidc-exchange.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

const rule = (issuer: string) => ({ name: 'ci', issuer, audience: 'buildmesh', condition: 'repository == "acme/app"', role: 'member' as const });

test('trust rules naming issuers on private networks or loopback are refused unless the operator allows them', async () => {
  for (const issuer of ['https://169.254.169.254', 'https://10.0.0.7/oidc', 'https://192.168.1.10', 'https://100.64.0.1', 'https://[fd00::1]']) {
    assert.match((await issuerAddressRefused(issuer, {})) ?? '', /private address/, issuer);
    assert.match((await issuerAddressRefused(issuer, { loopback: true })) ?? '', /private address/, `${issuer}: the loopback allowance is not a private one`);
    assert.equal(await issuerAddressRefused(issuer, { private: true }), null, `${issuer} with the operator's allowance`);
  }
  for (const issuer of ['http://127.0.0.1:4000', 'http://[::1]:4000', 'http://localhost:4000', 'https://127.1']) {
    assert.match((await issuerAddressRefused(issuer, {})) ?? '', /is a loopback address \(the controller's own host\), refused unless the operator sets BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS=1/, issuer);
    assert.equal(await issuerAddressRefused(issuer, { loopback: true }), null, `${issuer} with the loopback allowance`);
    assert.equal(await issuerAddressRefused(issuer, { private: true }), null, `${issuer} with the private allowance`);
  }
  // A public name resolving to loopback is never a loopback issuer (DNS rebinding).
  const toLoopback = async () => [{ address: '127.0.0.1', family: 4 }];
  for (const allowed of [{}, { loopback: true }]) {
    const refused = (await issuerAddressRefused('https://idp.example', allowed, toLoopback)) ?? '';
    assert.match(refused, /idp\.example resolves to an address that is a loopback address, allowed only for a loopback issuer named/);
    assert.doesNotMatch(refused, /resolves to 127/, "the org admin is not told what the controller's DNS answered");
  }
  assert.equal(await issuerAddressRefused('https://93.184.216.34', {}), null, 'a public address');

  const controller = await startControllerProcess();
  try {
    const acme = await createTenant(controller, 'acme');
    await rejectsWith(acme.admin.createTrustRule(rule('https://169.254.169.254')), 'VALIDATION_FAILED', 'cloud metadata as an issuer');
    await rejectsWith(acme.admin.createTrustRule(rule('https://10.0.0.7/oidc')), 'VALIDATION_FAILED', 'a private network issuer');
    await rejectsWith(acme.admin.createTrustRule(rule('http://127.0.0.1:4000')), 'VALIDATION_FAILED', 'a loopback issuer');
    assert.deepEqual((await acme.admin.listTrustRules()).rules, [], 'nothing was stored');
  } finally {
    await controller.dispose();
  }

  const allowingLoopback = await startControllerProcess({ env: { BUILDMESH_OIDC_ALLOW_LOOPBACK_ISSUERS: '1' } });
  try {
    const acme = await createTenant(allowingLoopback, 'acme');
    assert.equal((await acme.admin.createTrustRule(rule('http://127.0.0.1:4000'))).issuer, 'http://127.0.0.1:4000');
    await rejectsWith(acme.admin.createTrustRule(rule('https://10.0.0.7/oidc')), 'VALIDATION_FAILED', 'a private network issuer, loopback allowed');
  } finally {
    await allowingLoopback.dispose();
  }

  const allowing = await startControllerProcess({ env: { BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS: '1' } });
  try {
    const acme = await createTenant(allowing, 'acme');
    assert.equal((await acme.admin.createTrustRule(rule('https://10.0.0.7/oidc'))).issuer, 'https://10.0.0.7/oidc');
    assert.equal((await acme.admin.createTrustRule({ ...rule('http://[::1]:4000'), name: 'local' })).issuer, 'http://[::1]:4000');
  } finally {
    await allowing.dispose();
  }
});
