import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BuildMeshClient } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';
import { bytesOf } from '../../../test/helpers/bytes.js';

async function blobCount(dataDir: string): Promise<number> {
  const root = join(dataDir, 'blobs', 'sha256');
  let n = 0;
  for (const dir of await readdir(root)) n += (await readdir(join(root, dir))).length;
  return n;
}

test('a worker reaches only the attempt it holds', async () => {
  const controller = await startControllerProcess();
  try {
    const tenant = await createTenant(controller, 'acme');
    const owner = await enrollWorker(tenant.admin, { name: 'owner' });
    const intruder = await enrollWorker(tenant.admin, { name: 'intruder' });
    const build = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('owned')), {
      credentials: { android: { keystore: { keystoreBase64: 'AAAA', keystorePassword: 'owner-only', keyAlias: 'key' } } },
    });
    const job = await owner.client.claim(2000);
    assert.equal(job?.build.id, build.id);
    const attemptId = job.attempt.id;
    // The intruder holds an attempt of its own, so it is a fully working worker.
    const other = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('other')));
    const otherJob = await intruder.client.claim(2000);
    assert.equal(otherJob?.build.id, other.id);

    const blobsBefore = await blobCount(controller.dataDir);
    const bytes = Buffer.from('not yours');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['heartbeat', () => intruder.client.heartbeat(attemptId)],
      ['source', () => intruder.client.source(attemptId)],
      ['secrets', () => intruder.client.attemptSecrets(attemptId)],
      ['logs', () => intruder.client.sendLogs(attemptId, { seq: 1, lines: [{ t: Date.now(), stream: 'stdout', text: 'forged' }] })],
      ['artifact', () => intruder.client.uploadArtifact(attemptId, { name: 'forged.apk', kind: 'application-archive', size: bytes.length, sha256, stream: Readable.from([bytes]) })],
      ['finish', () => intruder.client.finish(attemptId, { outcome: 'failed', error: { code: 'STEP_FAILED', message: 'forged' } })],
    ];
    for (const [what, attempt] of attempts) await rejectsWith(attempt(), 'NOT_FOUND', what);

    // Other kinds of credentials do not open worker routes, and a worker credential opens no user route.
    const asUser = new BuildMeshClient({ url: controller.url, token: controller.adminToken });
    await rejectsWith(asUser.heartbeat(attemptId), 'UNAUTHENTICATED', 'user token on a worker route');
    await rejectsWith(asUser.attemptSecrets(attemptId), 'UNAUTHENTICATED', 'user token on secrets');
    const enrollment = await tenant.admin.createEnrollmentToken('spare');
    await rejectsWith(tenant.admin.withToken(enrollment.secret).attemptSecrets(attemptId), 'UNAUTHENTICATED', 'enrollment token on secrets');
    await rejectsWith(owner.client.getBuild(build.id), 'UNAUTHENTICATED', 'worker credential on a user route');
    await rejectsWith(owner.client.withToken(`${owner.credential.slice(0, -4)}AAAA`).heartbeat(attemptId), 'UNAUTHENTICATED', 'forged credential');

    // Nothing the intruder sent was kept, and the owner's attempt is intact.
    assert.equal(await blobCount(controller.dataDir), blobsBefore, 'no blob stored for the refused artifact');
    const heartbeat = await owner.client.heartbeat(attemptId);
    assert.equal(heartbeat.cancel, false);
    const secrets = await owner.client.attemptSecrets(attemptId);
    assert.equal(secrets.credentials?.android?.keystore.keystorePassword, 'owner-only');
    const source = await bytesOf(await owner.client.source(attemptId));
    assert.ok(source.equals(await tinyTarGz('owned')));
    assert.deepEqual((await tenant.reader.readLogs(build.id)).entries, []);
    assert.deepEqual((await tenant.reader.listArtifacts(build.id)).artifacts, []);
    assert.equal((await tenant.reader.getBuild(build.id)).status, 'running');

    // Once the owner's lease ends, its own access ends too (409: it is the owner's, but over).
    await owner.client.finish(attemptId, { outcome: 'succeeded' });
    await rejectsWith(owner.client.source(attemptId), 'LEASE_LOST', 'source after finish');
    await rejectsWith(owner.client.attemptSecrets(attemptId), 'LEASE_LOST', 'secrets after finish');
    await rejectsWith(intruder.client.attemptSecrets(attemptId), 'NOT_FOUND', 'still not the intruder’s');
  } finally {
    await controller.dispose();
  }
});

test('a worker of another org never claims this org’s builds, a shared-pool worker does', async () => {
  const controller = await startControllerProcess();
  try {
    const acme = await createTenant(controller, 'acme');
    const globex = await createTenant(controller, 'globex');
    const outsider = await enrollWorker(globex.admin, { name: 'outsider' });
    await rejectsWith(acme.admin.createEnrollmentToken('shared', 'shared'), 'FORBIDDEN', 'only the instance admin makes shared tokens');
    const shared = await enrollWorker(controller.admin, { name: 'shared', pool: 'shared' });
    const build = await acme.member.createBuild(buildSpec(), streamOf(await tinyTarGz()));
    assert.equal(await outsider.client.claim(300), null, 'another org’s private worker gets nothing');
    const job = await shared.client.claim(2000);
    assert.equal(job?.build.id, build.id, 'the shared pool serves every org');
    const workers = (await acme.reader.listWorkers()).workers.map((w) => w.name).sort();
    assert.deepEqual(workers, ['shared'], 'acme sees the shared worker, not globex’s');
  } finally {
    await controller.dispose();
  }
});
