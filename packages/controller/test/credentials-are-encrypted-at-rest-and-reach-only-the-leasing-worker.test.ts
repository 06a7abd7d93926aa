import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CredentialsBundle } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, keepLeased, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';
import { filesContaining } from './helpers/data-dir.js';

test('credentials and secrets are encrypted at rest and reach only the worker leasing the build', async () => {
  const controller = await startControllerProcess();
  try {
    const marker = (what: string) => `${what}-${randomBytes(12).toString('hex')}`;
    const keystoreBytes = Buffer.from(marker('KEYSTORE-BYTES'));
    const submitted: CredentialsBundle = {
      android: { keystore: { keystoreBase64: keystoreBytes.toString('base64'), keystorePassword: marker('store-password'), keyAlias: 'upload', keyPassword: marker('key-password') } },
    };
    const p12 = Buffer.from(marker('P12-BYTES'));
    const profile = Buffer.from(marker('PROFILE-BYTES'));
    const stored: CredentialsBundle = {
      ios: { targets: { app: { p12Base64: p12.toString('base64'), p12Password: marker('p12-password'), provisioningProfileBase64: profile.toString('base64') } } },
    };
    const secretValue = marker('SENTRY_TOKEN');
    const plaintexts = [
      keystoreBytes,
      Buffer.from(submitted.android!.keystore.keystoreBase64),
      Buffer.from(submitted.android!.keystore.keystorePassword),
      Buffer.from(submitted.android!.keystore.keyPassword!),
      p12,
      profile,
      Buffer.from(stored.ios!.targets.app!.p12Base64),
      Buffer.from(stored.ios!.targets.app!.p12Password),
      Buffer.from(secretValue),
    ];

    const tenant = await createTenant(controller, 'acme');
    await tenant.member.createProject('app');
    const summary = await tenant.member.putCredentials('app', stored);
    assert.deepEqual(summary.ios, { targets: ['app'] });
    assert.equal(summary.android, null);
    await tenant.member.setSecret('app', 'SENTRY_AUTH_TOKEN', secretValue);
    // Reading back gives names and summaries, never values.
    const readBack = JSON.stringify([await tenant.reader.getCredentials('app'), await tenant.reader.listSecrets('app')]);
    for (const p of plaintexts) assert.ok(!readBack.includes(p.toString()), 'no value is returned to users');
    await rejectsWith(tenant.reader.setSecret('app', 'X', 'y'), 'FORBIDDEN', 'read-only tokens cannot write secrets');

    const android = await tenant.member.createBuild(buildSpec({ platform: 'android' }), streamOf(await tinyTarGz('a')), { credentials: submitted });
    const ios = await tenant.member.createBuild(buildSpec({ platform: 'ios' }), streamOf(await tinyTarGz('i')));
    assert.equal(android.hasCredentials, true);
    assert.equal(ios.hasCredentials, true, 'the project’s stored ios credentials were attached');

    // Nothing in the data dir (database, WAL, blobs) holds a plaintext.
    const hits = await filesContaining(controller.dataDir, plaintexts);
    assert.deepEqual(hits, [], 'plaintext found at rest');
    assert.equal((await stat(join(controller.dataDir, 'encryption.key'))).mode & 0o777, 0o600, 'the key file is private');
    // Nor the controller's own output.
    for (const p of plaintexts) assert.ok(!controller.output().includes(p.toString()), 'plaintext in the controller log');

    const androidWorker = await enrollWorker(tenant.admin, { platforms: ['android'] });
    const iosWorker = await enrollWorker(tenant.admin, { platforms: ['ios'] });
    const bystander = await enrollWorker(tenant.admin, { platforms: ['web'] });
    const androidJob = await androidWorker.client.claim(2000);
    const iosJob = await iosWorker.client.claim(2000);
    assert.equal(androidJob?.build.id, android.id);
    assert.equal(iosJob?.build.id, ios.id);
    const stopA = keepLeased(androidWorker, androidJob.attempt.id);
    const stopI = keepLeased(iosWorker, iosJob.attempt.id);

    const androidSecrets = await androidWorker.client.attemptSecrets(androidJob.attempt.id);
    assert.deepEqual(androidSecrets.credentials, submitted, 'the leasing worker gets the bundle sent with the build');
    assert.deepEqual(androidSecrets.secrets, { SENTRY_AUTH_TOKEN: secretValue });
    const iosSecrets = await iosWorker.client.attemptSecrets(iosJob.attempt.id);
    assert.deepEqual(iosSecrets.credentials, stored, 'the project’s stored credentials for the platform');

    await rejectsWith(bystander.client.attemptSecrets(androidJob.attempt.id), 'NOT_FOUND', 'a worker without the lease');
    await rejectsWith(iosWorker.client.attemptSecrets(androidJob.attempt.id), 'NOT_FOUND', 'a worker with another lease');

    await androidWorker.client.finish(androidJob.attempt.id, { outcome: 'succeeded' });
    stopA();
    await rejectsWith(androidWorker.client.attemptSecrets(androidJob.attempt.id), 'LEASE_LOST', 'after the lease ended');
    stopI();

    // Still nothing at rest after the reads, and nothing in the log.
    assert.deepEqual(await filesContaining(controller.dataDir, plaintexts), []);
    for (const p of plaintexts) assert.ok(!controller.output().includes(p.toString()), 'plaintext in the controller log');
  } finally {
    await controller.dispose();
  }
});
