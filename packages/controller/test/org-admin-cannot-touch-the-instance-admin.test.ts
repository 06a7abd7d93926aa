/**
 * The instance admin stands outside every org: an org admin (even of the default org, where the
 * instance admin token lives) can neither list nor revoke it. Replacing it is explicit: rotation
 * (POST /v1/instance-admin/rotate) or starting with a changed BUILDMESH_ADMIN_TOKEN; either revokes the old one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

test('org admins cannot list or revoke the instance admin token; rotation and a new env token replace it', async () => {
  const controller = await startControllerProcess();
  try {
    const instanceToken = (await controller.admin.whoami()).token;
    assert.equal(instanceToken.instanceAdmin, true);
    const created = await controller.admin.createToken({ name: 'default-admin', role: 'admin' });
    const defaultAdmin = controller.admin.withToken(created.secret);
    assert.equal((await defaultAdmin.whoami()).org.id, instanceToken.orgId, 'an admin of the default org');
    const other = await createTenant(controller, 'acme');

    for (const [who, client] of [['default-org admin', defaultAdmin], ['other-org admin', other.admin]] as const) {
      const listed = (await client.listTokens()).tokens;
      assert.ok(listed.every((t) => !t.instanceAdmin), `${who}: no instance admin token in its list`);
      await rejectsWith(client.revokeToken(instanceToken.id), 'NOT_FOUND', `${who}: revoke`);
      await rejectsWith(client.rotateInstanceAdminToken(), 'FORBIDDEN', `${who}: rotate`);
    }
    assert.equal((await controller.admin.whoami()).token.revokedAt, null, 'the instance admin still works');
    assert.ok((await controller.admin.listTokens()).tokens.some((t) => t.id === instanceToken.id), 'the instance admin sees itself');
    await rejectsWith(controller.admin.revokeToken(instanceToken.id), 'CONFLICT', 'the instance admin token is rotated, not revoked');

    // Rotation: the new token works at once, the old one never again.
    const rotated = await controller.admin.rotateInstanceAdminToken();
    assert.deepEqual(rotated.revoked, [instanceToken.id]);
    const fresh = controller.admin.withToken(rotated.secret);
    assert.equal((await fresh.whoami()).token.instanceAdmin, true);
    await rejectsWith(controller.admin.whoami(), 'UNAUTHENTICATED', 'the rotated-out token');

    // A restart with the old (rotated-out) BUILDMESH_ADMIN_TOKEN does not bring it back.
    await controller.kill('SIGTERM');
    await controller.restart();
    await rejectsWith(controller.admin.whoami(), 'UNAUTHENTICATED', 'the old env token after a restart');
    assert.equal((await fresh.whoami()).token.instanceAdmin, true, 'the rotated token survives the restart');

    // A changed BUILDMESH_ADMIN_TOKEN replaces the instance admin token (the way back in).
    const changed = `changed-admin-${randomBytes(18).toString('hex')}`;
    await controller.kill('SIGTERM');
    await controller.restart({ BUILDMESH_ADMIN_TOKEN: changed });
    const byEnv = controller.admin.withToken(changed);
    assert.equal((await byEnv.whoami()).token.instanceAdmin, true, 'the new env token is the instance admin');
    await rejectsWith(fresh.whoami(), 'UNAUTHENTICATED', 'the previous instance admin token is revoked');
    const live = (await byEnv.listTokens()).tokens.filter((t) => t.instanceAdmin && t.revokedAt === null);
    assert.equal(live.length, 1, 'exactly one live instance admin token');
    assert.equal((await defaultAdmin.whoami()).token.instanceAdmin, false, 'org tokens are untouched');
  } finally {
    await controller.dispose();
  }
});
