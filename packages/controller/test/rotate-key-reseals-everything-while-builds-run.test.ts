import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WEBHOOK_SIGNATURE_HEADER, type AttemptSecrets, type RotatedKey } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, eventually, keepLeased, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';
import { Keyring, parseKeyFile } from '../src/crypto/keyring.js';
import { verifyWebhookSignature } from '../src/webhooks/signature.js';

const marker = (what: string) => `plain-${what}-${Math.random().toString(36).slice(2)}`;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

test('rotate-key while builds run: every secret still delivers, nothing plain on disk, the old key opens nothing', { timeout: 120_000 }, async () => {
  const controller = await startControllerProcess({ env: { BUILDMESH_WEBHOOK_ALLOW_PRIVATE: '1' } });
  const receiver = await startWebhookReceiver();
  try {
    const tenant = await createTenant(controller, 'acme');
    const keystorePassword = marker('store-password');
    const npmToken = marker('npm-token');
    await tenant.member.createProject('app');
    await tenant.member.putCredentials('app', {
      android: { keystore: { keystoreBase64: Buffer.from('keystore-bytes').toString('base64'), keystorePassword, keyAlias: 'upload', keyPassword: keystorePassword } },
    });
    await tenant.member.setSecret('app', 'NPM_TOKEN', npmToken);
    const { secret: webhookSecret } = await tenant.admin.createWebhook({ url: receiver.url, events: ['build.succeeded'] });
    const worker = await enrollWorker(tenant.admin, { platforms: ['android'] });

    const running = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('a')));
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, running.id);
    const stop = keepLeased(worker, job!.attempt.id);
    const oldKey = parseKeyFile(await readFile(join(controller.dataDir, 'encryption.key'), 'utf8'), 'encryption.key');

    const rotated = await controller.admin.json<RotatedKey>('POST', '/v1/instance-admin/rotate-key', { json: {} });
    assert.equal(rotated.version, 2);
    assert.deepEqual(
      [rotated.resealed.project_credentials, rotated.resealed.secrets, rotated.resealed.builds, rotated.resealed.webhooks, rotated.resealed.instance_meta],
      [1, 1, 1, 1, 1],
    );

    // The running build's attempt still gets its credentials and secrets.
    const secrets = await worker.client.json<AttemptSecrets>('GET', `/v1/attempts/${job!.attempt.id}/secrets`);
    assert.equal(secrets.credentials?.android?.keystore.keystorePassword, keystorePassword);
    assert.equal(JSON.stringify(secrets.secrets).includes(npmToken), true);
    await worker.client.finish(job!.attempt.id, { outcome: 'succeeded' });
    stop();
    // The webhook's secret still signs (re-sealed, same secret).
    await eventually(async () => receiver.received.length >= 1, 10_000, 'the webhook after rotation');
    const r = receiver.received[0]!;
    assert.ok(verifyWebhookSignature(webhookSecret, String(r.headers[WEBHOOK_SIGNATURE_HEADER]), r.body));

    // A build submitted after the rotation too.
    const after = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('b')));
    const job2 = await worker.client.claim(2000);
    assert.equal(job2?.build.id, after.id);
    const secrets2 = await worker.client.json<AttemptSecrets>('GET', `/v1/attempts/${job2!.attempt.id}/secrets`);
    assert.equal(secrets2.credentials?.android?.keystore.keystorePassword, keystorePassword);
    await worker.client.finish(job2!.attempt.id, { outcome: 'succeeded' });

    // A second rotation works the same (v3), and the controller restarts on the rotated key.
    assert.equal((await controller.admin.json<RotatedKey>('POST', '/v1/instance-admin/rotate-key', { json: {} })).version, 3);
    await controller.kill('SIGKILL');
    await controller.restart();
    const keyText = await readFile(join(controller.dataDir, 'encryption.key'), 'utf8');
    assert.equal(keyText.trim().split('\n').length, 1, 'the key file holds only the current key');
    const current = parseKeyFile(keyText, 'encryption.key');
    assert.equal(current.currentVersion, 3);

    // Every sealed value in the database opens with the current key and none with the first one.
    const db = new Database(join(controller.dataDir, 'controller.db'), { readonly: true });
    const sealed: Buffer[] = [];
    try {
      for (const [table, column] of [
        ['project_credentials', 'sealed'],
        ['secrets', 'sealed'],
        ['builds', 'credentials_sealed'],
        ['webhooks', 'secret_sealed'],
        ['instance_meta', 'value'],
      ] as const) {
        for (const row of db.prepare(`select ${column} as v from ${table} where ${column} is not null`).all() as Array<{ v: Buffer }>) sealed.push(row.v);
      }
    } finally {
      db.close();
    }
    assert.ok(sealed.length >= 6);
    for (const v of sealed) {
      assert.doesNotThrow(() => current.open(v));
      assert.throws(() => oldKey.open(v));
      assert.throws(() => new Keyring(oldKey.entries()[0]!.key, 3).open(v), 'the old key bytes open nothing even under the new version byte');
    }
    // Nothing plain on disk: the database (and its WAL), blobs, the key file.
    for (const file of await filesUnder(controller.dataDir)) {
      const bytes = await readFile(file);
      for (const plain of [keystorePassword, npmToken, webhookSecret]) assert.equal(bytes.includes(plain), false, `${file} holds ${plain.slice(0, 12)}…`);
    }
    // And it still serves: a secret read after the restart.
    const third = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('c')));
    const job3 = await worker.client.claim(2000);
    assert.equal(job3?.build.id, third.id);
    const secrets3 = await worker.client.json<AttemptSecrets>('GET', `/v1/attempts/${job3!.attempt.id}/secrets`);
    assert.equal(JSON.stringify(secrets3.secrets).includes(npmToken), true);
  } finally {
    await receiver.stop();
    await controller.dispose();
  }
});
