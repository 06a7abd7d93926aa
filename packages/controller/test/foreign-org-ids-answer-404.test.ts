import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { startControllerProcess, type ControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, keepLeased, streamOf, tinyTarGz, type Tenant } from './helpers/fixtures.js';

interface Call {
  method: string;
  path: string;
  json?: unknown;
  accept?: string;
  /** Needs an admin token: a member is stopped by the role check (403, whatever the id) before any lookup. */
  admin?: boolean;
}

async function call(controller: ControllerProcess, token: string, c: Call): Promise<{ status: number; code?: string }> {
  const response = await fetch(controller.url + c.path, {
    method: c.method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(c.json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(c.accept ? { accept: c.accept } : {}),
    },
    body: c.json !== undefined ? JSON.stringify(c.json) : undefined,
  });
  const text = await response.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: response.status, code };
}

/** Everything the victim org can see about itself, minus timestamps that reads may touch. */
async function snapshot(t: Tenant, buildId: string): Promise<unknown> {
  const strip = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (k, v: unknown) => (k === 'lastUsedAt' || k === 'lastSeenAt' || k === 'state' || k === 'leaseExpiresAt' || k === 'queue' ? undefined : v)));
  return strip({
    builds: await t.admin.listBuilds(),
    build: await t.admin.getBuild(buildId),
    logs: await t.admin.readLogs(buildId),
    artifacts: await t.admin.listArtifacts(buildId),
    tokens: await t.admin.listTokens(),
    enrollment: await t.admin.listEnrollmentTokens(),
    workers: await t.admin.listWorkers(),
    projects: await t.admin.listProjects(),
    credentials: await t.admin.getCredentials('victim-app'),
    secrets: await t.admin.listSecrets('victim-app'),
  });
}

test('every user route answers 404 for another org’s ids and changes nothing', async () => {
  const controller = await startControllerProcess({ env: { BUILDMESH_LEASE_TTL_MS: '5000', BUILDMESH_HEARTBEAT_INTERVAL_MS: '500' } });
  try {
    const victim = await createTenant(controller, 'victim');
    const attacker = await createTenant(controller, 'attacker');

    // The victim org with one of everything.
    await victim.member.createProject('victim-app');
    await victim.member.putCredentials('victim-app', { android: { keystore: { keystoreBase64: 'AAAA', keystorePassword: 'pw', keyAlias: 'k' } } });
    await victim.member.setSecret('victim-app', 'TOKEN', 'value');
    const worker = await enrollWorker(victim.admin);
    const enrollment = (await victim.admin.createEnrollmentToken('victim-enr')).enrollmentToken;
    const victimToken = (await victim.admin.createToken({ name: 'victim-ci', role: 'member' })).token;
    const finished = await victim.member.createBuild(buildSpec({ project: 'victim-app' }), streamOf(await tinyTarGz('v1')));
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, finished.id);
    const stop = keepLeased(worker, job.attempt.id);
    await worker.client.sendLogs(job.attempt.id, { seq: 1, lines: [{ t: Date.now(), stream: 'stdout', text: 'victim log' }] });
    const bytes = Buffer.from('victim artifact');
    const artifact = await worker.client.uploadArtifact(job.attempt.id, {
      name: 'victim.apk',
      kind: 'application-archive',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      stream: Readable.from([bytes]),
    });
    await worker.client.finish(job.attempt.id, { outcome: 'succeeded' });
    stop();
    const queued = await victim.member.createBuild(buildSpec({ project: 'victim-app', platform: 'ios' }), streamOf(await tinyTarGz('v2')));

    // The attacker has its own build and project, so "own id + foreign id" combinations exist too.
    await attacker.member.createProject('attacker-app');
    const own = await attacker.member.createBuild(buildSpec({ project: 'attacker-app', platform: 'ios' }), streamOf(await tinyTarGz('a1')));

    const before = await snapshot(victim, queued.id);
    const b = finished.id;
    const matrix: Call[] = [
      { method: 'GET', path: `/v1/builds/${b}` },
      { method: 'GET', path: `/v1/builds/${queued.id}` },
      { method: 'POST', path: `/v1/builds/${queued.id}/cancel` },
      { method: 'POST', path: `/v1/builds/${b}/retry` },
      { method: 'GET', path: `/v1/builds/${b}/logs` },
      { method: 'GET', path: `/v1/builds/${b}/logs?follow=true`, accept: 'text/event-stream' },
      { method: 'GET', path: `/v1/builds/${b}/artifacts` },
      { method: 'GET', path: `/v1/builds/${b}/artifacts/${artifact.id}` },
      { method: 'GET', path: `/v1/builds/${own.id}/artifacts/${artifact.id}` },
      { method: 'DELETE', path: `/v1/tokens/${victimToken.id}`, admin: true },
      { method: 'DELETE', path: `/v1/enrollment-tokens/${enrollment.id}`, admin: true },
      { method: 'DELETE', path: `/v1/workers/${worker.workerId}`, admin: true },
      { method: 'POST', path: '/v1/tokens', json: { name: 'stolen', role: 'admin', orgId: victim.org.id }, admin: true },
    ];
    for (const c of matrix) {
      assert.deepEqual(await call(controller, attacker.tokens.admin, c), { status: 404, code: 'NOT_FOUND' }, `admin ${c.method} ${c.path}`);
      const expected = c.admin ? { status: 403, code: 'FORBIDDEN' } : { status: 404, code: 'NOT_FOUND' };
      assert.deepEqual(await call(controller, attacker.tokens.member, c), expected, `member ${c.method} ${c.path}`);
    }
    // Read-only tokens: the same for reads (writes stop earlier, at the role check).
    for (const c of matrix.filter((m) => m.method === 'GET')) {
      assert.deepEqual(await call(controller, attacker.tokens.reader, c), { status: 404, code: 'NOT_FOUND' }, `read-only ${c.path}`);
    }

    // Lists never show the other org's rows.
    const leaked = JSON.stringify([
      await attacker.admin.listBuilds(),
      await attacker.admin.listProjects(),
      await attacker.admin.listTokens(),
      await attacker.admin.listEnrollmentTokens(),
      await attacker.admin.listWorkers(),
      await attacker.admin.listOrgs(),
    ]);
    for (const id of [finished.id, queued.id, victimToken.id, enrollment.id, worker.workerId, victim.org.id, 'victim-app']) {
      assert.ok(!leaked.includes(id), `attacker lists mention ${id}`);
    }

    const after = await snapshot(victim, queued.id);
    assert.deepEqual(after, before, 'the victim org is unchanged');

    // A project is named within its org (a first secret or build creates it): the attacker's
    // "victim-app" is its own, empty project, and writing to it touches nothing of the victim's.
    assert.deepEqual((await attacker.admin.getCredentials('victim-app')).android, null);
    assert.deepEqual((await attacker.admin.listSecrets('victim-app')).secrets, []);
    await attacker.admin.putCredentials('victim-app', { android: { keystore: { keystoreBase64: 'BBBB', keystorePassword: 'x', keyAlias: 'evil' } } });
    await attacker.admin.setSecret('victim-app', 'TOKEN', 'evil');
    await attacker.admin.deleteSecret('victim-app', 'TOKEN');
    assert.deepEqual(await snapshot(victim, queued.id), before, 'writes to the attacker’s own project of that name left the victim’s alone');
    // And its own credentials still work.
    assert.equal((await victim.member.withToken(victim.tokens.member).getBuild(queued.id)).status, 'queued');
  } finally {
    await controller.dispose();
  }
});
