/**
 * File secrets (`secrets set NAME --file path`): the file's bytes are stored sealed like every
 * secret (no plaintext in the data dir), never read back by users, and reach the worker leasing a
 * build in `files` (base64) rather than as a variable's value; string secrets are unchanged. A file
 * value that is not base64 is refused with a 4xx and stores nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';
import { filesContaining } from './helpers/data-dir.js';

test('a file secret is sealed at rest and reaches the leasing worker as a file, not a variable', async () => {
  const controller = await startControllerProcess();
  try {
    const content = Buffer.from(`{"project_info":{"project_id":"GOOGLE-SERVICES-${randomBytes(12).toString('hex')}"}}\n`);
    const tenant = await createTenant(controller, 'acme');
    await tenant.member.createProject('app');
    const info = await tenant.member.setSecret('app', 'GOOGLE_SERVICES_JSON', content.toString('base64'), 'file');
    assert.equal(info.name, 'GOOGLE_SERVICES_JSON');
    await tenant.member.setSecret('app', 'API_KEY', 'plain-value');
    await rejectsWith(tenant.member.setSecret('app', 'BROKEN', 'not base64!', 'file'), 'VALIDATION_FAILED', 'a file value must be base64');
    assert.deepEqual((await tenant.reader.listSecrets('app')).secrets.map((s) => s.name), ['API_KEY', 'GOOGLE_SERVICES_JSON']);
    assert.ok(!JSON.stringify(await tenant.reader.listSecrets('app')).includes(content.toString('base64')));

    assert.deepEqual(await filesContaining(controller.dataDir, [content, Buffer.from(content.toString('base64'))]), [], 'plaintext found at rest');

    const worker = await enrollWorker(tenant.admin);
    await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('file-secret')));
    const job = await worker.client.claim(2000);
    assert.ok(job);
    // The job names who submitted it (the build sees it as EAS_BUILD_USERNAME).
    assert.equal(job.build.submittedBy, 'acme-member');
    const read = await worker.client.attemptSecrets(job.attempt.id);
    assert.deepEqual(read.secrets, { API_KEY: 'plain-value' });
    assert.deepEqual(read.files, { GOOGLE_SERVICES_JSON: content.toString('base64') });
  } finally {
    await controller.dispose();
  }
});
