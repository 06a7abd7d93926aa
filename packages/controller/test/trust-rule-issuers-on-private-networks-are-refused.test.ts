/**
 * An org admin names an OIDC issuer, and the controller then fetches from it: an issuer (or the key
 * set its discovery document names) on a private, link-local or CGNAT address is refused unless the
 * operator allows it (BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS=1), so a trust rule is no way into the
 * controller's network (cloud metadata, internal services). Loopback stays allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issuerAddressRefused } from '../src/auth/oidc-exchange.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

const rule = (issuer: string) => ({ name: 'ci', issuer, audience: 'buildmesh', condition: 'repository == "acme/app"', role: 'member' as const });

test('trust rules naming issuers on private networks are refused unless the operator allows them; loopback is allowed', async () => {
  for (const issuer of ['https://169.254.169.254', 'https://10.0.0.7/oidc', 'https://192.168.1.10', 'https://100.64.0.1', 'https://[fd00::1]']) {
    assert.match((await issuerAddressRefused(issuer, false)) ?? '', /private address/, issuer);
    assert.equal(await issuerAddressRefused(issuer, true), null, `${issuer} with the operator's allowance`);
  }
  for (const issuer of ['http://127.0.0.1:4000', 'http://[::1]:4000', 'https://93.184.216.34']) assert.equal(await issuerAddressRefused(issuer, false), null, issuer);

  const controller = await startControllerProcess();
  try {
    const acme = await createTenant(controller, 'acme');
    await rejectsWith(acme.admin.createTrustRule(rule('https://169.254.169.254')), 'VALIDATION_FAILED', 'cloud metadata as an issuer');
    await rejectsWith(acme.admin.createTrustRule(rule('https://10.0.0.7/oidc')), 'VALIDATION_FAILED', 'a private network issuer');
    assert.deepEqual((await acme.admin.listTrustRules()).rules, [], 'nothing was stored');
    assert.equal((await acme.admin.createTrustRule(rule('http://127.0.0.1:4000'))).issuer, 'http://127.0.0.1:4000');
  } finally {
    await controller.dispose();
  }

  const allowing = await startControllerProcess({ env: { BUILDMESH_OIDC_ALLOW_PRIVATE_ISSUERS: '1' } });
  try {
    const acme = await createTenant(allowing, 'acme');
    assert.equal((await acme.admin.createTrustRule(rule('https://10.0.0.7/oidc'))).issuer, 'https://10.0.0.7/oidc');
  } finally {
    await allowing.dispose();
  }
});
