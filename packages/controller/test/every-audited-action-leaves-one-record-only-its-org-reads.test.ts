import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ApiError, type AuditEntry } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';

const count = (entries: AuditEntry[]) => {
  const by = new Map<string, number>();
  for (const e of entries) by.set(e.action, (by.get(e.action) ?? 0) + 1);
  return Object.fromEntries([...by].sort(([a], [b]) => a.localeCompare(b)));
};

test('every audited action leaves exactly one record, readable only by its org and the instance admin; the log cannot be altered', { timeout: 120_000 }, async () => {
  const controller = await startControllerProcess();
  try {
    const tenant = await createTenant(controller, 'acme'); // org.create + 3 × token.create
    const other = await createTenant(controller, 'globex');
    const admin = tenant.admin;

    const extra = await admin.createToken({ name: 'ci', role: 'member' });
    await admin.revokeToken(extra.token.id);
    const enrollment = await admin.createEnrollmentToken('rack');
    await admin.revokeEnrollmentToken(enrollment.enrollmentToken.id);
    const worker = await enrollWorker(admin, { platforms: ['android'] }); // enrollment_token.create + worker.enroll
    await tenant.member.createProject('app');
    await admin.putCredentials('app', {
      android: { keystore: { keystoreBase64: Buffer.from('keystore').toString('base64'), keystorePassword: 'pw-secret', keyAlias: 'upload', keyPassword: 'kpw-secret' } },
    });
    await tenant.member.setSecret('app', 'NPM_TOKEN', 'npm-secret-value');
    const build = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz()));
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, build.id);
    await worker.client.json('GET', `/v1/attempts/${job!.attempt.id}/secrets`); // credentials.read + secrets.read
    await tenant.member.cancelBuild(build.id);
    await tenant.member.retryBuild(build.id);
    await tenant.member.deleteSecret('app', 'NPM_TOKEN');
    await admin.deleteCredentials('app', 'android');
    await admin.removeWorker(worker.workerId);
    await controller.admin.withToken(tenant.tokens.reader).createSession({ token: tenant.tokens.reader }); // a sign-in
    await controller.admin.rotateInstanceAdminToken().then((r) => {
      controller.admin = controller.admin.withToken(r.secret);
    });

    const mine = (await admin.audit()).entries;
    assert.deepEqual(count(mine), {
      'build.cancel': 1,
      'build.retry': 1,
      'credentials.delete': 1,
      'credentials.read': 1,
      'credentials.set': 1,
      'enrollment_token.create': 2,
      'enrollment_token.revoke': 1,
      'org.create': 1,
      'secret.delete': 1,
      'secret.set': 1,
      'secrets.read': 1,
      'session.create': 1,
      'token.create': 4,
      'token.revoke': 1,
      'worker.enroll': 1,
      'worker.revoke': 1,
    });
    for (const e of mine) {
      assert.equal(e.orgId, tenant.org.id);
      assert.equal(e.ip, '127.0.0.1');
      assert.ok(e.actorId && e.actorName, `${e.action} names its actor`);
    }
    const by = (action: string) => mine.find((e) => e.action === action)!;
    assert.equal(by('token.revoke').actorName, 'acme-admin');
    assert.equal(by('secret.set').actorName, 'acme-member');
    assert.deepEqual(by('secret.set').details, { project: 'app', name: 'NPM_TOKEN' });
    assert.equal(by('secrets.read').actorKind, 'worker');
    assert.equal(by('secrets.read').actorId, worker.workerId);
    assert.deepEqual((by('secrets.read').details as { names: string[] }).names, ['NPM_TOKEN']);
    assert.equal(by('session.create').actorName, 'acme-read-only');
    assert.equal(by('worker.enroll').actorKind, 'enrollment-token');
    assert.ok(!JSON.stringify(mine).includes('secret-value') && !JSON.stringify(mine).includes('pw-secret'), 'no secret value in the log');

    // Another org sees only its own; a member sees nothing; the instance admin sees everything.
    const theirs = (await other.admin.audit()).entries;
    assert.ok(theirs.length > 0 && theirs.every((e) => e.orgId === other.org.id));
    await assert.rejects(tenant.member.audit(), (e: unknown) => e instanceof ApiError && e.code === 'FORBIDDEN');
    const all = (await controller.admin.audit({ limit: 1000 })).entries;
    assert.equal(all.filter((e) => e.orgId === tenant.org.id).length, mine.length);
    assert.equal(all.filter((e) => e.action === 'instance_admin.rotate').length, 1);
    const since = (await admin.audit({ since: by('build.retry').createdAt })).entries;
    assert.ok(since.length < mine.length && since.every((e) => e.createdAt >= by('build.retry').createdAt));

    // Append-only: no route changes it, and the database refuses UPDATE and DELETE.
    for (const method of ['DELETE', 'PUT', 'PATCH'] as const) {
      await assert.rejects(admin.json(method, '/v1/audit', method === 'DELETE' ? {} : { json: {} }), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
    }
    const db = new Database(join(controller.dataDir, 'controller.db'));
    try {
      assert.throws(() => db.prepare("update audit_log set actor_name = 'someone else'").run(), /append-only/);
      assert.throws(() => db.prepare('delete from audit_log').run(), /append-only/);
    } finally {
      db.close();
    }
  } finally {
    await controller.dispose();
  }
});
