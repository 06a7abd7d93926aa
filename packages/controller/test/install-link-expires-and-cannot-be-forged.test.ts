/** Install grants (the dashboard's QR links): they open until they expire, and an altered or foreign-key one never does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Keyring } from '../src/crypto/keyring.js';
import { mintInstallGrant, openInstallGrant } from '../src/auth/install-grants.js';

const where = { orgId: 'org_01aaaaaaaaaaaaaaaaaaaaaaaa', buildId: 'bld_01aaaaaaaaaaaaaaaaaaaaaaaa', artifactId: 'art_01aaaaaaaaaaaaaaaaaaaaaaaa' };

void test('an install grant opens until it expires, and not when altered or sealed with another key', () => {
  const keyring = new Keyring(randomBytes(32));
  const now = Date.now();
  const grant = mintInstallGrant(keyring, where, now + 60_000);
  assert.ok(grant.length <= 240, `fits the route's pattern (${grant.length})`);
  assert.match(grant, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(openInstallGrant(keyring, grant, now), where);
  assert.equal(openInstallGrant(keyring, grant, now + 60_000), undefined, 'expired');
  const flipped = Buffer.from(grant, 'base64url');
  flipped[20] = flipped[20]! ^ 1;
  assert.equal(openInstallGrant(keyring, flipped.toString('base64url'), now), undefined, 'altered');
  assert.equal(openInstallGrant(new Keyring(randomBytes(32)), grant, now), undefined, 'another instance key');
  // A sealed value of another kind (credentials, secrets) is not a grant.
  assert.equal(openInstallGrant(keyring, keyring.sealJson({ o: where.orgId, b: where.buildId, a: where.artifactId, e: now + 60_000 }).toString('base64url'), now), undefined);
});
